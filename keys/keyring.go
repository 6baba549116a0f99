package keys

import (
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// BlindIndexSize is the length in bytes of a blind index.
const BlindIndexSize = 32

// tinkPrefixSize is the length of Tink's ciphertext prefix: a 0x01 marker and
// the big-endian key ID.
const tinkPrefixSize = 5

// Options says where the keys live and whether a master key protects them.
type Options struct {
	// Dir is the keys directory, normally <data_dir>/keys.
	Dir string
	// MasterKey, when not nil, is 32 raw bytes (see ParseMasterKey) that
	// encrypt the keysets on disk with AES-256-GCM. When nil the keysets are
	// stored in clear, protected only by file permissions.
	MasterKey []byte
}

// Keyring holds the loaded keysets. It is safe for concurrent use: Seal,
// Open, BlindIndex and NeedsReencrypt never block, and Rotate, RotateIndex,
// Retire and Destroy swap in the changed keyset only after it is safely on
// disk.
type Keyring struct {
	dir    string
	master tink.AEAD // nil when keysets are stored in clear

	rotateMu sync.Mutex // serializes every change of a keyset, so two cannot lose each other's key
	aead     atomic.Pointer[aeadState]
	prf      atomic.Pointer[prfState]
}

// aeadState is one immutable version of the AEAD keyset; Rotate replaces it whole.
type aeadState struct {
	file      *keysetFile
	primitive tink.AEAD
	primaryID uint32
	keyIDs    map[uint32]tinkpb.KeyStatusType // every key in the keyset, with its state
}

// prfState is one immutable version of the PRF keyset behind blind indexes.
// set holds only the enabled keys (Tink leaves out the others); others
// lists the enabled keys other than the primary, which lookups still try.
type prfState struct {
	file   *keysetFile
	set    *prf.Set
	others []uint32
}

// Exists reports whether dir holds a keyset file (either one). It is false,
// without error, when dir does not exist.
func Exists(dir string) (bool, error) {
	for _, name := range []string{AEADFile, PRFFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("check keys directory %s: %w; make it accessible to the user that runs bot", dir, err)
		}
	}
	return false, nil
}

// Create makes dir (mode 0700) and a new AEAD keyset and PRF keyset in it,
// encrypted under opts.MasterKey when set. It returns ErrExist, and changes
// nothing, if either keyset file is already there: replacing keys would make
// every value sealed with them unreadable. Create is not guarded against a
// concurrent Create in another process.
func Create(opts Options) (*Keyring, error) {
	master, err := optsMaster(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keys directory %s: %w; it must be a directory the user that runs bot can create and write, or choose another storage.data_dir",
			opts.Dir, err)
	}
	for _, name := range []string{AEADFile, PRFFile} {
		path := filepath.Join(opts.Dir, name)
		_, err := os.Stat(path)
		if err == nil {
			return nil, fmt.Errorf("create keyset %s: %w; the existing keys are still needed to read data sealed with them. "+
				"To start over on purpose, move the keys directory and the database aside first", path, ErrExist)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create keyset %s: %w; make the keys directory accessible to the user that runs bot", path, err)
		}
	}

	created := now()
	files := make(map[string]*keysetFile, 2)
	templates := map[string]*tinkpb.KeyTemplate{
		AEADFile: aead.AES256GCMKeyTemplate(),
		PRFFile:  prf.HMACSHA256PRFKeyTemplate(),
	}
	for name, tmpl := range templates {
		h, err := keyset.NewHandle(tmpl)
		if err != nil {
			return nil, fmt.Errorf("create keyset %s: %w", name, err)
		}
		files[name] = &keysetFile{
			path:      filepath.Join(opts.Dir, name),
			handle:    h,
			createdAt: map[string]time.Time{keyIDString(h.KeysetInfo().GetPrimaryKeyId()): created},
		}
	}
	k, err := newKeyring(opts.Dir, master, files[AEADFile], files[PRFFile])
	if err != nil {
		return nil, err
	}
	var written []string
	for _, name := range []string{PRFFile, AEADFile} {
		if err := writeKeysetFile(files[name], master); err != nil {
			// Leave nothing behind, so that a retry is not refused with ErrExist.
			for _, p := range written {
				os.Remove(p)
			}
			return nil, fmt.Errorf("create keys: %w", err)
		}
		written = append(written, files[name].path)
	}
	return k, nil
}

