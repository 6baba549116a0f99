package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/crypto/argon2"
	"google.golang.org/protobuf/proto"
)

// A bundle carries both keysets inside a backup, so that one file restores a
// fresh machine. The keysets travel in clear Tink JSON inside, sealed with
// AES-256-GCM under a key derived from a passphrase with argon2id: a backup
// copied off the machine is then only as readable as the passphrase is weak,
// and a memory-hard KDF makes guessing it expensive.

// ErrWrongPassphrase is returned by OpenBundle and ImportBundle when the
// passphrase does not open the bundle. AES-GCM cannot tell a wrong passphrase
// from a bundle that was altered; the message says so.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// MinPassphraseLen is the shortest passphrase, in characters, that
// ExportBundle accepts. The KDF slows guessing down; it cannot save a short
// passphrase.
const MinPassphraseLen = 12

// KDFParams are the argon2id costs a bundle is sealed with.
type KDFParams struct {
	Time      uint32 `json:"time"`       // passes over memory
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`    // lanes
}

// DefaultBundleKDF returns the cost of new bundles: RFC 9106's second
// recommended setting (t=3, 64 MiB), slow enough to make guessing a
// passphrase expensive and quick enough for a backup or a restore. The
// parameters are stored in each bundle, so changing them never breaks old
// bundles.
func DefaultBundleKDF() KDFParams {
	return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// Limits on argon2id parameters, for bundles sealed here and bundles read
// from a file alike. A crafted backup could otherwise make `bot restore`
// allocate gigabytes or spin for hours on a small machine. The default cost
// is well inside them; anything above is not a bundle this bot made.
const (
	maxKDFTime      = 10
	maxKDFMemoryKiB = 256 * 1024 // 256 MiB
	maxKDFThreads   = 16
	minKDFMemoryKiB = 8 // per thread: argon2's own floor
)

// inRange reports whether p is within the limits above. ExportBundle and
// OpenBundle both call it, so every bundle made here opens, and the check
// comes before argon2 allocates anything.
func (p KDFParams) inRange() bool {
	return p.Time >= 1 && p.Time <= maxKDFTime &&
		p.Threads >= 1 && p.Threads <= maxKDFThreads &&
		p.MemoryKiB >= minKDFMemoryKiB*uint32(p.Threads) && p.MemoryKiB <= maxKDFMemoryKiB
}

// kdfLimits describes the limits of inRange in messages.
func kdfLimits() string {
	return fmt.Sprintf("1 to %d passes, 1 to %d threads, %d KiB per thread to %d MiB of memory",
		maxKDFTime, maxKDFThreads, minKDFMemoryKiB, maxKDFMemoryKiB/1024)
}

const (
	bundleFormat = 1
	bundleKDF    = "argon2id"
	bundleAD     = "github.com/modbot/bot/keys bundle v1"
	saltSize     = 16
	// bundleDir names the bundle's keys in messages, where a directory
	// would otherwise be named.
	bundleDir = "the keys bundle inside the backup"
)

// bundleFile is the JSON document ExportBundle returns.
type bundleFile struct {
	Format int       `json:"format"`
	KDF    string    `json:"kdf"`
	Params KDFParams `json:"params"`
	Salt   []byte    `json:"salt"`
	Nonce  []byte    `json:"nonce"`
	Sealed []byte    `json:"sealed"`
}

// bundleContent is what bundleFile.Sealed decrypts to: each keyset file's
// envelope, with the keyset in clear.
type bundleContent struct {
	AEAD json.RawMessage `json:"aead"`
	PRF  json.RawMessage `json:"prf"`
}

// ExportBundle reads the keysets in dir (opening them with masterKey when it
// is not nil) and returns them sealed under passphrase. The result is
// self-describing JSON for ImportBundle and OpenBundle. kdf is the cost of
// deriving the key from the passphrase; the zero value means
// DefaultBundleKDF. It refuses a passphrase shorter than MinPassphraseLen
// characters.
func ExportBundle(dir string, masterKey, passphrase []byte, kdf KDFParams) ([]byte, error) {
	if kdf == (KDFParams{}) {
		kdf = DefaultBundleKDF()
	}
	if !kdf.inRange() {
		return nil, fmt.Errorf("export keys: argon2id parameters %+v are out of the range a bundle may use (%s); choose a cost inside it",
			kdf, kdfLimits())
	}
	if n := utf8.RuneCount(passphrase); n < MinPassphraseLen {
		return nil, fmt.Errorf("export keys: the passphrase has %d characters, want at least %d; choose a longer one (several words are easy to remember)",
			n, MinPassphraseLen)
	}
	master, err := optsMaster(Options{Dir: dir, MasterKey: masterKey})
	if err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	var content bundleContent
	files := make(map[string]*keysetFile, 2)
	for _, name := range []string{AEADFile, PRFFile} {
		f, err := readKeysetFile(dir, name, master)
		if err != nil {
			return nil, fmt.Errorf("export keys: %w", err)
		}
		files[name] = f
	}
	// Refuse to export keysets that would not load, rather than find out
	// at restore time.
	if _, err := newKeyring(dir, nil, files[AEADFile], files[PRFFile]); err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	if content.AEAD, err = clearEnvelope(files[AEADFile]); err != nil {
		return nil, err
	}
	if content.PRF, err = clearEnvelope(files[PRFFile]); err != nil {
		return nil, err
	}
	plain, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	defer clear(plain)

	b := bundleFile{Format: bundleFormat, KDF: bundleKDF, Params: kdf,
		Salt: make([]byte, saltSize)}
	if _, err := rand.Read(b.Salt); err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	gcm, err := bundleAEAD(passphrase, b.Salt, b.Params)
	if err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	b.Nonce = make([]byte, gcm.NonceSize())
	if _, err := rand.Read(b.Nonce); err != nil {
		return nil, fmt.Errorf("export keys: %w", err)
	}
	b.Sealed = gcm.Seal(nil, b.Nonce, plain, []byte(bundleAD))
	return json.Marshal(b)
}

// OpenBundle decrypts a bundle and returns its keys as a keyring, without
// writing anything: restore uses it to prove that the keys open a backup
// before installing them. It returns ErrWrongPassphrase when the passphrase
// does not open the bundle, and ErrCorrupt when the bundle is unreadable.
func OpenBundle(bundle, passphrase []byte) (*Keyring, error) {
	aeadFile, prfFile, err := openBundle(bundle, passphrase, bundleDir)
	if err != nil {
		return nil, err
	}
	return newKeyring(bundleDir, nil, aeadFile, prfFile)
}

// ImportBundle installs the keysets of bundle into destDir (created 0700 if
// needed), each file written atomically with mode 0600 and encrypted under
// masterKey when it is not nil. If destDir already holds the same keys it
// does nothing. It returns ErrExist, and writes nothing, if destDir holds
// other keys: they may be the only keys to some data, so the caller must move
// them aside first. Errors of OpenBundle are returned as they are.
func ImportBundle(bundle, passphrase []byte, destDir string, masterKey []byte) error {
	master, err := optsMaster(Options{Dir: destDir, MasterKey: masterKey})
	if err != nil {
		return fmt.Errorf("import keys: %w", err)
	}
	aeadFile, prfFile, err := openBundle(bundle, passphrase, destDir)
	if err != nil {
		return err
	}
	if _, err := newKeyring(destDir, master, aeadFile, prfFile); err != nil {
		return fmt.Errorf("import keys: %w", err)
	}
	exists, err := Exists(destDir)
	if err != nil {
		return fmt.Errorf("import keys: %w", err)
	}
	if exists {
		same, err := sameKeys(destDir, master, aeadFile, prfFile)
		if err != nil {
			return fmt.Errorf("import keys: %w: %s already holds keys, and they could not be compared with the backup's (%v); move that directory aside first",
				ErrExist, destDir, err)
		}
		if !same {
			return fmt.Errorf("import keys: %w: %s holds other keys than the backup; they may be the only keys to other data, so move that directory aside first",
				ErrExist, destDir)
		}
		return nil
	}
	if err := os.MkdirAll(destDir, 0o700); err != nil {
		return fmt.Errorf("import keys: create %s: %w; make its parent writable by the user that runs bot", destDir, err)
	}
	var written []string
	for _, f := range []*keysetFile{prfFile, aeadFile} {
		if err := writeKeysetFile(f, master); err != nil {
			// Leave no half set behind: a lone keyset blocks the next try.
			for _, p := range written {
				os.Remove(p)
			}
			return fmt.Errorf("import keys: %w", err)
		}
		written = append(written, f.path)
	}
	return nil
}

// openBundle decrypts bundle and parses its keysets as files of dir.
func openBundle(bundle, passphrase []byte, dir string) (aeadFile, prfFile *keysetFile, err error) {
	damaged := "the keys bundle in this backup is damaged; use another backup, or restore the keys directory by hand"
	var b bundleFile
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, nil, fmt.Errorf("open keys bundle: %w: %v; %s", ErrCorrupt, err, damaged)
	}
	if b.Format > bundleFormat {
		return nil, nil, fmt.Errorf("open keys bundle: %w: format %d is newer than this bot understands (%d); upgrade bot",
			ErrCorrupt, b.Format, bundleFormat)
	}
	p := b.Params
	if b.Format < 1 || b.KDF != bundleKDF || len(b.Salt) < saltSize {
		return nil, nil, fmt.Errorf("open keys bundle: %w: unsupported parameters (kdf %q, format %d); %s",
			ErrCorrupt, b.KDF, b.Format, damaged)
	}
	if !p.inRange() {
		// Checked before argon2 runs: the parameters come from the file,
		// and honouring them would let the file choose how much memory
		// and time this process spends.
		return nil, nil, fmt.Errorf("open keys bundle: %w: not a bundle this bot made: its argon2id cost (%d passes, %d threads, %d KiB) is outside %s; "+
			"use a backup made by 'bot backup --with-keys'", ErrCorrupt, p.Time, p.Threads, p.MemoryKiB, kdfLimits())
	}
	gcm, err := bundleAEAD(passphrase, b.Salt, p)
	if err != nil {
		return nil, nil, fmt.Errorf("open keys bundle: %w", err)
	}
	if len(b.Nonce) != gcm.NonceSize() {
		return nil, nil, fmt.Errorf("open keys bundle: %w: bad nonce; %s", ErrCorrupt, damaged)
	}
	plain, err := gcm.Open(nil, b.Nonce, b.Sealed, []byte(bundleAD))
	if err != nil {
		return nil, nil, fmt.Errorf("open keys bundle: %w: the passphrase does not open the keys in this backup; check it "+
			"(from BOT_BACKUP_PASSPHRASE or typed at the prompt) and try again. A bundle altered since the backup fails the same way",
			ErrWrongPassphrase)
	}
	defer clear(plain)
	var c bundleContent
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, nil, fmt.Errorf("open keys bundle: %w: %v; %s", ErrCorrupt, err, damaged)
	}
	if aeadFile, err = parseClearEnvelope(c.AEAD, dir, AEADFile); err != nil {
		return nil, nil, err
	}
	if prfFile, err = parseClearEnvelope(c.PRF, dir, PRFFile); err != nil {
		return nil, nil, err
	}
	return aeadFile, prfFile, nil
}

// bundleAEAD derives the AES-256-GCM key from passphrase.
func bundleAEAD(passphrase, salt []byte, p KDFParams) (cipher.AEAD, error) {
	key := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// clearEnvelope serializes f as a keyset file would be written without a
// master key: the same envelope, so the bundle's content is what the keys
// directory itself holds.
func clearEnvelope(f *keysetFile) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(f.handle, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("export keys: serialize %s: %w", f.path, err)
	}
	name := filepath.Base(f.path)
	return json.Marshal(envelope{Format: fileFormat, Purpose: purposeOf(name), CreatedAt: f.createdAt,
		RetiredAt: f.retiredAt, DestroyedAt: f.destroyedAt, Keyset: buf.Bytes()})
}

// parseClearEnvelope is the reverse of clearEnvelope, for the file name in dir.
func parseClearEnvelope(raw json.RawMessage, dir, name string) (*keysetFile, error) {
	bad := func(why string) error {
		return fmt.Errorf("open keys bundle: %w: %s %s; use another backup, or restore the keys directory by hand", ErrCorrupt, name, why)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, bad("is unreadable")
	}
	if env.Format < 1 || env.Format > fileFormat || env.Purpose != purposeOf(name) {
		return nil, bad("is not a keyset this bot understands")
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(env.Keyset)))
	if err != nil {
		return nil, bad("holds an unreadable keyset")
	}
	return &keysetFile{path: filepath.Join(dir, name), handle: h, createdAt: env.CreatedAt,
		retiredAt: env.RetiredAt, destroyedAt: env.DestroyedAt}, nil
}

// sameKeys reports whether dir holds exactly the key material of aeadFile
// and prfFile.
func sameKeys(dir string, master tink.AEAD, aeadFile, prfFile *keysetFile) (bool, error) {
	for _, want := range []*keysetFile{aeadFile, prfFile} {
		got, err := readKeysetFile(dir, filepath.Base(want.path), master)
		if err != nil {
			return false, err
		}
		if !proto.Equal(insecurecleartextkeyset.KeysetMaterial(got.handle), insecurecleartextkeyset.KeysetMaterial(want.handle)) {
			return false, nil
		}
	}
	return true, nil
}
