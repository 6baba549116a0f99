package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/logring"
	"github.com/modbot/bot/status"
)

// env is Env as the commands use it, with the build it reports.
type env struct {
	// ring keeps the recent log records of 'bot run' (ringLogger), which
	// a reloaded logger must keep feeding.
	ring    *logring.Ring
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
	// workDir resolves relative paths; "" means the process's working directory.
	workDir string
	// terminal reports whether stderr is a terminal; tests leave it false.
	terminal bool
	// stdinTerminal reports whether stdin is a terminal, where a person
	// can answer a confirmation.
	stdinTerminal bool
	now           func() time.Time
	build         BuildInfo
	// bundleKDF is the cost of a --with-keys backup's passphrase; zero
	// means keys' default.
	bundleKDF keys.KDFParams
	// helpProbe, when set, receives the flag set and usage text of a
	// command asked for --help: completion scripts and the manual page
	// read the commands this way rather than from a list of their own.
	helpProbe func(fs *flag.FlagSet, usage string)
}

// loadConfig loads the configuration and prints its warnings to stderr.
func (e *env) loadConfig(path string, flags map[string]string) (*config.Config, error) {
	cfg, warnings, err := config.Load(config.Source{
		Path:         path,
		PathExplicit: path != "",
		Environ:      e.environ,
		Flags:        flags,
		WorkDir:      e.workDir,
	})
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w.Message)
	}
	return cfg, nil
}

// logger builds the logger that config asks for, writing to stderr with
// every secret redacted: the token, the master key whether it comes from
// the environment or from its file, and a backup passphrase given in the
// environment.
func (e *env) logger(cfg *config.Config) (*slog.Logger, error) {
	return config.NewLogger(e.stderr, e.terminal, cfg.Log, e.secrets(cfg)...)
}

// Sizes of the ring of recent log records that 'bot run' keeps for the
// status page and /debug/logs.
const (
	ringRecords = 1000
	ringErrors  = status.MaxErrors
)

// ringLogger is logger for 'bot run', which also keeps its recent records
// in a ring. The secrets are redacted before the ring sees a record, so
// that neither the page nor /debug/logs can show one: the redaction wraps
// the ring, which wraps the logger that writes to stderr.
func (e *env) ringLogger(cfg *config.Config) (*slog.Logger, *logring.Ring, error) {
	out, err := config.NewLogger(e.stderr, e.terminal, cfg.Log)
	if err != nil {
		return nil, nil, err
	}
	ring := logring.New(ringRecords, ringErrors)
	e.ring = ring
	return slog.New(config.NewRedactingHandler(ring.Wrap(out.Handler()), e.secrets(cfg)...)), ring, nil
}

// reloadLogger is the logger a reload of cfg swaps in: like the one it
// replaces, it feeds the ring of recent records, when there is one.
func (e *env) reloadLogger(cfg *config.Config) (*slog.Logger, error) {
	if e.ring == nil {
		return e.logger(cfg)
	}
	out, err := config.NewLogger(e.stderr, e.terminal, cfg.Log)
	if err != nil {
		return nil, err
	}
	return slog.New(config.NewRedactingHandler(e.ring.Wrap(out.Handler()), e.secrets(cfg)...)), nil
}

// secrets lists what no log line may show.
func (e *env) secrets(cfg *config.Config) []string {
	secrets := cfg.Secrets()
	if cfg.Keys.MasterKeyFile != "" {
		if raw, err := os.ReadFile(cfg.Keys.MasterKeyFile); err == nil {
			secrets = append(secrets, strings.TrimSpace(string(raw)))
		}
	}
	if pass, ok := lookupEnv(e.environ, passphraseEnv); ok && pass != "" {
		secrets = append(secrets, pass)
	}
	return secrets
}

// clock returns the time backups and restores are named by.
func (e *env) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// dir is the directory relative paths resolve against.
func (e *env) dir() string {
	if e.workDir != "" {
		return e.workDir
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// rel shows path relative to the working directory when it is inside it,
// and in full from the root directory, where "var/lib/bot" would read as a
// mistake (a service's working directory is often /).
func (e *env) rel(path string) string {
	wd := e.dir()
	if filepath.Dir(wd) == wd {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}

// report prints what a command did, one line each.
func report(e *env, did []string) {
	for _, d := range did {
		fmt.Fprintf(e.stdout, "- %s\n", d)
	}
}

// lookupEnv finds key in an os.Environ-style list.
func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// humanSize formats a byte count for people.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
