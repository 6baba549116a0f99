package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Keys of the meta table.
const (
	metaSentinel  = "sentinel"   // the keys sentinel, sealed by the keys package
	metaCreatedAt = "created_at" // unix milliseconds, decimal
	metaAuditHead = "audit_head" // sealed seq and hash of the last audit entry
)

// Meta holds installation-wide facts: the key sentinel and when the
// installation was created.
type Meta struct {
	db *DB
}

// NewMeta returns the metadata repository of db.
func NewMeta(db *DB) *Meta { return &Meta{db: db} }

// SetSentinel stores the keys sentinel (already sealed by the keys package)
// and, the first time, the installation's creation time. It returns
// ErrConflict if a sentinel is already stored: replacing it would let other
// keys pass the check while the data stays sealed under the old ones.
func (m *Meta) SetSentinel(ctx context.Context, sealed []byte) (err error) {
	defer wrap(&err, "set sentinel")
	if len(sealed) == 0 {
		return fmt.Errorf("%w: empty sentinel", ErrInvalid)
	}
	tx, err := m.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := getMeta(ctx, tx, metaSentinel); err == nil {
		return fmt.Errorf("%w: a key sentinel is already stored", ErrConflict)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := putMeta(ctx, tx, metaSentinel, sealed); err != nil {
		return err
	}
	created := []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		metaCreatedAt, created); err != nil {
		return err
	}
	return tx.Commit()
}

// Sentinel returns the stored keys sentinel, or ErrNotFound if none is.
func (m *Meta) Sentinel(ctx context.Context) (_ []byte, err error) {
	defer wrap(&err, "read sentinel")
	tx, err := m.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return getMeta(ctx, tx, metaSentinel)
}

// CreatedAt returns when the installation's sentinel was first stored, or
// ErrNotFound if it never was.
func (m *Meta) CreatedAt(ctx context.Context) (_ time.Time, err error) {
	defer wrap(&err, "read creation time")
	tx, err := m.db.beginRead(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer tx.Rollback()
	v, err := getMeta(ctx, tx, metaCreatedAt)
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: meta created_at is %q", ErrCorrupt, v)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// HasEncryptedData reports whether any sealed value is stored. A database
// with none can safely be given new keys; one with some cannot.
func (m *Meta) HasEncryptedData(ctx context.Context) (_ bool, err error) {
	defer wrap(&err, "look for encrypted data")
	tx, err := m.db.beginRead(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var found bool
	err = tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM cases) OR
		EXISTS (SELECT 1 FROM case_history) OR
		EXISTS (SELECT 1 FROM scheduled_actions) OR
		EXISTS (SELECT 1 FROM audit_log) OR
		EXISTS (SELECT 1 FROM meta WHERE key = ?)`, metaAuditHead).Scan(&found)
	return found, err
}

// getMeta returns sql.ErrNoRows if key is not stored.
func getMeta(ctx context.Context, tx dbtx, key string) ([]byte, error) {
	var v []byte
	err := tx.QueryRowContext(ctx, sqlGetMeta, key).Scan(&v)
	return v, err
}

func putMeta(ctx context.Context, tx dbtx, key string, value []byte) error {
	_, err := tx.ExecContext(ctx, sqlPutMeta, key, value)
	return err
}

// SentinelResealer moves the key sentinel to the primary keys.
// *keys.Keyring implements it.
type SentinelResealer interface {
	// ResealSentinel returns the sentinel sealed under the primary keys,
	// and whether that differs from sealed. It fails, wrapping
	// keys.ErrWrongKeys, when sealed was not made by these keys.
	ResealSentinel(sealed []byte) (fresh []byte, changed bool, err error)
}

// ResealSentinel stores the key sentinel resealed under k's primary keys,
// so that older keys no longer hold it and can be retired. It returns
// whether it changed anything, and ErrNotFound when there is no sentinel.
func (m *Meta) ResealSentinel(ctx context.Context, k SentinelResealer) (_ bool, err error) {
	defer wrap(&err, "reseal sentinel")
	tx, err := m.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	old, err := getMeta(ctx, tx, metaSentinel)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("%w: the database has no key sentinel", ErrNotFound)
	}
	if err != nil {
		return false, err
	}
	fresh, changed, err := k.ResealSentinel(old)
	if err != nil || !changed {
		return false, err
	}
	if err := putMeta(ctx, tx, metaSentinel, fresh); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
