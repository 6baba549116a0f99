package keys

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"path/filepath"
)

// The sentinel is a small value sealed at `bot init` and stored with the
// data. Opening it at every start, backup and restore proves that the keys
// match the data before anything else is read or written.
const (
	sentinelMagic = "github.com/modbot/bot/keys sentinel v1\x00"
	sentinelAD    = "metadata/sentinel"
	sentinelIDLen = 16
)

// NewSentinel seals a fixed magic, a random installation ID and the blind
// index of that ID, with associated data "metadata/sentinel". The blind
// index lets CheckSentinel prove that the PRF keyset matches as well as the
// AEAD keyset.
func (k *Keyring) NewSentinel() ([]byte, error) {
	id := make([]byte, sentinelIDLen)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("new sentinel: %w", err)
	}
	return k.sealSentinel(id)
}

// sealSentinel seals the sentinel of installation id under the primary
// keys of both keysets.
func (k *Keyring) sealSentinel(id []byte) ([]byte, error) {
	pt := make([]byte, 0, len(sentinelMagic)+sentinelIDLen+BlindIndexSize)
	pt = append(pt, sentinelMagic...)
	pt = append(pt, id...)
	pt = append(pt, k.BlindIndex("sentinel", id)...)
	sealed, err := k.Seal(pt, []byte(sentinelAD))
	if err != nil {
		return nil, fmt.Errorf("seal sentinel: %w", err)
	}
	return sealed, nil
}

// CheckSentinel returns nil when sealed was made by NewSentinel with these
// keys, and an error wrapping ErrWrongKeys otherwise. The sentinel's blind
// index may be under any enabled PRF key: after RotateIndex it keeps the
// old key's until ResealSentinel moves it.
func (k *Keyring) CheckSentinel(sealed []byte) error {
	_, _, err := k.SentinelKeys(sealed)
	return err
}

// SentinelKeys checks sealed as CheckSentinel does and returns the IDs of
// the AEAD key that sealed it and of the PRF key of its blind index, so
// that a key still holding the sentinel is not retired.
func (k *Keyring) SentinelKeys(sealed []byte) (aeadID, prfID uint32, err error) {
	_, aeadID, prfID, err = k.openSentinel(sealed)
	return aeadID, prfID, err
}

// ResealSentinel returns the sentinel sealed moves to: the same
// installation ID sealed under the primary AEAD key, with its blind index
// under the primary PRF key. changed is false, and fresh is sealed, when it
// already uses both; otherwise the caller stores fresh in place of sealed,
// after which older keys no longer hold it. It fails as CheckSentinel does.
func (k *Keyring) ResealSentinel(sealed []byte) (fresh []byte, changed bool, err error) {
	id, aeadID, prfID, err := k.openSentinel(sealed)
	if err != nil {
		return nil, false, err
	}
	if aeadID == k.PrimaryKeyID(PurposeAEAD) && prfID == k.PrimaryKeyID(PurposePRF) {
		return sealed, false, nil
	}
	fresh, err = k.sealSentinel(id)
	return fresh, err == nil, err
}

// openSentinel opens and checks sealed, and returns the installation ID and
// the keys it uses.
func (k *Keyring) openSentinel(sealed []byte) (id []byte, aeadID, prfID uint32, err error) {
	advice := "use the keys directory that belongs to this database (a backup's keys go with that backup), with the master key it was created with"
	pt, err := k.Open(sealed, []byte(sentinelAD))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("check sentinel: %w: the keys in %s did not seal this data (%v); %s", ErrWrongKeys, k.dir, err, advice)
	}
	want := len(sentinelMagic) + sentinelIDLen + BlindIndexSize
	if len(pt) != want || !bytes.HasPrefix(pt, []byte(sentinelMagic)) {
		return nil, 0, 0, fmt.Errorf("check sentinel: %w: the stored sentinel is not one this bot wrote; %s", ErrWrongKeys, advice)
	}
	id = pt[len(sentinelMagic) : len(sentinelMagic)+sentinelIDLen]
	prfID, ok := k.IndexedBy("sentinel", id, pt[len(sentinelMagic)+sentinelIDLen:])
	if !ok {
		path := k.prf.Load().file.path
		return nil, 0, 0, fmt.Errorf("check sentinel: %w: %s belongs to this data but %s does not (the files come from different installations, or the PRF key that indexed the sentinel was retired); restore %s from the same backup",
			ErrWrongKeys, filepath.Join(k.dir, AEADFile), path, path)
	}
	aeadID, _ = keyIDOf(sealed)
	return id, aeadID, prfID, nil
}
