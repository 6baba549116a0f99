package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/backups"
)

func TestBackupPrune(t *testing.T) {
	dir := initDir(t)
	bdir := filepath.Join(dir, "data", "backups")
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-40 * 24 * time.Hour).UTC().Format(backups.Stamp)
	recent := time.Now().Add(-20 * 24 * time.Hour).UTC().Format(backups.Stamp)
	files := map[string]bool{ // name: pruned
		"bot-" + old + ".db":                       true,
		"bot-" + old + "-2.db":                     true,
		"bot-" + old + backups.ScheduledSuffix:     true,
		"bot-" + recent + ".db":                    false,
		"bot-" + recent + backups.ScheduledSuffix:  false,
		"mine-" + old + ".db":                      false,
		"bot-" + old + ".db.txt":                   false,
		"bot-" + old + "-scheduled.db.before-copy": false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(bdir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("RefusedWithoutRetention", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "backup", "--prune")
		if code != exitFailure || !strings.Contains(errOut, "retention.cases is not set") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if n, _ := os.ReadDir(bdir); len(n) != len(files) {
			t.Errorf("%d files left, want all %d", len(n), len(files))
		}
	})
	t.Run("Usage", func(t *testing.T) {
		if code, _, errOut := runCLI(t, dir, nil, "backup", "--prune", "x.db"); code != exitUsage {
			t.Errorf("exit %d, stderr %q; want 2", code, errOut)
		}
	})
	t.Run("OK", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, []string{"BOT_RETENTION_CASES=30d"}, "backup", "--prune")
		if code != exitOK || !strings.Contains(out, "Pruned 3 backups") {
			t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		entries, err := os.ReadDir(bdir)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, en := range entries {
			left = append(left, en.Name())
		}
		for name, pruned := range files {
			if slices.Contains(left, name) == pruned {
				t.Errorf("%s: pruned=%v, want %v", name, !slices.Contains(left, name), pruned)
			}
			if pruned && !strings.Contains(out, "removed data/backups/"+name) {
				t.Errorf("stdout %q does not name %s", out, name)
			}
		}
	})
}
