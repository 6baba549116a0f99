package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

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
		{"MasterKeyFileTooOpen", func(t *testing.T, dir string) []string {
			mk, _ := keys.GenerateMasterKey()
			file := filepath.Join(dir, "master.key")
			os.WriteFile(file, []byte(mk+"\n"), 0o640)
			return []string{"BOT_KEYS_MASTER_KEY_FILE=" + file}
		}, []string{"master.key", "chmod 600"}},
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

// keyStatus returns `bot keys status --json` of dir.
func keyStatus(t *testing.T, dir string) keys.Status {
	t.Helper()
	code, out, errOut := runCLI(t, dir, nil, "keys", "status", "--json")
	if code != exitOK {
		t.Fatalf("keys status: exit %d: %s", code, errOut)
	}
	var st keys.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// keyState returns the state of key id in ks ("" if absent).
func keyState(ks keys.KeysetStatus, id uint32) string {
	for _, k := range ks.Keys {
		if k.ID == id {
			return k.Status
		}
	}
	return ""
}

// casesOf returns the cases addCase's target has, looked up by blind index.
func casesOf(t *testing.T, dir string) int {
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
	defer in.Close()
	cs, err := storage.NewCases(in.DB, in.Keys).AllForUser(context.Background(), "400000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// runCLIStdin is runCLI with stdin holding input.
func runCLIStdin(t *testing.T, dir, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := testEnv(dir, nil, &out, &errOut)
	e.stdin = strings.NewReader(input)
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestKeysRetire(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	old := keyStatus(t, dir).AEAD.ID
	oldArg := strconv.FormatUint(uint64(old), 10)
	if code, _, errOut := runCLI(t, dir, nil, "keys", "rotate"); code != exitOK {
		t.Fatal(errOut)
	}
	primary := strconv.FormatUint(uint64(keyStatus(t, dir).AEAD.ID), 10)

	for _, tt := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"ErrInUse", []string{oldArg}, exitFailure, []string{"key " + oldArg + " is still in use by", "in cases", "in audit_log", "and the key sentinel", "run 'bot keys reencrypt' first"}},
		{"ErrPrimary", []string{primary}, exitFailure, []string{"key " + primary + " is the primary encryption key", "cannot be retired"}},
		{"ErrUnknown", []string{"12345"}, exitFailure, []string{"key 12345: no such key", "bot keys status"}},
		{"ErrNotANumber", []string{"abc"}, exitUsage, []string{`KEY_ID "abc" is not a key ID`}},
		{"ErrMissingID", nil, exitUsage, []string{"missing KEY_ID"}},
		{"ErrYesWithoutDestroy", []string{oldArg, "--yes"}, exitUsage, []string{"--yes with --destroy"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, dir, nil, append([]string{"keys", "retire"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit got=%d, want %d: %s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr got=%q, want it to contain %q", errOut, w)
				}
			}
		})
	}
	if st := keyState(keyStatus(t, dir).AEAD, old); st != "enabled" {
		t.Fatalf("after the refusals: key state %q, want enabled", st)
	}

	code, out, errOut := runCLI(t, dir, nil, "keys", "reencrypt")
	if code != exitOK || !strings.Contains(out, "and resealed the key sentinel under encryption key "+primary) {
		t.Fatalf("reencrypt: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, dir, nil, "keys", "retire", oldArg)
	if code != exitOK || !strings.Contains(out, "Retired encryption key "+oldArg) || !strings.Contains(out, "--destroy") {
		t.Fatalf("retire: exit %d, %q %q", code, out, errOut)
	}
	if st := keyState(keyStatus(t, dir).AEAD, old); st != "disabled" {
		t.Errorf("after retire: key state %q, want disabled", st)
	}
	if n := casesOf(t, dir); n != 1 {
		t.Errorf("after retire: %d cases, want 1", n)
	}

	// --destroy asks first; a wrong answer destroys nothing.
	code, _, errOut = runCLIStdin(t, dir, "no\n", "keys", "retire", oldArg, "--destroy")
	if code != exitFailure || !strings.Contains(errOut, "not confirmed") {
		t.Fatalf("destroy unconfirmed: exit %d, %q", code, errOut)
	}
	if st := keyState(keyStatus(t, dir).AEAD, old); st != "disabled" {
		t.Fatalf("after an unconfirmed destroy: key state %q, want disabled", st)
	}
	code, out, errOut = runCLIStdin(t, dir, oldArg+"\n", "keys", "retire", "--destroy", oldArg)
	if code != exitOK || !strings.Contains(out, "Destroyed key "+oldArg) {
		t.Fatalf("destroy: exit %d, %q %q", code, out, errOut)
	}
	if st := keyState(keyStatus(t, dir).AEAD, old); st != "destroyed" {
		t.Errorf("after destroy: key state %q, want destroyed", st)
	}
	if n := casesOf(t, dir); n != 1 {
		t.Errorf("after destroy: %d cases, want 1", n)
	}
}

func TestKeysRetireDestroyYes(t *testing.T) {
	dir := initDir(t)
	old := strconv.FormatUint(uint64(keyStatus(t, dir).AEAD.ID), 10)
	for _, args := range [][]string{{"rotate"}, {"reencrypt"}, {"retire", old, "--destroy", "--yes"}} {
		if code, _, errOut := runCLI(t, dir, nil, append([]string{"keys"}, args...)...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	if st := keyState(keyStatus(t, dir).AEAD, uint32(mustAtoi(t, old))); st != "destroyed" {
		t.Errorf("key state %q, want destroyed", st)
	}
}

func mustAtoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestKeysRotateIndex(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	old := keyStatus(t, dir).PRF.ID
	oldArg := strconv.FormatUint(uint64(old), 10)
	code, out, errOut := runCLI(t, dir, nil, "keys", "rotate", "--index")
	if code != exitOK || !strings.Contains(out, "as the primary blind-index key") {
		t.Fatalf("rotate --index: exit %d, %q %q", code, out, errOut)
	}
	if n := casesOf(t, dir); n != 1 {
		t.Errorf("after rotate --index: lookup found %d cases, want 1", n)
	}
	addCase(t, dir) // indexed under the new key
	if n := casesOf(t, dir); n != 2 {
		t.Errorf("with indexes under both keys: lookup found %d cases, want 2", n)
	}
	code, _, errOut = runCLI(t, dir, nil, "keys", "retire", oldArg)
	if code != exitFailure || !strings.Contains(errOut, "blind-index key "+oldArg+" is still in use by") ||
		!strings.Contains(errOut, "in cases") || !strings.Contains(errOut, "'bot keys reindex'") {
		t.Fatalf("retire in use: exit %d, %q", code, errOut)
	}
	code, out, errOut = runCLI(t, dir, nil, "keys", "reindex", "--batch", "1")
	if code != exitOK || !strings.Contains(out, "Re-indexed") || !strings.Contains(out, "resealed the key sentinel under blind-index key") {
		t.Fatalf("reindex: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, dir, nil, "keys", "reindex"); code != exitOK || !strings.Contains(out, "Re-indexed 0 values under") {
		t.Errorf("second reindex: exit %d, %q; want nothing left", code, out)
	}
	if code, out, errOut := runCLI(t, dir, nil, "keys", "retire", oldArg); code != exitOK || !strings.Contains(out, "Retired blind-index key") {
		t.Fatalf("retire: exit %d, %q %q", code, out, errOut)
	}
	if n := casesOf(t, dir); n != 2 {
		t.Errorf("after retiring the old index key: lookup found %d cases, want 2", n)
	}
	if code, out, errOut := runCLI(t, dir, nil, "audit", "verify"); code != exitOK {
		t.Errorf("audit verify: exit %d, %q %q", code, out, errOut)
	}
}
