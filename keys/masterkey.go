package keys

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/modbot/bot/internal/atomicfile"

	"github.com/tink-crypto/tink-go/v2/aead/aesgcm"
	"github.com/tink-crypto/tink-go/v2/insecuresecretdataaccess"
	"github.com/tink-crypto/tink-go/v2/secretdata"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// MasterKeySize is the length in bytes of a master key (AES-256).
const MasterKeySize = 32

// masterKeyHint tells a user what a valid master key looks like. It never
// repeats the value they gave: a near-miss of a secret is still a secret.
const masterKeyHint = "a master key is 32 random bytes in standard base64 " +
	"(44 characters ending in '='), for example the output of `openssl rand -base64 32`"

// ParseMasterKey decodes a master key given as standard base64 of exactly 32
// bytes. Surrounding spaces and newlines are ignored, so the contents of a key
// file or an environment variable can be passed as they are. The error never
// contains the input.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("parse master key: it is empty; %s", masterKeyHint)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("parse master key: not valid standard base64; %s", masterKeyHint)
	}
	if len(b) != MasterKeySize {
		return nil, fmt.Errorf("parse master key: it decodes to %d bytes, want %d; %s",
			len(b), MasterKeySize, masterKeyHint)
	}
	return b, nil
}

// GenerateMasterKey returns a new master key: 32 bytes from crypto/rand in
// standard base64, the form ParseMasterKey accepts.
func GenerateMasterKey() (string, error) {
	b := make([]byte, MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ReadMasterKeyFile reads and parses the master key file at path. Like a
// keyset file, it is refused with ErrPermissions when its mode lets the
// group or other users read or write it: the master key opens the keysets,
// so a file others can read gives the data away as surely as the keys do.
// The error never contains the file's contents.
func ReadMasterKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read master key file %s: it does not exist; restore it from where you keep its copy, or point keys.master_key_file at it", path)
	case err != nil:
		return nil, fmt.Errorf("read master key file %s: %w; make it readable by the user that runs bot", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("read master key file %s: not a regular file; point keys.master_key_file at the file holding the key", path)
	}
	// Windows has no Unix mode bits to check; its ACLs are out of our reach.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("read master key file %s: %w (mode %04o); run: chmod 600 %s",
			path, ErrPermissions, info.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w; make it readable by the user that runs bot", path, err)
	}
	k, err := ParseMasterKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	return k, nil
}

// WriteMasterKeyFile writes a new master key to path with mode 0600 and
// returns it. It refuses to replace a file that exists: that file may be
// the only copy of the key to some keysets.
func WriteMasterKeyFile(path string) (_ []byte, err error) {
	s, err := GenerateMasterKey()
	if err != nil {
		return nil, err
	}
	// O_EXCL rather than a check and a rename, so that a file appearing
	// in between is not replaced either.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("write master key file %s: %w: it may be the only copy of a master key; use it (keys.master_key_file) or choose another path", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("write master key file %s: %w; choose a directory the user that runs bot can write", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("write master key file %s: %w", path, err)
	}
	return ParseMasterKey(s)
}

// newMasterAEAD turns raw master key bytes into the AEAD that encrypts
// keysets on disk. It has no output prefix: it holds a single key, so a key
// ID would only add bytes.
func newMasterAEAD(key []byte) (tink.AEAD, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("use master key: it is %d bytes, want %d; %s",
			len(key), MasterKeySize, masterKeyHint)
	}
	params, err := aesgcm.NewParameters(aesgcm.ParametersOpts{
		KeySizeInBytes: MasterKeySize,
		IVSizeInBytes:  12,
		TagSizeInBytes: 16,
		Variant:        aesgcm.VariantNoPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("use master key: %w", err)
	}
	k, err := aesgcm.NewKey(secretdata.NewBytesFromData(key, insecuresecretdataaccess.Token{}), 0, params)
	if err != nil {
		return nil, fmt.Errorf("use master key: %w", err)
	}
	a, err := aesgcm.NewAEAD(k)
	if err != nil {
		return nil, fmt.Errorf("use master key: %w", err)
	}
	return a, nil
}

// ChangeMasterKey re-writes both keysets in dir under newKey (nil: store them
// in clear), after opening them with oldKey (nil: they are in clear). It is
// how a master key is added, changed or removed. Both files are read before
// either is written, and each write is atomic; if it is interrupted between
// the two files, running it again with the same arguments finishes the job,
// since a file that already opens with newKey is left as it is.
func ChangeMasterKey(dir string, oldKey, newKey []byte) error {
	oldMaster, err := optsMaster(Options{Dir: dir, MasterKey: oldKey})
	if err != nil {
		return fmt.Errorf("change master key: old key: %w", err)
	}
	newMaster, err := optsMaster(Options{Dir: dir, MasterKey: newKey})
	if err != nil {
		return fmt.Errorf("change master key: new key: %w", err)
	}
	var todo []*keysetFile
	for _, name := range []string{AEADFile, PRFFile} {
		f, err := readKeysetFile(dir, name, oldMaster)
		if err == nil {
			todo = append(todo, f)
			continue
		}
		if !isMasterKeyError(err) {
			return fmt.Errorf("change master key: %w", err)
		}
		if _, errNew := readKeysetFile(dir, name, newMaster); errNew != nil {
			return fmt.Errorf("change master key: %w", err)
		}
	}
	for _, f := range todo {
		if err := writeKeysetFile(f, newMaster); err != nil {
			return fmt.Errorf("change master key: %w", err)
		}
	}
	return nil
}

// isMasterKeyError reports whether err means "this master key (or its
// absence) does not fit this file", as opposed to a broken file.
func isMasterKeyError(err error) bool {
	return errors.Is(err, ErrMasterKeyMismatch) ||
		errors.Is(err, ErrMasterKeyRequired) ||
		errors.Is(err, ErrClearKeysetWithMasterKey)
}
