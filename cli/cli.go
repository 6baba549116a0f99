// Package cli is the command line of bot: it parses the arguments, runs
// one subcommand and turns its result into an exit status. Each subcommand
// lives in a file of its own with its flag set and usage text, writes only
// to the writers in its Env, and returns an error; only Main turns errors
// into exit codes.
//
// The work is done elsewhere: config, datadir, keys, storage, backups,
// health, demo and bot. This package wires them together and words what
// they report for people.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/modbot/bot/internal/suggest"
	"github.com/modbot/bot/keys"
)

// Exit codes, as documented in --help.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// BuildInfo identifies the binary; main stamps it at build time.
type BuildInfo struct {
	// Version is the release, or "dev" for a build without a stamp.
	Version string
	// Commit is the short hash of the commit it was built from.
	Commit string
	// Date is when it was built, in RFC 3339.
	Date string
}

// Env is what a command may touch of the outside world. main passes the
// process's own; tests pass buffers and a chosen environment, so commands
// run in-process.
type Env struct {
	// Stdin is read for passphrases, on a terminal only.
	Stdin io.Reader
	// Stdout receives a command's results, Stderr its logs, warnings and
	// errors.
	Stdout io.Writer
	Stderr io.Writer
	// Environ is the environment, as os.Environ returns it.
	Environ []string
	// WorkDir resolves relative paths; "" means the process's working
	// directory.
	WorkDir string
	// Terminal reports whether stderr is a terminal, where logs are
	// coloured and progress is drawn.
	Terminal bool
	// Now names and records backups and restores; nil means time.Now.
	Now func() time.Time
	// BundleKDF is the passphrase's key-derivation cost for
	// 'bot backup --with-keys'; the zero value is keys.DefaultBundleKDF.
	BundleKDF keys.KDFParams
}

// Main runs the command line args (without the program name) and returns
// the process exit status: 0 success, 1 failure, 2 bad usage.
func Main(ctx context.Context, args []string, e Env, build BuildInfo) int {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	f, isFile := e.Stdin.(*os.File)
	return run(ctx, args, &env{
		stdin: e.Stdin, stdout: e.Stdout, stderr: e.Stderr, environ: e.Environ,
		workDir: e.WorkDir, terminal: e.Terminal, now: now, build: build, bundleKDF: e.BundleKDF,
		stdinTerminal: isFile && term.IsTerminal(int(f.Fd())),
	})
}

// command is one subcommand of bot.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// readsConfig is set for commands that take -c/--config.
	readsConfig bool
	// subcommands is set for commands whose first argument names a
	// subcommand, which comes before any flag.
	subcommands bool
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errSilent means the command already told the user what went wrong.
var errSilent = errors.New("failure already reported")

func commands() []command {
	return []command{
		{"alerts", "send a test alert to alerts.webhook_url", cmdAlerts, true, true},
		{"audit", "verify that the audit log was not edited", cmdAudit, true, true},
		{"backup", "write a verified copy of the database, while the bot runs", cmdBackup, true, false},
		{"completion", "print a completion script for bash, zsh or fish", cmdCompletion, false, false},
		{"debug", "write an archive for a bug report, with no secrets or personal data", cmdDebug, true, true},
		{"demo", "play a moderation session against a local Discord (no token needed)", cmdDemo, false, false},
		{"dev", "create, seed and empty a development installation (make dev)", cmdDev, true, true},
		{"health", "check the installation and the running bot", cmdHealth, true, false},
		{"init", "create config.toml, the data directory, database and keys", cmdInit, true, false},
		{"invite", "print the link that adds the bot to a server", cmdInvite, true, false},
		{"keys", "show, rotate and re-encrypt the encryption keys", cmdKeys, true, true},
		{"man", "print the manual page (roff)", cmdMan, false, false},
		{"migrate", "show or apply the database migrations", cmdMigrate, true, true},
		{"privacy", "export or erase a member's records from the shell (bot stopped)", cmdPrivacy, true, true},
		{"restore", "verify a backup and put it in place of the database", cmdRestore, true, false},
		{"run", "connect to Discord and serve the slash commands", cmdRun, true, false},
		{"version", "print the version, commit, build date and Go version", cmdVersion, false, false},
	}
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	global, args := globalFlags(args)
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
		rest := args[1:]
		if c.subcommands {
			// `bot keys -c x.toml status` too.
			var g []string
			g, rest = globalFlags(rest)
			global = append(global, g...)
		}
		err := c.run(ctx, e, c.withGlobal(rest, global))
		return exitCode(e, c.name, err)
	}
	fmt.Fprintf(e.stderr, "bot: unknown command %q\n", name)
	if s := suggest.Nearest(name, commandNames(), len(name)/2+1); s != "" {
		fmt.Fprintf(e.stderr, "Did you mean %q?\n", s)
	}
	fmt.Fprintln(e.stderr, "Run 'bot --help' for the list of commands.")
	return exitUsage
}

