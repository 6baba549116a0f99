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
	if lr.cfg.Log.Level != "debug" || lr.cfg.HTTP.Listen != "127.0.0.1:9999" {
		t.Errorf("running configuration changed by an invalid file: %+v", lr.cfg.Log)
	}
	child.Debug("still debug")
	if !strings.Contains(out.String(), "still debug") {
		t.Errorf("the log level changed after an invalid file")
	}
}
