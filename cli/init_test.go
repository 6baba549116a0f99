package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/datadir"
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
	e := testEnv(dir, environ, io.Discard, os.Stderr)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := datadir.Open(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	_, err = storage.NewCases(in.DB, in.Keys).Create(context.Background(), storage.NewCase{
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

func TestInitMasterKey(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := runCLI(t, dir, nil, "init", "--master-key")
		if code != exitOK {
			t.Fatalf("exit got=%d, want 0: %s", code, errOut)
		}
		for _, want := range []string{"created the master key master.key (mode 0600)", "encrypted with the master key",
			"Keep a copy of the master key master.key away from this machine", "Never beside data"} {
			if !strings.Contains(out, want) {
				t.Errorf("output got=%q, want it to contain %q", out, want)
			}
		}
		st, err := os.Stat(filepath.Join(dir, "master.key"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("master.key: %v, %v; want mode 0600", st, err)
		}
		cfg, _ := os.ReadFile(filepath.Join(dir, "config.toml"))
		if !strings.Contains(string(cfg), "\nmaster_key_file = \"master.key\"\n") {
			t.Errorf("config.toml does not name master.key:\n%s", cfg)
		}
		code, out, errOut = runCLI(t, dir, nil, "keys", "status")
		if code != exitOK || !strings.Contains(out, "a master key encrypts the keysets") {
			t.Errorf("keys status: exit %d, %q %q", code, out, errOut)
		}
		// The keysets really need it: without the key they do not load.
		os.Rename(filepath.Join(dir, "master.key"), filepath.Join(dir, "elsewhere.key"))
		if code, _, _ := runCLI(t, dir, nil, "keys", "status"); code != exitFailure {
			t.Errorf("keys status without the master key: exit %d, want 1", code)
		}
	})
	t.Run("ErrAlreadyConfigured", func(t *testing.T) {
		dir := t.TempDir()
		if code, _, errOut := runCLI(t, dir, nil, "init", "--master-key"); code != exitOK {
			t.Fatal(errOut)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "master.key"))
		code, _, errOut := runCLI(t, dir, nil, "init", "--master-key")
		if code != exitFailure || !strings.Contains(errOut, "already configured") {
			t.Errorf("exit %d, stderr %q; want a refusal naming the configured key", code, errOut)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "master.key")); string(after) != string(before) {
			t.Error("the master key file changed")
		}
	})
	t.Run("ErrKeysExist", func(t *testing.T) {
		dir := initDir(t)
		code, _, errOut := runCLI(t, dir, nil, "init", "--master-key")
		if code != exitFailure || !strings.Contains(errOut, "change-master-key") {
			t.Errorf("exit %d, stderr %q; want a refusal pointing at change-master-key", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "master.key")); err == nil {
			t.Error("a master key file was written for keys that stay in clear")
		}
	})
}