// Load reads both keysets from opts.Dir. Besides the errors of the files
// themselves (ErrPermissions, ErrCorrupt, ErrMasterKeyMismatch,
// ErrClearKeysetWithMasterKey, ErrMasterKeyRequired), it returns ErrNotFound
// when the directory holds no keysets or only one of them.
func Load(opts Options) (*Keyring, error) {
	master, err := optsMaster(opts)
	if err != nil {
		return nil, err
	}
	ok, err := Exists(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("load keys: %s holds no keysets: %w; run `bot init` to create keys, or restore the keys directory from a backup",
			opts.Dir, ErrNotFound)
	}
	aeadFile, err := readKeysetFile(opts.Dir, AEADFile, master)
	if err != nil {
		return nil, err
	}
	prfFile, err := readKeysetFile(opts.Dir, PRFFile, master)
	if err != nil {
		return nil, err
	}
	return newKeyring(opts.Dir, master, aeadFile, prfFile)
}

// optsMaster checks opts and builds the master AEAD, nil without a master key.
func optsMaster(opts Options) (tink.AEAD, error) {
	if opts.Dir == "" {
		return nil, errors.New("keys: no keys directory given; set storage.data_dir")
	}
	if opts.MasterKey == nil {
		return nil, nil
	}
	return newMasterAEAD(opts.MasterKey)
}

// newKeyring builds the primitives and checks that each keyset is of the
// kind its file name says, so that a wrong file fails at start-up rather
// than at the first Seal.
func newKeyring(dir string, master tink.AEAD, aeadFile, prfFile *keysetFile) (*Keyring, error) {
	st, err := newAEADState(aeadFile)
	if err != nil {
		return nil, err
	}
	ps, err := newPRFState(prfFile)
	if err != nil {
		return nil, err
	}
	k := &Keyring{dir: dir, master: master}
	k.aead.Store(st)
	k.prf.Store(ps)
	return k, nil
}

// newPRFState builds the PRF set for f and checks that its primary key can
// make blind indexes.
func newPRFState(f *keysetFile) (*prfState, error) {
	set, err := prf.NewPRFSet(f.handle)
	if err != nil {
		return nil, fmt.Errorf("load keyset %s: %w: not a PRF keyset; restore the keys directory from a backup", f.path, ErrCorrupt)
	}
	if _, err := set.ComputePrimaryPRF(nil, BlindIndexSize); err != nil {
		return nil, fmt.Errorf("load keyset %s: %w: its primary key cannot produce %d-byte blind indexes (%v); restore the keys directory from a backup",
			f.path, ErrCorrupt, BlindIndexSize, err)
	}
	ps := &prfState{file: f, set: set}
	for id, p := range set.PRFs {
		if id == set.PrimaryID {
			continue
		}
		if _, err := p.ComputePRF(nil, BlindIndexSize); err != nil {
			return nil, fmt.Errorf("load keyset %s: %w: key %d cannot produce %d-byte blind indexes (%v); restore the keys directory from a backup",
				f.path, ErrCorrupt, id, BlindIndexSize, err)
		}
		ps.others = append(ps.others, id)
	}
	slices.Sort(ps.others)
	return ps, nil
}

// newAEADState builds the AEAD primitive for f. The primary key must use
// Tink's key-ID prefix: NeedsReencrypt and the "unknown key" error rely on it.
func newAEADState(f *keysetFile) (*aeadState, error) {
	info := f.handle.KeysetInfo()
	ids := make(map[uint32]tinkpb.KeyStatusType, len(info.GetKeyInfo()))
	for _, ki := range info.GetKeyInfo() {
		ids[ki.GetKeyId()] = ki.GetStatus()
		if ki.GetKeyId() == info.GetPrimaryKeyId() && ki.GetOutputPrefixType() != tinkpb.OutputPrefixType_TINK {
			return nil, fmt.Errorf("load keyset %s: %w: primary key %d has output prefix %v, want TINK; restore the keys directory from a backup",
				f.path, ErrCorrupt, ki.GetKeyId(), ki.GetOutputPrefixType())
		}
	}
	p, err := aead.New(f.handle)
	if err != nil {
		return nil, fmt.Errorf("load keyset %s: %w: not an AEAD keyset; restore the keys directory from a backup", f.path, ErrCorrupt)
	}
	return &aeadState{file: f, primitive: p, primaryID: info.GetPrimaryKeyId(), keyIDs: ids}, nil
}

