package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReload: a reload applies the new log level to loggers made before
// it, names the settings that need a restart, and an invalid file keeps
// the running configuration and says which key and line are wrong.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("[log]\nlevel = \"info\"\nformat = \"text\"\n")
	var out lockedBuffer
	e := testEnv(dir, []string{"BOT_DISCORD_TOKEN=MTIz.abc.defghijklmnop"}, &out, &out)
	src := reloadSource{path: file}
	cfg, err := e.loadConfig(src.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := e.logger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, lr := e.liveLog(cfg, base)
	stop := lr.start(context.Background(), nil, func() bool { return true }, nil)
	defer stop()
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
	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const start = "[log]\nformat = \"text\"\n[storage]\ndata_dir = \"data\"\n"
	write(start)
	var out lockedBuffer
	e := testEnv(dir, []string{"BOT_DISCORD_TOKEN=MTIz.abc.defghijklmnop"}, &out, &out)
	src := reloadSource{path: file}
	cfg, err := e.loadConfig(src.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := e.logger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, lr := e.liveLog(cfg, base)
	stop := lr.start(context.Background(), nil, func() bool { return true }, nil)
	defer stop()
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
