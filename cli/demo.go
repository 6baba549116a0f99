package cli

import (
	"context"

	"github.com/modbot/bot/demo"
)

const demoUsage = `
Usage: bot demo [--verbose]

Runs the real bot, with its embedded database and encryption, against a
local stand-in for Discord inside this process, and plays a short
moderation session as people would: a moderator, a member, and someone
without rights. It prints what each person did and everything the bot
answered, posted to the modlog and sent by DM. It needs no token and no
network, touches nothing outside a temporary directory, and takes seconds.
`

func cmdDemo(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("demo")
	noConfig := noConfigFlag(flags, "the demo keeps its own data in a temporary directory and talks to a local Discord")
	verbose := flags.Bool("verbose", false, "also print the bot's log")
	if err := parseFlags(e, flags, demoUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	opts := demo.Options{RunBot: e.runBot, Stderr: e.stderr}
	if *verbose {
		opts.Log = e.stderr
	}
	return demo.Run(ctx, e.stdout, opts)
}
