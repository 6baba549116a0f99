package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modbot/bot/keys"
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
