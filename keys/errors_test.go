package keys

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		// setup creates keys as needed and returns the options to Load with
		// and the file the error must name.
		setup     func(t *testing.T) (Options, string)
		want      error
		wantInMsg []string
	}{
		{
			name: "ErrNotFoundNoDir",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				return opts, opts.Dir
			},
			want: ErrNotFound, wantInMsg: []string{"bot init"},
		},
		{
			name: "ErrNotFoundEmptyDir",
			setup: func(t *testing.T) (Options, string) {
				opts := Options{Dir: t.TempDir()}
				return opts, opts.Dir
			},
			want: ErrNotFound, wantInMsg: []string{"bot init"},
		},
		{
			name: "ErrNotFoundOneMissing",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, PRFFile)
				os.Remove(path)
				return opts, path
			},
			want: ErrNotFound, wantInMsg: []string{"restore the keys directory"},
		},
		{
			name: "ErrCorruptGarbage",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, AEADFile)
				writeFile(t, path, []byte("{not json"))
				return opts, path
			},
			want: ErrCorrupt, wantInMsg: []string{"restore the keys directory"},
		},
		{
			name: "ErrCorruptKeyset",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, PRFFile)
				editEnvelope(t, path, func(e *envelope) { e.Keyset = json.RawMessage(`{"key": "nope"}`) })
				return opts, path
			},
			want: ErrCorrupt, wantInMsg: []string{"restore the keys directory"},
		},
		{
			name: "ErrCorruptSwappedClear",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, AEADFile)
				writeFile(t, path, readFile(t, filepath.Join(opts.Dir, PRFFile)))
				return opts, path
			},
			want: ErrCorrupt, wantInMsg: []string{"swapped"},
		},
		{
			name: "ErrCorruptNewerFormat",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, AEADFile)
				editEnvelope(t, path, func(e *envelope) { e.Format = fileFormat + 1 })
				return opts, path
			},
			want: ErrCorrupt, wantInMsg: []string{"upgrade bot"},
		},
		{
			name: "ErrPermissions",
			setup: func(t *testing.T) (Options, string) {
				if runtime.GOOS == "windows" {
					t.Skip("no Unix modes on Windows")
				}
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, AEADFile)
				if err := os.Chmod(path, 0o644); err != nil {
					t.Fatal(err)
				}
				return opts, path
			},
			want: ErrPermissions, wantInMsg: []string{"chmod 600 "},
		},
		{
			name: "ErrMasterKeyMismatch",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, newMasterKey(t))
				mustCreate(t, opts)
				opts.MasterKey = newMasterKey(t)
				return opts, filepath.Join(opts.Dir, AEADFile)
			},
			want: ErrMasterKeyMismatch, wantInMsg: []string{"BOT_KEYS_MASTER_KEY"},
		},
		{
			// The envelope is edited to pass the purpose check, so only the
			// associated data (the file name) tells the two files apart.
			name: "ErrMasterKeyMismatchSwapped",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, newMasterKey(t))
				mustCreate(t, opts)
				path := filepath.Join(opts.Dir, AEADFile)
				writeFile(t, path, readFile(t, filepath.Join(opts.Dir, PRFFile)))
				editEnvelope(t, path, func(e *envelope) { e.Purpose = "aead" })
				return opts, path
			},
			want: ErrMasterKeyMismatch, wantInMsg: []string{"altered"},
		},
		{
			name: "ErrClearKeysetWithMasterKey",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, nil)
				mustCreate(t, opts)
				opts.MasterKey = newMasterKey(t)
				return opts, filepath.Join(opts.Dir, AEADFile)
			},
			want: ErrClearKeysetWithMasterKey, wantInMsg: []string{"remove the master key"},
		},
		{
			// One file encrypted, the other replaced by a clear one.
			name: "ErrClearKeysetWithMasterKeyPlanted",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, newMasterKey(t))
				mustCreate(t, opts)
				planted := testOptions(t, nil)
				mustCreate(t, planted)
				path := filepath.Join(opts.Dir, PRFFile)
				writeFile(t, path, readFile(t, filepath.Join(planted.Dir, PRFFile)))
				return opts, path
			},
			want: ErrClearKeysetWithMasterKey, wantInMsg: []string{"refusing"},
		},
		{
			name: "ErrMasterKeyRequired",
			setup: func(t *testing.T) (Options, string) {
				opts := testOptions(t, newMasterKey(t))
				mustCreate(t, opts)
				opts.MasterKey = nil
				return opts, filepath.Join(opts.Dir, AEADFile)
			},
			want: ErrMasterKeyRequired, wantInMsg: []string{"set the master key"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, file := tt.setup(t)
			k, err := Load(opts)
			if k != nil {
				t.Errorf("Load returned a keyring along with err=%v", err)
			}
			checkErr(t, err, tt.want, append([]string{file}, tt.wantInMsg...)...)
		})
	}
}

