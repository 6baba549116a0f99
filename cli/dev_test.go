package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

// devInitDir runs 'bot dev init' in a new directory.
func devInitDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, dir, nil, "dev", "init"); code != exitOK {
		t.Fatalf("bot dev init: exit %d\n%s%s", code, out, errOut)
	}
	return dir
}

// devGuild is the guild the tests seed.
const devGuild = "1234567890123456789"

// verifyDev opens dir's data as the bot does, checks every record against
// its seal and the audit chain, and reports whether case number exists in
// devGuild.
func verifyDev(t *testing.T, dir string, number int64) bool {
	t.Helper()
	cfg, err := testEnv(dir, nil, io.Discard, io.Discard).loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := datadir.Open(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rep, err := storage.VerifyDatabase(context.Background(), in.DB, in.Keys)
	if err != nil || rep.Unsealed {
		t.Fatalf("verify: %v (unsealed %v)", err, rep.Unsealed)
	}
	_, err = storage.NewCases(in.DB, in.Keys).Get(context.Background(), devGuild, number)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestDevSeedAndReset(t *testing.T) {
	dir := devInitDir(t)
	keyset := filepath.Join(dir, "data", "keys")
	before := dirBytes(t, keyset)

	code, out, errOut := runCLI(t, dir, nil, "dev", "seed", "--cases", "1500", "--guild", devGuild)
	if code != exitOK || !strings.Contains(out, "Added 1500 synthetic cases") {
		t.Fatalf("bot dev seed: exit %d\n%s%s", code, out, errOut)
	}
	if !verifyDev(t, dir, 1500) || verifyDev(t, dir, 1501) {
		t.Error("after seeding 1500 cases, want case #1500 and no #1501")
	}
	db, err := os.ReadFile(filepath.Join(dir, "data", "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range append(devReasons, "member07", "moderator3") {
		if bytes.Contains(db, []byte(plain)) {
			t.Errorf("the database holds %q in clear", plain)
		}
	}

	if code, out, errOut := runCLI(t, dir, nil, "dev", "reset"); code != exitOK {
		t.Fatalf("bot dev reset: exit %d\n%s%s", code, out, errOut)
	}
	if verifyDev(t, dir, 1) {
		t.Error("case #1 is still there after reset")
	}
	if !bytes.Equal(before, dirBytes(t, keyset)) {
		t.Error("reset changed the keys")
	}
	// The reset database is still development data.
	if code, _, errOut := runCLI(t, dir, nil, "dev", "seed", "--cases", "3"); code != exitOK {
		t.Errorf("seed after reset: exit %d: %s", code, errOut)
	}
}

// TestDevRefuses: the dev commands leave alone a real installation, and
// a development directory whose database was replaced by another one.
func TestDevRefuses(t *testing.T) {
	prod := initDir(t)
	addCase(t, prod)
	// A development directory with the real installation's database and
	// keys copied over its own.
	swapped := devInitDir(t)
	for _, f := range []string{"bot.db", "keys"} {
		if err := os.RemoveAll(filepath.Join(swapped, "data", f)); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(prod, "data", "bot.db"), filepath.Join(swapped, "data", "bot.db"))
	if err := os.CopyFS(filepath.Join(swapped, "data", "keys"), os.DirFS(filepath.Join(prod, "data", "keys"))); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, dir string
		args      []string
		want      string
	}{
		{"SeedProduction", prod, []string{"dev", "seed", "--cases", "5"}, "it was not created for development"},
		{"ResetProduction", prod, []string{"dev", "reset"}, "it was not created for development"},
		{"InitOverProduction", prod, []string{"dev", "init"}, "it was not created for development"},
		{"ResetSwapped", swapped, []string{"dev", "reset"}, "not the one created for development"},
		{"SeedSwapped", swapped, []string{"dev", "seed", "--cases", "5"}, "not the one created for development"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := dirBytes(t, filepath.Join(tt.dir, "data"))
			code, _, errOut := runCLI(t, tt.dir, nil, tt.args...)
			if code != exitFailure || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "refusing to touch") {
				t.Errorf("exit %d, stderr %q; want refused with %q", code, errOut, tt.want)
			}
			if !bytes.Equal(before, dirBytes(t, filepath.Join(tt.dir, "data"))) {
				t.Error("the data directory changed")
			}
		})
	}
}

// dirBytes is every file under dir, names and contents, in order.
func dirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all bytes.Buffer
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.WriteString(path + "\n")
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all.Bytes()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
