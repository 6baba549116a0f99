package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modbot/bot/config"
)

// TestReload: a reload applies the new log level to loggers made before
// it, names the settings that need a restart, and an invalid file keeps
// the running configuration and says which key and line are wrong.
func TestReload(t *testing.T) {
	f := newReloadFixture(t, "[log]\nlevel = \"info\"\nformat = \"text\"\n", nil, plainLogger(t))
	out, log, lr, src, write := f.out, f.log, f.lr, f.src, f.write
	child := log.With("component", "test")
	child.Debug("hidden before")

	write("[log]\nlevel = \"debug\"\nformat = \"text\"\n[http]\nlisten = \"127.0.0.1:9999\"\n")
	lr.reload(context.Background(), src)
	child.Debug("shown after")
	got := out.String()
	if strings.Contains(got, "hidden before") || !strings.Contains(got, "shown after") || !strings.Contains(got, "component=test") {
		t.Fatalf("log=%q, want the debug line after the reload only, with its field", got)
	}
	if !strings.Contains(got, "only after a restart") || !strings.Contains(got, "http.listen") {
		t.Errorf("log=%q, want http.listen named as needing a restart", got)
	}

	write("[log]\nlevel = \"loud\"\n")
	lr.reload(context.Background(), src)
	got = out.String()
	if !strings.Contains(got, "was not reloaded") || !strings.Contains(got, "log.level") || !strings.Contains(got, ":2") {
		t.Errorf("log=%q, want the refusal naming log.level and its line", got)
	}
	// A table defined twice: the parser gives no position, the log names
	// the line all the same.
	write("[log]\nlevel = \"info\"\n[log]\n")
	lr.reload(context.Background(), src)
	if got := out.String(); !strings.Contains(got, "config.toml:3: not valid TOML: table log already exists") {
		t.Errorf("log=%q, want the table defined twice named with its line", got)
	}
	if lr.cfg.Log.Level != "debug" || lr.cfg.HTTP.Listen != "127.0.0.1:9999" {
		t.Errorf("running configuration changed by an invalid file: %+v", lr.cfg.Log)
	}
	child.Debug("still debug")
	if !strings.Contains(out.String(), "still debug") {
		t.Errorf("the log level changed after an invalid file")
	}
}

// TestReloadRestartAgainstStart: a restart-only setting is compared with
// the value the process started with, not the last file read: changed and
// then changed back, it is the running one again and needs no restart.
// Without a bot, the bot's settings are restart-only too.
func TestReloadRestartAgainstStart(t *testing.T) {
	const start = "[log]\nformat = \"text\"\n[storage]\ndata_dir = \"data\"\n"
	f := newReloadFixture(t, start, nil, plainLogger(t))
	out, lr, src, write := f.out, f.lr, f.src, f.write
	ctx := context.Background()
	// reload returns what this reload logged as needing a restart, "" for
	// nothing.
	reload := func() string {
		t.Helper()
		before := len(out.String())
		lr.reload(ctx, src)
		for _, line := range strings.Split(out.String()[before:], "\n") {
			if strings.Contains(line, "only after a restart") {
				return line
			}
		}
		return ""
	}

	write("[log]\nformat = \"text\"\n[storage]\ndata_dir = \"data2\"\n[limits]\nqueue = 7\n")
	if line := reload(); !strings.Contains(line, "storage.data_dir") || !strings.Contains(line, "limits") {
		t.Fatalf("log=%q, want storage.data_dir and limits named as needing a restart", out.String())
	}
	// Still different from what runs: still needs the restart.
	if line := reload(); !strings.Contains(line, "storage.data_dir") {
		t.Fatalf("log=%q, want storage.data_dir named again", out.String())
	}
	write(start)
	if line := reload(); line != "" {
		t.Errorf("log=%q, want no restart asked for once the file holds the running values again", out.String())
	}
}

// reloadFixture is a configuration file and the live reloading of bot run
// started from it.
type reloadFixture struct {
	t    *testing.T
	file string
	out  *lockedBuffer
	e    *env
	src  reloadSource
	log  *slog.Logger
	lr   *liveRun
}

// newReloadFixture writes content as the configuration file and starts
// reloading with b (nil: no bot) and the logger that logger makes from
// the loaded configuration.
func newReloadFixture(t *testing.T, content string, b liveBot, logger func(*env, *config.Config) *slog.Logger) *reloadFixture {
	t.Helper()
	dir := t.TempDir()
	f := &reloadFixture{t: t, file: filepath.Join(dir, "config.toml"), out: &lockedBuffer{}}
	f.write(content)
	f.e = testEnv(dir, []string{"BOT_DISCORD_TOKEN=MTIz.abc.defghijklmnop"}, f.out, f.out)
	f.src = reloadSource{path: f.file}
	cfg, err := f.e.loadConfig(f.src.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.log, f.lr = f.e.liveLog(cfg, logger(f.e, cfg))
	stop := f.lr.start(context.Background(), b, func() bool { return true }, nil)
	t.Cleanup(stop)
	return f
}

// plainLogger is env.logger, failing the test on an error.
func plainLogger(t *testing.T) func(*env, *config.Config) *slog.Logger {
	return func(e *env, cfg *config.Config) *slog.Logger {
		t.Helper()
		l, err := e.logger(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}

// write replaces the configuration file's content.
func (f *reloadFixture) write(s string) {
	f.t.Helper()
	if err := os.WriteFile(f.file, []byte(s), 0o600); err != nil {
		f.t.Fatal(err)
	}
}