// editEnvelope rewrites a keyset file's envelope in place.
func editEnvelope(t *testing.T, path string, edit func(*envelope)) {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(readFile(t, path), &e); err != nil {
		t.Fatal(err)
	}
	edit(&e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
}

func TestLoadUnreadableDir(t *testing.T) {
	opts := testOptions(t, nil)
	mustCreate(t, opts)
	if err := os.Chmod(opts.Dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(opts.Dir, 0o700) })
	if _, err := os.Stat(filepath.Join(opts.Dir, AEADFile)); err == nil {
		t.Skip("directory stays readable (running as root?)")
	}
	_, err := Load(opts)
	checkErr(t, err, os.ErrPermission, opts.Dir, "accessible to the user that runs bot")
}

func TestCreateErrors(t *testing.T) {
	t.Run("ErrExist", func(t *testing.T) {
		opts := testOptions(t, nil)
		mustCreate(t, opts)
		aeadBefore := readFile(t, filepath.Join(opts.Dir, AEADFile))
		_, err := Create(opts)
		checkErr(t, err, ErrExist, filepath.Join(opts.Dir, AEADFile), "move the keys directory")
		if !bytes.Equal(readFile(t, filepath.Join(opts.Dir, AEADFile)), aeadBefore) {
			t.Fatal("Create changed an existing keyset")
		}
	})
	t.Run("ErrExistOneFile", func(t *testing.T) {
		opts := testOptions(t, nil)
		mustCreate(t, opts)
		os.Remove(filepath.Join(opts.Dir, AEADFile))
		_, err := Create(opts)
		checkErr(t, err, ErrExist, filepath.Join(opts.Dir, PRFFile))
	})
	t.Run("ReadOnlyParent", func(t *testing.T) {
		parent := t.TempDir()
		if !makeReadOnly(t, parent) {
			t.Skip("directory stays writable (running as root?)")
		}
		dir := filepath.Join(parent, "keys")
		_, err := Create(Options{Dir: dir})
		checkErr(t, err, os.ErrPermission, dir, "can create and write", "storage.data_dir")
	})
	t.Run("ReadOnlyDir", func(t *testing.T) {
		dir := t.TempDir()
		if !makeReadOnly(t, dir) {
			t.Skip("directory stays writable (running as root?)")
		}
		_, err := Create(Options{Dir: dir})
		checkErr(t, err, os.ErrPermission, dir, "writable")
		if ok, _ := Exists(dir); ok {
			t.Fatal("a failed Create left a keyset behind")
		}
	})
	t.Run("NotADirectory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		writeFile(t, file, nil)
		_, err := Create(Options{Dir: file})
		checkErr(t, err, nil, file, "must be a directory", "storage.data_dir")
	})
	t.Run("BadMasterKeyLength", func(t *testing.T) {
		_, err := Create(testOptions(t, []byte("short")))
		checkErr(t, err, nil, "32 random bytes")
	})
}
