package keys

import (
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// Purpose names one of the two keysets.
type Purpose string

// The two keysets.
const (
	// PurposeAEAD is the keyset that seals field values (AEADFile).
	PurposeAEAD Purpose = "aead"
	// PurposePRF is the keyset behind blind indexes (PRFFile).
	PurposePRF Purpose = "prf"
)

// Errors of the key lifecycle, wrapped with a message that says what to do.
var (
	// ErrUnknownKey is returned when no keyset holds the key ID given.
	ErrUnknownKey = errors.New("no such key")
	// ErrPrimaryKey is returned when asked to retire or destroy a primary
	// key: it seals (or indexes) every new value.
	ErrPrimaryKey = errors.New("the primary key cannot be retired")
	// ErrKeyEnabled is returned by Destroy for a key that is not retired
	// yet: retiring first is what proves nothing uses it.
	ErrKeyEnabled = errors.New("the key is not retired")
)

// KeyPurpose returns which keyset holds key id. It returns ErrUnknownKey
// when neither does, and an error when both do (Tink draws key IDs at
// random per keyset, so two can meet), since every later step depends on
// knowing which one is meant.
func (k *Keyring) KeyPurpose(id uint32) (Purpose, error) {
	inAEAD := hasKey(k.aead.Load().file, id)
	inPRF := hasKey(k.prf.Load().file, id)
	switch {
	case inAEAD && inPRF:
		return "", fmt.Errorf("key %d is in both %s and %s (IDs are drawn at random per keyset, so this is rare), so an ID cannot say which to retire; leave this key enabled",
			id, AEADFile, PRFFile)
	case inAEAD:
		return PurposeAEAD, nil
	case inPRF:
		return PurposePRF, nil
	}
	return "", fmt.Errorf("key %d: %w in %s; 'bot keys status' lists the key IDs", id, ErrUnknownKey, k.dir)
}

// PrimaryKeyID returns the ID of the primary key of the keyset of p.
func (k *Keyring) PrimaryKeyID(p Purpose) uint32 {
	if p == PurposePRF {
		return k.prf.Load().set.PrimaryID
	}
	return k.aead.Load().primaryID
}

// Retire disables key id, so that it opens (or indexes) nothing from now
// on, and writes the keyset atomically. The key's material stays in the
// file until Destroy. Retiring a key that is already retired does nothing.
//
// Retire does not know what the data uses: the caller must first prove
// that no value, blind index or sentinel still uses the key (the storage
// package counts them). It refuses the primary key with ErrPrimaryKey.
func (k *Keyring) Retire(id uint32) error {
	p, err := k.KeyPurpose(id)
	if err != nil {
		return fmt.Errorf("retire: %w", err)
	}
	return k.change(p, "retire", func(m *keyset.Manager, f *keysetFile) error {
		switch keyStatus(f, id) {
		case tinkpb.KeyStatusType_DISABLED:
			return nil
		case tinkpb.KeyStatusType_ENABLED:
		default:
			return fmt.Errorf("key %d is %s and cannot be retired", id, keyStatus(f, id))
		}
		if f.handle.KeysetInfo().GetPrimaryKeyId() == id {
			return fmt.Errorf("key %d: %w: it seals new values; rotate first ('bot keys rotate'%s), move the data to the new key, then retire this one",
				id, ErrPrimaryKey, map[Purpose]string{PurposeAEAD: "", PurposePRF: " --index"}[p])
		}
		if err := m.Disable(id); err != nil {
			return err
		}
		f.retiredAt[keyIDString(id)] = now()
		return nil
	})
}

// Destroy removes the material of retired key id from its keyset for
// good: values it sealed can then be read only from a backup that holds
// it. It returns ErrKeyEnabled for a key that is not retired.
func (k *Keyring) Destroy(id uint32) error {
	p, err := k.KeyPurpose(id)
	if err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	return k.change(p, "destroy", func(m *keyset.Manager, f *keysetFile) error {
		if keyStatus(f, id) != tinkpb.KeyStatusType_DISABLED {
			return fmt.Errorf("key %d: %w; run 'bot keys retire %d' first, which checks that nothing uses it", id, ErrKeyEnabled, id)
		}
		if err := m.Delete(id); err != nil {
			return err
		}
		f.destroyedAt[keyIDString(id)] = now()
		return nil
	})
}

// hasKey reports whether f's keyset holds key id in any state.
func hasKey(f *keysetFile, id uint32) bool {
	return keyStatus(f, id) != tinkpb.KeyStatusType_UNKNOWN_STATUS
}

// keyStatus is the Tink status of key id in f, UNKNOWN_STATUS if absent.
func keyStatus(f *keysetFile, id uint32) tinkpb.KeyStatusType {
	for _, ki := range f.handle.KeysetInfo().GetKeyInfo() {
		if ki.GetKeyId() == id {
			return ki.GetStatus()
		}
	}
	return tinkpb.KeyStatusType_UNKNOWN_STATUS
}
