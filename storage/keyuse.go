package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeyInspector tells which key made a stored value, so that a key still
// in use is not retired. *keys.Keyring implements it.
type KeyInspector interface {
	Cipher
	// SealedBy returns the ID of the encryption key that sealed
	// ciphertext, and false when the ciphertext names none.
	SealedBy(ciphertext []byte) (keyID uint32, ok bool)
	// IndexedBy returns the ID of the enabled index key under which index
	// is the blind index of value in domain, and false when none is.
	IndexedBy(domain string, value, index []byte) (keyID uint32, ok bool)
	// SentinelKeys checks the key sentinel and returns the IDs of the
	// encryption key that sealed it and of the index key of its blind
	// index; it fails as SentinelChecker.CheckSentinel does.
	SentinelKeys(sealed []byte) (aeadID, prfID uint32, err error)
}

// KeyUsage says what in the database still uses one key.
type KeyUsage struct {
	// KeyID is the key counted.
	KeyID uint32
	// Tables maps a table name to how many of its values (sealed values,
	// blind indexes or audit chain hashes) use the key.
	Tables map[string]int
	// Sentinel is set when the key sentinel uses the key.
	Sentinel bool
}

// InUse reports whether anything uses the key.
func (u KeyUsage) InUse() bool { return u.Sentinel || u.Total() > 0 }

// Total is the number of values that use the key, the sentinel aside.
func (u KeyUsage) Total() int {
	n := 0
	for _, c := range u.Tables {
		n += c
	}
	return n
}

// String names what uses the key, for example "3 values (2 in cases, 1 in
// audit_log) and the key sentinel".
func (u KeyUsage) String() string {
	names := make([]string, 0, len(u.Tables))
	for t, n := range u.Tables {
		if n > 0 {
			names = append(names, t)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, t := range names {
		parts = append(parts, fmt.Sprintf("%d in %s", u.Tables[t], t))
	}
	s := ""
	if len(parts) > 0 {
		s = fmt.Sprintf("%d values (%s)", u.Total(), strings.Join(parts, ", "))
	}
	switch {
	case u.Sentinel && s != "":
		return s + " and the key sentinel"
	case u.Sentinel:
		return "the key sentinel"
	case s == "":
		return "nothing"
	}
	return s
}

// usageBatch is how many rows a usage count reads per query.
const usageBatch = 1000

// SealedKeyUsage counts the sealed values, in every table, that encryption
// key keyID sealed, and whether it sealed the key sentinel. It reads in
// one read transaction, so the count is of one moment. A command that
// retires the key holds the data directory's lock, so nothing is sealed
// under the key after the count.
func (db *DB) SealedKeyUsage(ctx context.Context, k KeyInspector, keyID uint32) (_ KeyUsage, err error) {
	defer wrap(&err, fmt.Sprintf("count values sealed by key %d", keyID))
	tx, err := db.beginRead(ctx)
	if err != nil {
		return KeyUsage{}, err
	}
	defer tx.Rollback()
	u := KeyUsage{KeyID: keyID, Tables: map[string]int{}}
	for _, t := range sealedTables {
		var cursor int64
		for {
			rows, err := readSealedRows(ctx, tx, t, cursor, usageBatch)
			if err != nil {
				return KeyUsage{}, err
			}
			for _, r := range rows {
				cursor = r.rowid
				for i, col := range t.columns {
					if r.values[i] == nil || t.ad(col, r.keys) == nil {
						continue
					}
					if id, ok := k.SealedBy(r.values[i]); ok && id == keyID {
						u.Tables[t.name]++
					}
				}
			}
			if len(rows) < usageBatch {
				break
			}
		}
	}
	aeadID, _, err := sentinelKeys(ctx, tx, k)
	if err != nil {
		return KeyUsage{}, err
	}
	u.Sentinel = aeadID == keyID
	return u, nil
}

// IndexKeyUsage counts the blind indexes (in every lookup column) and the
// audit chain hashes made with index key keyID, and whether the sentinel's
// blind index is. It opens each user ID to recompute its index, since an
// index does not name its key.
func (db *DB) IndexKeyUsage(ctx context.Context, k KeyInspector, keyID uint32) (_ KeyUsage, err error) {
	defer wrap(&err, fmt.Sprintf("count blind indexes made with key %d", keyID))
	tx, err := db.beginRead(ctx)
	if err != nil {
		return KeyUsage{}, err
	}
	defer tx.Rollback()
	u := KeyUsage{KeyID: keyID, Tables: map[string]int{}}
	for _, ic := range indexedColumns {
		var cursor int64
		for {
			rows, err := readIndexedRows(ctx, tx, ic, cursor, usageBatch)
			if err != nil {
				return KeyUsage{}, err
			}
			for _, r := range rows {
				cursor = r.rowid
				pt, err := ic.open(k, r)
				if err != nil {
					return KeyUsage{}, err
				}
				if id, ok := k.IndexedBy(ic.domain, pt, r.index); ok && id == keyID {
					u.Tables[ic.table.name]++
				}
			}
			if len(rows) < usageBatch {
				break
			}
		}
	}
	err = walkAudit(ctx, tx, k, func(prev []byte, e AuditEntry, hash []byte) error {
		if id, ok := k.IndexedBy(auditChainDomain, chainInput(prev, e), hash); ok && id == keyID {
			u.Tables["audit_log"]++
		}
		return nil
	})
	if err != nil {
		return KeyUsage{}, err
	}
	_, prfID, err := sentinelKeys(ctx, tx, k)
	if err != nil {
		return KeyUsage{}, err
	}
	u.Sentinel = prfID == keyID
	return u, nil
}

// sentinelKeys returns the keys of the stored sentinel, zeros without one.
func sentinelKeys(ctx context.Context, tx dbtx, k KeyInspector) (aeadID, prfID uint32, err error) {
	sealed, err := getMeta(ctx, tx, metaSentinel)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return k.SentinelKeys(sealed)
}

// walkAudit calls fn for every audit entry in order, with the stored hash
// of the entry before it (zeros for the first), and stops at the first
// entry that does not open, is missing, or whose hash matches no enabled
// index key: re-keying must not launder a broken chain.
func walkAudit(ctx context.Context, tx dbtx, c Cipher, fn func(prev []byte, e AuditEntry, hash []byte) error) error {
	prev := make([]byte, hashSize)
	var seq int64
	for {
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, guild_id, actor, action, details, hash
			FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, seq, usageBatch)
		if err != nil {
			return err
		}
		var batch []auditRow
		for rows.Next() {
			var r auditRow
			if err := rows.Scan(&r.seq, &r.at, &r.guild, &r.actor, &r.action, &r.details, &r.hash); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range batch {
			if r.seq != seq+1 {
				return fmt.Errorf("%w: %w; run 'bot audit verify'", ErrTampered, &ChainError{Seq: seq + 1, Reason: "missing"})
			}
			e, err := r.entry(c)
			if err != nil {
				return fmt.Errorf("%w: %w; run 'bot audit verify'", ErrTampered, &ChainError{Seq: r.seq, Reason: "does not decrypt"})
			}
			if !chainHashMatches(c, prev, e, r.hash) {
				return fmt.Errorf("%w: %w; run 'bot audit verify'", ErrTampered, &ChainError{Seq: r.seq, Reason: "hash mismatch"})
			}
			if err := fn(prev, e, r.hash); err != nil {
				return err
			}
			prev, seq = bytes.Clone(r.hash), r.seq
		}
		if len(batch) < usageBatch {
			return nil
		}
	}
}
