package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modbot/bot/demo"
)

const demoUsage = `
Usage: bot demo [--verbose]
       bot demo --serve [--env-file FILE]
       bot demo invoke [--env-file FILE] --as WHO /COMMAND [SUB] [NAME:VALUE ...]

Runs the real bot, with its embedded database and encryption, against a
local stand-in for Discord inside this process, and plays a short
moderation session as people would: a moderator, a member, and someone
without rights. It prints what each person did and everything the bot
answered, posted to the modlog and sent by DM. It needs no token and no
network, touches nothing outside a temporary directory, and takes seconds.

With --serve it runs only the local Discord, on 127.0.0.1, with the demo's
server and people, until interrupted: it prints the BOT_DISCORD_* variables
that point 'bot run' at it ('make dev' does so), and, with --env-file,
writes them to FILE as well.

'bot demo invoke' types a slash command in the served Discord as WHO
(owner, admin, moderator, member, or a username) and prints what the bot
did. It finds the served Discord through DISCORDTEST_CONTROL_URL and
BOT_DISCORD_TOKEN, from the environment or from --env-file. Options are
NAME:VALUE, with @name for a member or role and #name for a channel:

  bot demo invoke --as moderator /warn user:@bob reason:"spamming invites"
  bot demo invoke --as moderator /case view number:1
`

func cmdDemo(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "invoke" {
		return cmdDemoInvoke(ctx, e, args[1:])
	}
	flags := newFlagSet("demo")
	noConfig := noConfigFlag(flags, "the demo keeps its own data in a temporary directory and talks to a local Discord")
	verbose := flags.Bool("verbose", false, "also print the bot's log")
	serve := flags.Bool("serve", false, "run only the local Discord, until interrupted, for a bot started apart")
	envFile := flags.String("env-file", "", "with --serve, also write the variables to this file")
	if err := parseFlags(e, flags, demoUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	if *serve {
		if *verbose {
			return usagef("--verbose applies to the scripted session, not to --serve")
		}
		path := *envFile
		if path != "" && !filepath.IsAbs(path) {
			path = filepath.Join(e.dir(), path)
		}
		return demo.Serve(ctx, e.stdout, demo.ServeOptions{EnvFile: path})
	}
	if *envFile != "" {
		return usagef("--env-file applies to --serve only")
	}
	opts := demo.Options{RunBot: e.runBot, Stderr: e.stderr}
	if *verbose {
		opts.Log = e.stderr
	}
	return demo.Run(ctx, e.stdout, opts)
}

func cmdDemoInvoke(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("demo invoke")
	noConfig := noConfigFlag(flags, "it talks to the Discord of 'bot demo --serve'")
	as := flags.String("as", "member", "who types the command: owner, admin, moderator, member or a username")
	envFile := flags.String("env-file", "", "read DISCORDTEST_CONTROL_URL and BOT_DISCORD_TOKEN from this file (as 'bot demo --serve --env-file' wrote it)")
	if err := parseFlags(e, flags, demoUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	req := demo.InvokeRequest{As: *as, Options: map[string]string{}}
	var words []string
	for _, a := range flags.Args() {
		name, value, isOption := strings.Cut(a, ":")
		switch {
		case isOption:
			req.Options[name] = value
		case len(req.Options) > 0:
			return usagef("%q comes after the options; the command and its subcommand come first", a)
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		return usagef("name the command to invoke, such as /warn")
	}
	req.Command = strings.Join(words, " ")

	vars := map[string]string{}
	if *envFile != "" {
		path := *envFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(e.dir(), path)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				vars[k] = v
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	for _, k := range []string{demo.ControlEnv, "BOT_DISCORD_TOKEN"} {
		if v, ok := lookupEnv(e.environ, k); ok && vars[k] == "" {
			vars[k] = v
		}
		if vars[k] == "" {
			return fmt.Errorf("%s is not set: start 'bot demo --serve' and use the variables it prints, or --env-file", k)
		}
	}
	return demo.Invoke(ctx, e.stdout, vars[demo.ControlEnv], vars["BOT_DISCORD_TOKEN"], req)
}