// Seal encrypts plaintext with the primary AEAD key (AES-256-GCM). The
// result starts with Tink's 5-byte key-ID prefix, so it can be opened after
// rotations. associatedData is authenticated, not stored: callers pass what
// identifies the value's place (table, column, row) so that it cannot be
// moved elsewhere.
func (k *Keyring) Seal(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := k.aead.Load().primitive.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return ct, nil
}

// Open decrypts a ciphertext made by Seal with the same associated data. It
// returns an error wrapping ErrDecrypt when the ciphertext was altered, was
// sealed with other associated data (moved to another row), or was sealed
// with a key that is not in the keyset.
func (k *Keyring) Open(ciphertext, associatedData []byte) ([]byte, error) {
	st := k.aead.Load()
	pt, err := st.primitive.Decrypt(ciphertext, associatedData)
	if err == nil {
		return pt, nil
	}
	if id, ok := keyIDOf(ciphertext); ok {
		if when, gone := st.file.destroyedAt[keyIDString(id)]; gone {
			return nil, fmt.Errorf("open: %w: sealed with key %d, which was destroyed on %s (bot keys retire --destroy); the value can no longer be read, except from a backup made before that with its keys",
				ErrDecrypt, id, when.Format(time.DateOnly))
		}
		status, in := st.keyIDs[id]
		switch {
		case !in:
			return nil, fmt.Errorf("open: %w: sealed with key %d, which is not in %s; use the keys directory that belongs to this database (if `bot keys rotate` ran while the bot was running, restart the bot)",
				ErrDecrypt, id, st.file.path)
		case status != tinkpb.KeyStatusType_ENABLED:
			return nil, fmt.Errorf("open: %w: sealed with key %d, which is retired (%s) in %s and opens nothing; run 'bot keys reencrypt' with a keys directory in which it is still enabled (from a backup), or restore the value",
				ErrDecrypt, id, strings.ToLower(status.String()), st.file.path)
		}
	}
	return nil, fmt.Errorf("open: %w: the value was altered, moved to another row, or sealed with keys other than %s; restore the row or the keys from a backup",
		ErrDecrypt, st.file.path)
}

// NeedsReencrypt reports whether ciphertext was sealed with a key other than
// the primary AEAD key, so that re-encryption should move it to the primary.
// A value that carries no Tink key-ID prefix also reports true.
func (k *Keyring) NeedsReencrypt(ciphertext []byte) bool {
	id, ok := keyIDOf(ciphertext)
	return !ok || id != k.aead.Load().primaryID
}

// keyIDOf reads the key ID from Tink's ciphertext prefix (0x01, then the ID
// big-endian).
func keyIDOf(ciphertext []byte) (uint32, bool) {
	if len(ciphertext) < tinkPrefixSize || ciphertext[0] != 0x01 {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:tinkPrefixSize]), true
}

// blindIndexLabel starts every PRF input, so these outputs cannot collide
// with any other use of the same key.
const blindIndexLabel = "github.com/modbot/bot/keys blind index v1\x00"

// BlindIndex returns a 32-byte keyed PRF (HMAC-SHA256 from the PRF keyset's
// primary key) of value, for equality lookups without storing value.
// domain separates uses ("user", "audit-chain"...): the same value gives
// unrelated indexes in different domains, and different installations give
// unrelated indexes. New rows store this index.
//
// The input encoding (label, length-prefixed domain, value) is frozen: a
// change would break every stored index. The key is not: after
// RotateIndex, rows keep the index of an older key until they are
// re-indexed, which is why lookups use BlindIndexes.
func (k *Keyring) BlindIndex(domain string, value []byte) []byte {
	ps := k.prf.Load()
	return ps.compute(ps.set.PrimaryID, domain, value)
}

// BlindIndexes returns the blind index of value under every enabled PRF
// key, the primary's first. A lookup matches any of them, so rows not yet
// re-indexed after RotateIndex are still found. Outside a rotation there
// is one.
func (k *Keyring) BlindIndexes(domain string, value []byte) [][]byte {
	ps := k.prf.Load()
	out := make([][]byte, 0, 1+len(ps.others))
	out = append(out, ps.compute(ps.set.PrimaryID, domain, value))
	for _, id := range ps.others {
		out = append(out, ps.compute(id, domain, value))
	}
	return out
}

