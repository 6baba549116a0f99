package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// initDir runs `bot init` in a new directory and returns it.
func initDir(t *testing.T, environ ...string) string {
	t.Helper()
	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, environ, "init")
	if code != exitOK {
		t.Fatalf("bot init: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return dir
}

// addCase stores one warning through the repositories, so the database
// holds encrypted data.
func addCase(t *testing.T, dir string, environ ...string) {
	t.Helper()
	var e env
	e.workDir, e.environ, e.stderr = dir, environ, os.Stderr
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := openInstallation(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	_, err = storage.NewCases(in.db, in.keys).Create(context.Background(), storage.NewCase{
		GuildID: "200000000000000001", Kind: storage.CaseWarning,
		TargetID: "400000000000000002", TargetName: "someone",
		ModeratorID: "400000000000000001", ModeratorName: "mod",
		Reason: "spam", Points: 1, CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInit(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := runCLI(t, dir, nil, "init")
		if code != exitOK {
			t.Fatalf("exit got=%d, want 0: %s", code, errOut)
		}
		for _, want := range []string{"created config.toml", "created the database data/bot.db", "created the encryption keys in data/keys", "sealed the key sentinel", "bot run"} {
			if !strings.Contains(out, want) {
				t.Errorf("output got=%q, want it to mention %q", out, want)
			}
		}
		for _, f := range []string{"config.toml", "data/keys/aead.json", "data/keys/prf.json"} {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode got=%v, want 0600", f, st.Mode().Perm())
			}
		}
	})
	t.Run("TwiceChangesNothing", func(t *testing.T) {
		dir := initDir(t)
		before := snapshot(t, dir)
		code, out, _ := runCLI(t, dir, nil, "init")
		if code != exitOK || !strings.Contains(out, "Nothing to do") {
			t.Fatalf("second init: exit %d, output %q", code, out)
		}
		if after := snapshot(t, dir); !equalSnapshots(before, after, "data/bot.db", "data/bot.db-wal", "data/bot.db-shm") {
			t.Errorf("second init changed files")
		}
	})
	t.Run("RefusesNewKeysForEncryptedData", func(t *testing.T) {
		dir := initDir(t)
		addCase(t, dir)
		if err := os.RemoveAll(filepath.Join(dir, "data", "keys")); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, dir, nil, "init")
		if code != exitFailure || !strings.Contains(errOut, "holds encrypted records but there are no keys") {
			t.Fatalf("got exit %d, stderr %q; want a refusal naming the missing keys", code, errOut)
		}
		if ok, _ := keys.Exists(filepath.Join(dir, "data", "keys")); ok {
			t.Error("init created new keys for a database that holds records")
		}
	})
}

// TestStartErrors checks the message a user sees for each way the keys and
// the data can fail to belong together.
func TestStartErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) []string // returns the environment to run with
		want  []string
	}{
		{"KeysMissingWithEncryptedData", func(t *testing.T, dir string) []string {
			addCase(t, dir)
			os.RemoveAll(filepath.Join(dir, "data", "keys"))
			return nil
		}, []string{"holds encrypted records but there are no keys in", "restore that directory from your key backup"}},
		{"KeysFromAnotherInstallation", func(t *testing.T, dir string) []string {
			other := initDir(t)
			os.RemoveAll(filepath.Join(dir, "data", "keys"))
			if err := os.Rename(filepath.Join(other, "data", "keys"), filepath.Join(dir, "data", "keys")); err != nil {
				t.Fatal(err)
			}
			return nil
		}, []string{"do not belong to this database", "restore its keys directory too"}},
		{"CorruptKeyset", func(t *testing.T, dir string) []string {
			os.WriteFile(filepath.Join(dir, "data", "keys", "aead.json"), []byte("{not json"), 0o600)
			return nil
		}, []string{"aead.json"}},
		{"KeysetPermissionsTooOpen", func(t *testing.T, dir string) []string {
			os.Chmod(filepath.Join(dir, "data", "keys", "aead.json"), 0o644)
			return nil
		}, []string{"chmod 600"}},
		{"WrongMasterKey", func(t *testing.T, dir string) []string {
			mk, _ := keys.GenerateMasterKey()
			other, _ := keys.GenerateMasterKey()
			fresh := initDir(t, "BOT_KEYS_MASTER_KEY="+mk)
			os.RemoveAll(filepath.Join(dir, "data"))
			os.Rename(filepath.Join(fresh, "data"), filepath.Join(dir, "data"))
			return []string{"BOT_KEYS_MASTER_KEY=" + other}
		}, []string{"master key"}},
		{"ClearKeysetWithMasterKey", func(t *testing.T, dir string) []string {
			mk, _ := keys.GenerateMasterKey()
			return []string{"BOT_KEYS_MASTER_KEY=" + mk}
		}, []string{"in clear"}},
		{"NoDataDirectory", func(t *testing.T, dir string) []string {
			os.RemoveAll(filepath.Join(dir, "data"))
			return nil
		}, []string{"no data directory at", "bot init"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initDir(t)
			environ := tt.setup(t, dir)
			code, _, errOut := runCLI(t, dir, environ, "keys", "status")
			if code != exitFailure {
				t.Fatalf("exit got=%d, want 1 (stderr %q)", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr got=%q, want it to contain %q", errOut, w)
				}
			}
		})
	}
}

