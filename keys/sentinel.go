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
	pt := make([]byte, 0, len(sentinelMagic)+sentinelIDLen+BlindIndexSize)
	pt = append(pt, sentinelMagic...)
	pt = append(pt, id...)
	pt = append(pt, k.BlindIndex("sentinel", id)...)
	sealed, err := k.Seal(pt, []byte(sentinelAD))
	if err != nil {
		return nil, fmt.Errorf("new sentinel: %w", err)
	}
	return sealed, nil
}

// CheckSentinel returns nil when sealed was made by NewSentinel with these
// keys, and an error wrapping ErrWrongKeys otherwise.
func (k *Keyring) CheckSentinel(sealed []byte) error {
	advice := "use the keys directory that belongs to this database (a backup's keys go with that backup), with the master key it was created with"
	pt, err := k.Open(sealed, []byte(sentinelAD))
	if err != nil {
		return fmt.Errorf("check sentinel: %w: the keys in %s did not seal this data; %s", ErrWrongKeys, k.dir, advice)
	}
	want := len(sentinelMagic) + sentinelIDLen + BlindIndexSize
	if len(pt) != want || !bytes.HasPrefix(pt, []byte(sentinelMagic)) {
		return fmt.Errorf("check sentinel: %w: the stored sentinel is not one this bot wrote; %s", ErrWrongKeys, advice)
	}
	id := pt[len(sentinelMagic) : len(sentinelMagic)+sentinelIDLen]
	if !bytes.Equal(pt[len(sentinelMagic)+sentinelIDLen:], k.BlindIndex("sentinel", id)) {
		return fmt.Errorf("check sentinel: %w: %s belongs to this data but %s does not (the files come from different installations); restore %s from the same backup",
			ErrWrongKeys, filepath.Join(k.dir, AEADFile), k.prf.file.path, k.prf.file.path)
	}
	return nil
}
