package keys

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseMasterKey(t *testing.T) {
	good, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "OK", in: good},
		{name: "OKSurroundingSpace", in: "  " + good + "\n"},
		{name: "ErrEmpty", in: " \n", wantErr: true},
		{name: "ErrNotBase64", in: "not base64 at all!!", wantErr: true},
		{name: "ErrURLEncoding", in: base64.URLEncoding.EncodeToString(make([]byte, 31)) + "-_", wantErr: true},
		{name: "ErrShort", in: base64.StdEncoding.EncodeToString(make([]byte, 16)), wantErr: true},
		{name: "ErrLong", in: base64.StdEncoding.EncodeToString(make([]byte, 33)), wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseMasterKey(tt.in)
			if !tt.wantErr {
				if err != nil || len(b) != MasterKeySize {
					t.Fatalf("got=%d bytes, %v, want %d bytes", len(b), err, MasterKeySize)
				}
				return
			}
			checkErr(t, err, nil, "openssl rand -base64 32")
			if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Fatalf("error %q repeats the key", err)
			}
		})
	}
}

func TestGenerateMasterKeyUnique(t *testing.T) {
	a, _ := GenerateMasterKey()
	b, _ := GenerateMasterKey()
	if a == b {
		t.Fatal("two generated master keys are equal")
	}
}

func TestChangeMasterKey(t *testing.T) {
	opts := testOptions(t, nil)
	k := mustCreate(t, opts)
	ad := []byte("users/name/1")
	ct, err := k.Seal([]byte("alice"), ad)
	if err != nil {
		t.Fatal(err)
	}
	first, second := newMasterKey(t), newMasterKey(t)

	for _, step := range []struct {
		name     string
		old, new []byte
	}{
		{name: "Add", old: nil, new: first},
		{name: "Again", old: nil, new: first}, // already done: a no-op
		{name: "Change", old: first, new: second},
		{name: "Remove", old: second, new: nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			if err := ChangeMasterKey(opts.Dir, step.old, step.new); err != nil {
				t.Fatalf("ChangeMasterKey: %v", err)
			}
			k2 := mustLoad(t, Options{Dir: opts.Dir, MasterKey: step.new})
			if pt, err := k2.Open(ct, ad); err != nil || string(pt) != "alice" {
				t.Fatalf("Open=%q, %v, want alice", pt, err)
			}
		})
	}

	t.Run("ErrMasterKeyMismatch", func(t *testing.T) {
		dir := testOptions(t, first).Dir
		mustCreate(t, Options{Dir: dir, MasterKey: first})
		err := ChangeMasterKey(dir, second, nil)
		checkErr(t, err, ErrMasterKeyMismatch, filepath.Join(dir, AEADFile))
	})
}

// TestReadMasterKeyFile: a master key file others can read or write is
// refused as a keyset file would be, with the command that fixes it.
func TestReadMasterKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits on Windows")
	}
	for _, tt := range []struct {
		name string
		mode os.FileMode
		ok   bool
	}{
		{"OK", 0o600, true},
		{"OwnerReadOnly", 0o400, true},
		{"GroupReadable", 0o640, false},
		{"OthersReadable", 0o604, false},
		{"GroupWritable", 0o620, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			want, err := WriteMasterKeyFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("WriteMasterKeyFile: mode got=%v, %v; want 0600", st.Mode().Perm(), err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := ReadMasterKeyFile(path)
			if tt.ok {
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("got=%x, %v; want the key written", got, err)
				}
				return
			}
			checkErr(t, err, ErrPermissions, path, "chmod 600 "+path)
		})
	}
}

// TestWriteMasterKeyFileKeepsExisting: an existing file may be the only copy
// of a master key, so it is never replaced.
func TestWriteMasterKeyFileKeepsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := WriteMasterKeyFile(path)
	checkErr(t, err, fs.ErrExist, path, "only copy")
	if b, _ := os.ReadFile(path); string(b) != "precious\n" {
		t.Errorf("file got=%q, want it unchanged", b)
	}
}