func TestUnwritableDataDirectory(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Create(filepath.Join(ro, "probe")); err == nil {
		f.Close()
		t.Skip("running with privileges that ignore directory permissions")
	}
	code, _, errOut := runCLI(t, dir, []string{"BOT_STORAGE_DATA_DIR=" + filepath.Join(ro, "data")}, "init")
	if code != exitFailure || !strings.Contains(errOut, "permission denied") {
		t.Fatalf("got exit %d, stderr %q; want a permission error", code, errOut)
	}
}

func TestKeysRotateAndReencrypt(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	if code, out, errOut := runCLI(t, dir, nil, "keys", "rotate"); code != exitOK || !strings.Contains(out, "as the primary encryption key") {
		t.Fatalf("rotate: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut := runCLI(t, dir, nil, "keys", "reencrypt", "--batch", "1")
	if code != exitOK || !strings.Contains(out, "Re-encrypted") {
		t.Fatalf("reencrypt: exit %d, %q %q", code, out, errOut)
	}
	if strings.Contains(out, "Re-encrypted 0 values") {
		t.Errorf("reencrypt rewrote nothing after a rotation: %q", out)
	}
	// Everything still opens, and a second run finds nothing left.
	code, out, _ = runCLI(t, dir, nil, "keys", "reencrypt")
	if code != exitOK || !strings.Contains(out, "Re-encrypted 0 values") {
		t.Errorf("second reencrypt: exit %d, %q; want 0 values", code, out)
	}
}

func TestMigrateStatus(t *testing.T) {
	dir := initDir(t)
	code, out, errOut := runCLI(t, dir, nil, "migrate", "status")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "00001_initial.sql") || !strings.Contains(out, "applied") || !strings.Contains(out, "up to date") {
		t.Errorf("output got=%q, want each migration listed as applied", out)
	}
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return nil
	})
	return files
}

// equalSnapshots compares two snapshots, ignoring the contents (not the
// presence) of the named files, which SQLite may rewrite on open.
func equalSnapshots(a, b map[string]string, ignore ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		skip := false
		for _, i := range ignore {
			skip = skip || i == k
		}
		if !skip && v != w {
			return false
		}
	}
	return true
}

func TestChangeMasterKey(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	mk, err := keys.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	mkFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(mkFile, []byte(mk+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, dir, nil, "keys", "change-master-key", "--new-file", mkFile); code != exitOK {
		t.Fatalf("change-master-key: exit %d: %s", code, errOut)
	}
	// Without the master key the keys no longer load; with it they do.
	if code, _, errOut := runCLI(t, dir, nil, "keys", "status"); code != exitFailure || !strings.Contains(errOut, "no master key is configured") {
		t.Errorf("without the master key: exit %d, stderr %q", code, errOut)
	}
	withKey := []string{"BOT_KEYS_MASTER_KEY_FILE=" + mkFile}
	if code, out, errOut := runCLI(t, dir, withKey, "keys", "status"); code != exitOK || !strings.Contains(out, "a master key encrypts the keysets") {
		t.Errorf("with the master key: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, dir, withKey, "keys", "change-master-key", "--remove"); code != exitOK {
		t.Fatalf("remove: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, nil, "keys", "status"); code != exitOK {
		t.Errorf("after removing the master key: exit %d: %s", code, errOut)
	}
}
