// Command bot is a self-hosted Discord moderation bot in one binary: it keeps
// its records in an embedded, encrypted SQLite database and has its set-up,
// health checks, backups and restore built in.
//
// main only hands the command line to package cli, with the process's
// standard streams, environment and build stamp.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/modbot/bot/cli"
	"github.com/modbot/bot/config"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Environ: os.Environ(),
		// Only stderr matters: it is where logs go, in colour on a terminal.
		Terminal: config.IsTerminal(os.Stderr),
	}, cli.BuildInfo{Version: version, Commit: commit, Date: date})
	stop()
	os.Exit(code)
}
