package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Cipher seals and opens the personal values storage keeps. *keys.Keyring
// implements it; storage never sees key material.
type Cipher interface {
	// Seal encrypts plaintext and binds it to associatedData, which is not
	// stored. It fails only if the keys cannot be used.
	Seal(plaintext, associatedData []byte) ([]byte, error)
	// Open decrypts a ciphertext from Seal. It returns an error wrapping
	// keys.ErrDecrypt if the ciphertext was altered, was sealed with other
	// associated data (it was moved), or was sealed by keys not loaded.
	Open(ciphertext, associatedData []byte) ([]byte, error)
	// BlindIndex returns a keyed, deterministic digest of value, separated
	// by domain, under the primary index key: what a new row stores. It
	// never fails, and the same inputs give the same output until the
	// index keys are rotated.
	BlindIndex(domain string, value []byte) []byte
	// BlindIndexes returns the digest of value under every enabled index
	// key, BlindIndex's first. Lookups match any of them, so a row not yet
	// re-indexed after a rotation of the index keys is still found.
	BlindIndexes(domain string, value []byte) [][]byte
	// NeedsReencrypt reports whether ciphertext was sealed by a key other
	// than the current primary.
	NeedsReencrypt(ciphertext []byte) bool
}

// SentinelChecker proves that keys belong to a database. *keys.Keyring
// implements it.
type SentinelChecker interface {
	// CheckSentinel returns nil if sealed was made by these keys, and an
	// error wrapping keys.ErrWrongKeys otherwise.
	CheckSentinel(sealed []byte) error
}

// ErrNoSentinel means the database holds no key sentinel yet: it was never
// initialised with keys.
var ErrNoSentinel = errors.New("the database has no key sentinel")

// CheckKeys proves that k is the keyring this database was sealed with. It
// returns ErrNoSentinel if the database has none, and otherwise the sentinel
// check's error, wrapped with a message naming keysDir (where the keys were
// loaded from).
func CheckKeys(ctx context.Context, db *DB, k SentinelChecker, keysDir string) error {
	sealed, err := NewMeta(db).Sentinel(ctx)
	if errors.Is(err, ErrNotFound) {
		return ErrNoSentinel
	}
	if err != nil {
		return err
	}
	if err := k.CheckSentinel(sealed); err != nil {
		return fmt.Errorf("the keys in %s do not belong to this database %s: %w", keysDir, db.path, err)
	}
	return nil
}

// userIndexDomain separates user-ID blind indexes from any other use of the
// PRF. Changing it would orphan every stored index.
const userIndexDomain = "user"

// moderatorIndexDomain is the domain of cases' moderator_index: a member's
// index as a moderator differs from their index as a target, so that
// erasing their records as a target leaves no byte of the one in the rows
// of cases they made as a moderator, which stay.
const moderatorIndexDomain = "moderator"

// userIndex is the lookup key stored beside a sealed user ID in a new row.
func userIndex(c Cipher, userID string) []byte {
	return c.BlindIndex(userIndexDomain, []byte(userID))
}

// userIndexes are the lookup keys a stored row of userID may carry: one,
// or during a rotation of the index keys one per enabled key.
func userIndexes(c Cipher, userID string) [][]byte {
	return c.BlindIndexes(userIndexDomain, []byte(userID))
}

// indexIn is the SQL condition "col holds one of idx", with its arguments.
// It reads "col = ?" for the single index of normal times, which is the
// form the prepared statements use.
func indexIn(col string, idx [][]byte) (string, []any) {
	args := make([]any, len(idx))
	for i, b := range idx {
		args[i] = b
	}
	if len(idx) == 1 {
		return col + ` = ?`, args
	}
	return col + ` IN (?` + strings.Repeat(`, ?`, len(idx)-1) + `)`, args
}

// seal encrypts a string under ad.
func seal(c Cipher, plaintext string, ad []byte) ([]byte, error) {
	ct, err := c.Seal([]byte(plaintext), ad)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", ad, err)
	}
	return ct, nil
}

// open decrypts a value sealed by seal. A failure is reported as tampering,
// naming the row (ad names no person) and wrapping the keys error.
func open(c Cipher, ciphertext, ad []byte) (string, error) {
	pt, err := c.Open(ciphertext, ad)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrTampered, ad, err)
	}
	return string(pt), nil
}

// Associated data. Each names table, column and a natural key of the row that
// is known before the row is inserted (never the rowid, which is assigned by
// the insert and would let a dump-and-reload change it).

func adCase(col, guildID string, number int64) []byte {
	return []byte("cases/" + col + "/" + guildID + "/" + strconv.FormatInt(number, 10))
}

func adMessageLink(col, guildID string, number int64) []byte {
	return []byte("case_message_links/" + col + "/" + guildID + "/" + strconv.FormatInt(number, 10))
}

func adHistory(col, guildID string, number, revision int64) []byte {
	return []byte("case_history/" + col + "/" + guildID + "/" +
		strconv.FormatInt(number, 10) + "/" + strconv.FormatInt(revision, 10))
}

func adScheduled(col string, nonce []byte) []byte {
	return []byte("scheduled_actions/" + col + "/" + hex.EncodeToString(nonce))
}

func adAudit(col string, seq int64) []byte {
	return []byte("audit_log/" + col + "/" + strconv.FormatInt(seq, 10))
}

func adMeta(key string) []byte {
	return []byte("meta/value/" + key)
}
