package keys

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status describes the keysets for `bot keys status`. It holds no secret.
type Status struct {
	// Dir is the keys directory.
	Dir string `json:"dir"`
	// MasterKey is true when a master key encrypts the keysets on disk.
	MasterKey bool `json:"master_key"`
	// AEAD is the keyset that seals field values.
	AEAD KeysetStatus `json:"aead"`
	// PRF is the keyset behind blind indexes.
	PRF KeysetStatus `json:"prf"`
}

// KeysetStatus describes one keyset file.
type KeysetStatus struct {
	// Path is the keyset file.
	Path string `json:"path"`
	// ID is the keyset's primary key ID, which Tink uses as the keyset's
	// identity; it changes on rotation.
	ID uint32 `json:"id"`
	// Keys lists every key, oldest first as Tink stores them.
	Keys []KeyStatus `json:"keys"`
}

// KeyStatus describes one key of a keyset.
type KeyStatus struct {
	// ID is the Tink key ID, the one carried in ciphertext prefixes.
	ID uint32 `json:"id"`
	// Type is the Tink key type, such as "AesGcmKey" or "HmacPrfKey".
	Type string `json:"type"`
	// Status is "enabled", "disabled" or "destroyed".
	Status string `json:"status"`
	// Primary is true for the key that seals new values.
	Primary bool `json:"primary"`
	// CreatedAt is when the key was made; zero if unknown.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// RetiredAt is when the key was retired (disabled); zero if it is not.
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// DestroyedAt is when the key's material was removed; zero if it was not.
	DestroyedAt time.Time `json:"destroyed_at,omitzero"`
}

// Status describes the loaded keysets.
func (k *Keyring) Status() Status {
	return Status{
		Dir:       k.dir,
		MasterKey: k.master != nil,
		AEAD:      keysetStatus(k.aead.Load().file),
		PRF:       keysetStatus(k.prf.Load().file),
	}
}

func keysetStatus(f *keysetFile) KeysetStatus {
	info := f.handle.KeysetInfo()
	s := KeysetStatus{Path: f.path, ID: info.GetPrimaryKeyId()}
	for _, ki := range info.GetKeyInfo() {
		url := ki.GetTypeUrl()
		id := keyIDString(ki.GetKeyId())
		s.Keys = append(s.Keys, KeyStatus{
			ID:        ki.GetKeyId(),
			Type:      url[strings.LastIndex(url, ".")+1:],
			Status:    strings.ToLower(ki.GetStatus().String()),
			Primary:   ki.GetKeyId() == info.GetPrimaryKeyId(),
			CreatedAt: f.createdAt[id],
			RetiredAt: f.retiredAt[id],
		})
	}
	// Tink keeps nothing of a deleted key; the envelope remembers it, so
	// that an owner can tell a destroyed key from one never known.
	var gone []KeyStatus
	for id, at := range f.destroyedAt {
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			continue
		}
		gone = append(gone, KeyStatus{ID: uint32(n), Status: "destroyed", CreatedAt: f.createdAt[id], RetiredAt: f.retiredAt[id], DestroyedAt: at})
	}
	slices.SortFunc(gone, func(a, b KeyStatus) int { return a.DestroyedAt.Compare(b.DestroyedAt) })
	s.Keys = append(s.Keys, gone...)
	return s
}
