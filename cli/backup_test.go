package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

// Bundles sealed by these tests use cheap argon2id parameters; every bundle
// records its own, so the production ones are not needed to open them.

const testPass = "correct horse battery staple"

var withPass = []string{passphraseEnv + "=" + testPass}

// installed opens the installation in dir as the commands do.
func installed(t *testing.T, dir string) *datadir.Installation {
	t.Helper()
	e := testEnv(dir, nil, io.Discard, io.Discard)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := datadir.Open(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// casesIn returns the cases of the user addCase warns, read back through
// the storage repositories with the installation's keys.
func casesIn(t *testing.T, dir string) []storage.Case {
	t.Helper()
	in := installed(t, dir)
	defer in.Close()
	cs, err := storage.NewCases(in.DB, in.Keys).AllForUser(context.Background(), "400000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// backupOf runs `bot backup FILE` in dir and returns the file.
func backupOf(t *testing.T, dir string, environ []string, args ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := runCLI(t, dir, environ, append(append([]string{"backup"}, args...), file)...)
	if code != exitOK {
		t.Fatalf("bot backup: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return file
}

func TestBackupCommand(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)

	t.Run("Default", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "backup")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"to data/backups/bot-", "Verified: SQLite's quick check", "keys are NOT in this backup", "data/keys"} {
			if !strings.Contains(out, want) {
				t.Errorf("output got=%q, want it to contain %q", out, want)
			}
		}
		in := installed(t, dir)
		at, path, err := backups.Last(in.Config)
		in.Close()
		if err != nil || time.Since(at) > time.Minute || !strings.HasPrefix(path, filepath.Join(dir, "data", "backups", "bot-")) {
			t.Errorf("lastBackup got=%v %q %v, want the backup just made", at, path, err)
		}
	})
	t.Run("VerifyFull", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "backup", "--verify", "full", "--json", "full.db")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var r backupReport
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Verify != "full" {
			t.Errorf("report %q (%v), want verify \"full\"", out, err)
		}
		code, out, _ = runCLI(t, dir, nil, "backup", "--verify=full", "full2.db")
		if code != exitOK || !strings.Contains(out, "SQLite's full integrity check") {
			t.Errorf("exit %d, output %q; want the full check named", code, out)
		}
	})
	t.Run("VerifyBadLevel", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "backup", "--verify", "thorough", "bad.db")
		if code != exitUsage || !strings.Contains(errOut, "use quick or full") {
			t.Errorf("exit %d, stderr %q; want a usage error", code, errOut)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "backup", "--json", "out.db")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var r backupReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		sum, _ := backups.SHA256(filepath.Join(dir, "out.db"))
		if r.Path != filepath.Join(dir, "out.db") || r.SHA256 != sum || r.Size == 0 ||
			r.SchemaVersion != storage.LatestVersion() || len(r.AEADKeyIDs) != 1 || len(r.PRFKeyIDs) != 1 {
			t.Errorf("report got=%+v", r)
		}
	})
	t.Run("ExistingFileRefused", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "backup", "out.db")
		if code != exitFailure || !strings.Contains(errOut, "already exists") {
			t.Errorf("got exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("WhileTheBotHoldsTheLock", func(t *testing.T) {
		lock, err := storage.Lock(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		backupOf(t, dir, nil)
	})
	t.Run("WithKeys", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			environ []string
			code    int
			want    string
		}{
			{"OK", withPass, exitOK, "sealed under your passphrase"},
			{"NoPassphrase", nil, exitFailure, passphraseEnv},
			{"Empty", []string{passphraseEnv + "="}, exitFailure, "empty"},
			{"Short", []string{passphraseEnv + "=eleven char"}, exitFailure, "at least 12"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code, out, errOut := runCLI(t, dir, tt.environ, "backup", "--with-keys", filepath.Join(t.TempDir(), "k.db"))
				if code != tt.code || !strings.Contains(out+errOut, tt.want) {
					t.Errorf("got exit %d, output %q %q; want %d and %q", code, out, errOut, tt.code, tt.want)
				}
			})
		}
	})
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	e := &env{stderr: &buf, terminal: true}
	small := &progressBar{e: e}
	small.update(1<<20, 2<<20)
	small.finish()
	if buf.Len() != 0 {
		t.Errorf("a small database drew a bar: %q", buf.String())
	}
	big := &progressBar{e: e}
	big.update(32<<20, 64<<20)
	big.update(64<<20, 64<<20)
	big.finish()
	if got := buf.String(); !strings.Contains(got, " 50% 32.0 MiB of 64.0 MiB") || !strings.HasSuffix(got, "100% 64.0 MiB of 64.0 MiB \n") {
		t.Errorf("bar got=%q", got)
	}
	off := &progressBar{e: &env{stderr: &buf}}
	buf.Reset()
	off.update(32<<20, 64<<20)
	if buf.Len() != 0 {
		t.Errorf("drew a bar off a terminal: %q", buf.String())
	}
}
