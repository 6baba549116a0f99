// Command bot is a self-hosted Discord moderation bot in one binary: it keeps
// its records in an embedded, encrypted SQLite database and has its set-up,
// health checks, backups and restore built in.
//
// main wires packages together; the work is done in config, keys, storage and
// bot. Each subcommand lives in a cmd_*.go file with its own flag set and usage
// text, writes only to the writers it is given, and returns an error; only
// run turns errors into exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/modbot/bot/config"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Exit codes, as documented in --help.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		environ: os.Environ(),
		// Only stderr matters: it is where logs go, in colour on a terminal.
		terminal: config.IsTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

// env is what a command may touch of the outside world. Tests build one with
// buffers and a chosen environment, so commands run in-process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	// workDir resolves relative paths; "" means the process's working directory.
	workDir string
	// terminal reports whether stdout and stderr are terminals; tests leave it false.
	terminal bool
}

// command is one subcommand of bot.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errSilent means the command already told the user what went wrong.
var errSilent = errors.New("failure already reported")

func commands() []command {
	return []command{
		{"audit", "verify that the audit log was not edited", cmdAudit},
		{"backup", "write a verified copy of the database, while the bot runs", cmdBackup},
		{"demo", "play a moderation session against a local Discord (no token needed)", cmdDemo},
		{"health", "check the installation and the running bot", cmdHealth},
		{"init", "create config.toml, the data directory, database and keys", cmdInit},
		{"invite", "print the link that adds the bot to a server", cmdInvite},
		{"keys", "show, rotate and re-encrypt the encryption keys", cmdKeys},
		{"migrate", "show or apply the database migrations", cmdMigrate},
		{"restore", "verify a backup and put it in place of the database", cmdRestore},
		{"run", "connect to Discord and serve the slash commands", cmdRun},
		{"version", "print the version, commit, build date and Go version", cmdVersion},
	}
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	args = moveGlobalFlags(args)
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			return run(ctx, []string{args[1], "--help"}, e)
		}
		printUsage(e.stdout)
		return exitOK
	case "-v", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, e, args[1:])
		return exitCode(e, c.name, err)
	}
	fmt.Fprintf(e.stderr, "bot: unknown command %q\n", name)
	if s := suggest(name, commandNames()); s != "" {
		fmt.Fprintf(e.stderr, "Did you mean %q?\n", s)
	}
	fmt.Fprintln(e.stderr, "Run 'bot --help' for the list of commands.")
	return exitUsage
}

// moveGlobalFlags moves a -c/--config given before the subcommand behind it,
// where the subcommand's own flag set parses it: `bot -c x.toml run` and
// `bot run -c x.toml` mean the same.
func moveGlobalFlags(args []string) []string {
	var global []string
	for len(args) > 0 {
		a := args[0]
		switch {
		case (a == "-c" || a == "--config" || a == "-config") && len(args) > 1:
			global = append(global, a, args[1])
			args = args[2:]
			continue
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-c="):
			global = append(global, a)
			args = args[1:]
			continue
		}
		break
	}
	if len(global) == 0 || len(args) == 0 {
		return args
	}
	return append(append([]string{args[0]}, global...), args[1:]...)
}

func exitCode(e *env, name string, err error) int {
	var u *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errSilent):
		return exitFailure
	case errors.As(err, &u):
		fmt.Fprintf(e.stderr, "bot %s: %s\nRun 'bot %s --help' for usage.\n", name, u.msg, name)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "bot %s: %v\n", name, err)
		return exitFailure
	}
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return names
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `bot: a self-hosted Discord moderation bot.

Usage:
  bot COMMAND [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes -c/--config FILE (default: config.toml in the working
directory) and --help. Exit status: 0 success, 1 failure, 2 bad usage.
`)
}

// newFlagSet returns a quiet flag set for a subcommand.
// Errors are returned, not printed by the flag package, so run decides the exit code.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("bot "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, prints help on --help and turns flag errors into usage errors.
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, strings.TrimLeft(usage, "\n"))
			printFlags(e.stdout, fs)
			return flag.ErrHelp
		}
		return usagef("%v", err)
	}
	return nil
}

func printFlags(w io.Writer, fs *flag.FlagSet) {
	var any bool
	fs.VisitAll(func(f *flag.Flag) {
		if !any {
			fmt.Fprintln(w, "\nFlags:")
			any = true
		}
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %s%-16s %s%s\n", dash, f.Name, f.Usage, def)
	})
}

// suggest returns the candidate nearest to s, or "" when none is close.
func suggest(s string, candidates []string) string {
	best, bestDist := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