// globalFlags splits off a -c/--config given before the subcommand:
// `bot -c x.toml run` and `bot run -c x.toml` mean the same.
func globalFlags(args []string) (global, rest []string) {
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
	return global, args
}

// withGlobal puts the global flags where the command's flag set parses
// them: first, or after the subcommand's name for a command that has
// subcommands.
func (c command) withGlobal(args, global []string) []string {
	if len(global) == 0 {
		return args
	}
	at := 0
	if c.subcommands && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		at = 1
	}
	out := append([]string{}, args[:at]...)
	out = append(out, global...)
	return append(out, args[at:]...)
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

// usageIntro and usageNotes open and close 'bot --help'; the manual page
// says the same.
const (
	usageIntro = "bot: a self-hosted Discord moderation bot."
	usageNotes = `
These commands take -c/--config FILE (default: config.toml in the working
directory): alerts, audit, backup, debug, dev, health, init, invite, keys,
migrate, privacy, restore and run. completion, demo, man and version read
no configuration file. Every command takes --help. Exit status: 0 success,
1 failure, 2 bad usage.
`
)

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  bot COMMAND [flags]\n\nCommands:\n", usageIntro)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, usageNotes)
}

// newFlagSet returns a quiet flag set for a subcommand.
// Errors are returned, not printed by the flag package, so run decides the exit code.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("bot "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// configFlag registers -c and --config on fs; both set the same value.
func configFlag(fs *flag.FlagSet) *string {
	p := new(string)
	fs.StringVar(p, "c", "", "config file (default config.toml in the working directory)")
	fs.StringVar(p, "config", "", "config file (default config.toml in the working directory)")
	return p
}

// noConfigFlag registers -c and --config on fs for a command that reads no
// configuration, so that giving one is refused with the reason rather than
// the flag package's "flag provided but not defined". Call the returned
// check after parsing. The flags are left out of --help.
func noConfigFlag(fs *flag.FlagSet, why string) (check func() error) {
	given := false
	set := func(string) error { given = true; return nil }
	fs.Func("c", "", set)
	fs.Func("config", "", set)
	return func() error {
		if given {
			return usagef("this command reads no configuration file, so -c/--config does not apply (%s)", why)
		}
		return nil
	}
}

// parseFlags parses args, prints help on --help and turns flag errors into
// usage errors. Flags may come before or after the arguments, as in
// `bot restore FILE --dry-run`; everything after "--" is an argument.
func parseFlags(e *env, fs *flag.FlagSet, usage string, args []string) error {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if e.helpProbe != nil {
				e.helpProbe(fs, usage)
			}
			fmt.Fprint(e.stdout, strings.TrimLeft(usage, "\n"))
			printFlags(e.stdout, fs)
			return flag.ErrHelp
		}
		return usagef("%v", err)
	}
	return nil
}

// flagsFirst reorders args so that the flags of fs come before the other
// arguments, which the flag package wants, keeping the order within each.
// A flag that takes a value keeps the argument after it unless given as
// -name=value; an unknown flag stays a flag, for Parse to refuse, and so
// does a value flag given last without its value.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, plain []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			plain = append(plain, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			plain = append(plain, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			// Its value is missing: alone, the flag gets Parse's "flag
			// needs an argument" rather than taking the "--" below.
			return []string{a}
		}
		i++
		flags = append(flags, args[i])
	}
	if len(plain) == 0 {
		return flags
	}
	return append(append(flags, "--"), plain...)
}

// printFlags lists the flags of fs, except those without a usage text.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var any bool
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" {
			return
		}
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
