package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testOptions returns options for a keys directory that does not exist yet.
func testOptions(t *testing.T, master []byte) Options {
	t.Helper()
	return Options{Dir: filepath.Join(t.TempDir(), "keys"), MasterKey: master}
}

// mustCreate creates a keyring or fails the test.
func mustCreate(t *testing.T, opts Options) *Keyring {
	t.Helper()
	k, err := Create(opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return k
}

// mustLoad loads a keyring or fails the test.
func mustLoad(t *testing.T, opts Options) *Keyring {
	t.Helper()
	k, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return k
}

// newMasterKey returns fresh raw master key bytes.
func newMasterKey(t *testing.T) []byte {
	t.Helper()
	s, err := GenerateMasterKey()
	if err != nil {
		t.Fatalf("GenerateMasterKey: %v", err)
	}
	b, err := ParseMasterKey(s)
	if err != nil {
		t.Fatalf("ParseMasterKey: %v", err)
	}
	return b
}

// checkErr checks that err wraps want and that its message contains every
// one of wantInMsg: the file it is about and what to do.
func checkErr(t *testing.T, err, want error, wantInMsg ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err=nil, want %v", want)
	}
	t.Logf("err: %v", err)
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("err=%v, want errors.Is(err, %v)", err, want)
	}
	for _, s := range wantInMsg {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err=%q, want it to contain %q", err, s)
		}
	}
}

// writeFile replaces a file's content, keeping mode 0600.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readFile returns a file's content.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeReadOnly makes dir read-only and reports whether that has any effect:
// as root, or on some file systems, writes still succeed, and tests that
// need a read-only directory must be skipped.
func makeReadOnly(t *testing.T, dir string) bool {
	t.Helper()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o600); err == nil {
		os.Remove(probe)
		return false
	}
	return true
}