// IndexedBy returns the ID of the enabled PRF key under which index is the
// blind index of value in domain, and false if none is: the index was made
// by a retired key, by other keys, or was altered.
func (k *Keyring) IndexedBy(domain string, value, index []byte) (uint32, bool) {
	ps := k.prf.Load()
	for _, id := range append([]uint32{ps.set.PrimaryID}, ps.others...) {
		if hmac.Equal(ps.compute(id, domain, value), index) {
			return id, true
		}
	}
	return 0, false
}

// compute is the blind index of value in domain under PRF key id, which
// must be enabled.
func (ps *prfState) compute(id uint32, domain string, value []byte) []byte {
	in := make([]byte, 0, len(blindIndexLabel)+binary.MaxVarintLen64+len(domain)+len(value))
	in = append(in, blindIndexLabel...)
	in = binary.AppendUvarint(in, uint64(len(domain)))
	in = append(in, domain...)
	in = append(in, value...)
	out, err := ps.set.PRFs[id].ComputePRF(in, BlindIndexSize)
	if err != nil {
		// newPRFState computed one with every key; only a bug in this
		// package can bring us here, and a nil index would match other
		// nil indexes.
		panic(fmt.Sprintf("keys: blind index under key %d: %v", id, err))
	}
	return out
}

// SealedBy returns the ID of the AEAD key that sealed ciphertext, read from
// Tink's prefix, and false when it carries none.
func (k *Keyring) SealedBy(ciphertext []byte) (uint32, bool) {
	return keyIDOf(ciphertext)
}

// Rotate adds a new AES-256-GCM key to the AEAD keyset, makes it primary, and
// writes the keyset file atomically before using it. Values sealed with
// older keys still open; NeedsReencrypt finds them so they can be moved to
// the new key. Rotate returns with the keyring unchanged if the write fails.
//
// Another process that has the keys loaded (a running bot) keeps the old
// keyset until it restarts.
func (k *Keyring) Rotate() error {
	return k.addPrimary(PurposeAEAD, aead.AES256GCMKeyTemplate())
}

// RotateIndex adds a new HMAC-SHA256 key to the PRF keyset and makes it
// primary: new rows store blind indexes under it, while BlindIndexes keeps
// finding rows indexed under the older keys until the storage package has
// re-indexed them and the old key is retired.
func (k *Keyring) RotateIndex() error {
	return k.addPrimary(PurposePRF, prf.HMACSHA256PRFKeyTemplate())
}

// addPrimary adds a key made from tmpl to the keyset of p and makes it primary.
func (k *Keyring) addPrimary(p Purpose, tmpl *tinkpb.KeyTemplate) error {
	return k.change(p, "rotate", func(m *keyset.Manager, f *keysetFile) error {
		id, err := m.Add(tmpl)
		if err != nil {
			return fmt.Errorf("add key: %w", err)
		}
		if err := m.SetPrimary(id); err != nil {
			return fmt.Errorf("set primary: %w", err)
		}
		f.createdAt[keyIDString(id)] = now()
		return nil
	})
}

// change applies edit to a copy of the keyset of p, checks that the result
// still loads, writes it atomically, and only then uses it. On any error
// the keyring and the file are as they were.
func (k *Keyring) change(p Purpose, what string, edit func(*keyset.Manager, *keysetFile) error) error {
	k.rotateMu.Lock()
	defer k.rotateMu.Unlock()

	old := k.aead.Load().file
	if p == PurposePRF {
		old = k.prf.Load().file
	}
	f := &keysetFile{
		path:        old.path,
		handle:      old.handle, // what edit inspects; replaced by the edited keyset below
		createdAt:   cloneTimes(old.createdAt),
		retiredAt:   cloneTimes(old.retiredAt),
		destroyedAt: cloneTimes(old.destroyedAt),
	}
	m := keyset.NewManagerFromHandle(old.handle)
	if err := edit(m, f); err != nil {
		return fmt.Errorf("%s %s: %w", what, old.path, err)
	}
	h, err := m.Handle()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, old.path, err)
	}
	f.handle = h
	if p == PurposePRF {
		ps, err := newPRFState(f)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := writeKeysetFile(f, k.master); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		k.prf.Store(ps)
		return nil
	}
	st, err := newAEADState(f)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := writeKeysetFile(f, k.master); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	k.aead.Store(st)
	return nil
}

// cloneTimes copies m, never returning nil.
func cloneTimes(m map[string]time.Time) map[string]time.Time {
	if m == nil {
		return make(map[string]time.Time, 1)
	}
	return maps.Clone(m)
}

// now is a key's creation, retirement or destruction time as stored.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }
