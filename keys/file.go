package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/modbot/bot/internal/atomicfile"
)

// Names of the keyset files inside the keys directory.
const (
	// AEADFile holds the AEAD keyset that seals field values. Rotate adds keys to it.
	AEADFile = "aead.json"
	// PRFFile holds the PRF keyset behind blind indexes. RotateIndex adds keys to it.
	PRFFile = "prf.json"
)

// fileFormat is the version of the envelope below. A file with a higher
// version was written by a newer bot, which this one must not misread.
const fileFormat = 1

// envelope is the JSON document stored in each keyset file. The Tink keyset
// sits in it untouched (Tink's own JSON, in clear or encrypted), so it can
// still be inspected with Tink tools; the envelope adds what Tink does not
// store, in the same file so that one atomic rename updates both.
type envelope struct {
	// Format is fileFormat at the time of writing.
	Format int `json:"format"`
	// Purpose is "aead" or "prf". It catches a file renamed or copied over
	// the other one even when the keysets are stored in clear.
	Purpose string `json:"purpose"`
	// CreatedAt maps each key ID (in decimal) to its creation time. It is not
	// secret and not authenticated: it only feeds Status.
	CreatedAt map[string]time.Time `json:"created_at"`
	// RetiredAt maps each retired key's ID to when it was disabled, and
	// DestroyedAt each destroyed key's ID to when its material was removed
	// (Tink keeps no trace of a deleted key). Like CreatedAt they only feed
	// Status and messages; the keyset itself says which keys are enabled.
	RetiredAt   map[string]time.Time `json:"retired_at,omitempty"`
	DestroyedAt map[string]time.Time `json:"destroyed_at,omitempty"`
	// Keyset is Tink JSON: a Keyset in clear, or an EncryptedKeyset.
	Keyset json.RawMessage `json:"keyset"`
}

// keysetFile is a keyset as read from or written to disk.
type keysetFile struct {
	path        string
	handle      *keyset.Handle
	createdAt   map[string]time.Time
	retiredAt   map[string]time.Time
	destroyedAt map[string]time.Time
}

// purposeOf maps a file name to the purpose recorded in its envelope.
func purposeOf(name string) string {
	if name == PRFFile {
		return "prf"
	}
	return "aead"
}

// associatedData binds a keyset's encryption under the master key to its
// file name, so aead.json and prf.json cannot be swapped unnoticed.
func associatedData(name string) []byte {
	return []byte("github.com/modbot/bot/keys/" + name)
}

// readKeysetFile reads, checks and decrypts one keyset file. master is nil
// when no master key is configured.
func readKeysetFile(dir, name string, master tink.AEAD) (*keysetFile, error) {
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("load keyset %s: %w while the other keyset is present; restore the keys directory from a backup",
			path, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("load keyset %s: %w; make it readable by the user that runs bot", path, err)
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("load keyset %s: %w: not a regular file; restore the keys directory from a backup",
			path, ErrCorrupt)
	}
	// Windows has no Unix mode bits to check; its ACLs are out of our reach.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load keyset %s: %w (mode %04o); run: chmod 600 %s",
			path, ErrPermissions, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load keyset %s: %w; make it readable by the user that runs bot", path, err)
	}

	restore := "restore the keys directory from a backup"
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("load keyset %s: %w: %v; %s", path, ErrCorrupt, err, restore)
	}
	if env.Format > fileFormat {
		return nil, fmt.Errorf("load keyset %s: %w: format %d is newer than this bot understands (%d); upgrade bot",
			path, ErrCorrupt, env.Format, fileFormat)
	}
	if env.Format < 1 || len(env.Keyset) == 0 {
		return nil, fmt.Errorf("load keyset %s: %w: not a bot keyset file; %s", path, ErrCorrupt, restore)
	}
	if env.Purpose != purposeOf(name) {
		return nil, fmt.Errorf("load keyset %s: %w: it holds the %q keyset, want %q; the keyset files were renamed or swapped, %s",
			path, ErrCorrupt, env.Purpose, purposeOf(name), restore)
	}

	encrypted, err := isEncrypted(env.Keyset)
	if err != nil {
		return nil, fmt.Errorf("load keyset %s: %w: %v; %s", path, ErrCorrupt, err, restore)
	}
	var h *keyset.Handle
	switch {
	case encrypted && master == nil:
		return nil, fmt.Errorf("load keyset %s: %w; set the master key (BOT_KEYS_MASTER_KEY or the master key file) that was used when the keys were created",
			path, ErrMasterKeyRequired)
	case !encrypted && master != nil:
		return nil, fmt.Errorf("load keyset %s: %w; refusing it, since a clear keyset may have been put in place of the encrypted one. "+
			"If the keys were never encrypted, remove the master key from the configuration, or encrypt the keysets with it first (see `bot keys --help`)",
			path, ErrClearKeysetWithMasterKey)
	case encrypted:
		r := keyset.NewJSONReader(bytes.NewReader(env.Keyset))
		ek, err := r.ReadEncrypted()
		if err != nil || len(ek.GetEncryptedKeyset()) == 0 {
			return nil, fmt.Errorf("load keyset %s: %w: unreadable encrypted keyset; %s", path, ErrCorrupt, restore)
		}
		// Parsed once above to tell a corrupt file from a wrong master key,
		// whose errors Tink does not distinguish; parsed again here by Tink.
		r = keyset.NewJSONReader(bytes.NewReader(env.Keyset))
		h, err = keyset.ReadWithAssociatedData(r, master, associatedData(name))
		if err != nil {
			return nil, fmt.Errorf("load keyset %s: %w; check that the master key (BOT_KEYS_MASTER_KEY or the master key file) is the one used when the keys were created. "+
				"A file altered or copied from another installation fails the same way; if so, %s",
				path, ErrMasterKeyMismatch, restore)
		}
	default:
		h, err = insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(env.Keyset)))
		if err != nil {
			return nil, fmt.Errorf("load keyset %s: %w: unreadable keyset; %s", path, ErrCorrupt, restore)
		}
	}
	return &keysetFile{path: path, handle: h, createdAt: env.CreatedAt, retiredAt: env.RetiredAt, destroyedAt: env.DestroyedAt}, nil
}

// isEncrypted tells a Tink EncryptedKeyset from a clear Keyset by its fields,
// rather than by a flag that could disagree with the content.
func isEncrypted(raw json.RawMessage) (bool, error) {
	var probe struct {
		EncryptedKeyset json.RawMessage `json:"encryptedKeyset"`
		Key             json.RawMessage `json:"key"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false, err
	}
	enc := len(probe.EncryptedKeyset) > 0 && string(probe.EncryptedKeyset) != "null"
	clear := len(probe.Key) > 0 && string(probe.Key) != "null"
	if enc == clear {
		return false, errors.New("neither a clear nor an encrypted Tink keyset")
	}
	return enc, nil
}

// writeKeysetFile serializes f.handle, encrypted under master when it is not
// nil, and replaces f.path atomically.
func writeKeysetFile(f *keysetFile, master tink.AEAD) error {
	name := filepath.Base(f.path)
	var buf bytes.Buffer
	w := keyset.NewJSONWriter(&buf)
	var err error
	if master != nil {
		err = f.handle.WriteWithAssociatedData(w, master, associatedData(name))
	} else {
		err = insecurecleartextkeyset.Write(f.handle, w)
	}
	if err != nil {
		return fmt.Errorf("write keyset %s: serialize: %w", f.path, err)
	}
	data, err := json.MarshalIndent(envelope{
		Format:      fileFormat,
		Purpose:     purposeOf(name),
		CreatedAt:   f.createdAt,
		RetiredAt:   f.retiredAt,
		DestroyedAt: f.destroyedAt,
		Keyset:      buf.Bytes(),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("write keyset %s: %w", f.path, err)
	}
	return atomicfile.Write(f.path, append(data, '\n'), 0o600)
}

// keyIDString is the form of a key ID used as a CreatedAt map key.
func keyIDString(id uint32) string {
	return strconv.FormatUint(uint64(id), 10)
}
