package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// indexedColumn is a lookup column: a blind index of the user ID sealed in
// source, on the same row.
type indexedColumn struct {
	table  sealedTable
	index  string // the blind-index column
	source string // the sealed column whose plaintext it indexes
	domain string // of the blind index
}

// indexedColumns lists every blind-index column. A migration that adds one
// must add it here, or Reindex would leave it under the old index key and
// lookups through it would stop matching once that key is retired.
var indexedColumns = []indexedColumn{
	{table: sealedTableNamed("cases"), index: "target_index", source: "target_id", domain: userIndexDomain},
	{table: sealedTableNamed("cases"), index: "moderator_index", source: "moderator_id", domain: moderatorIndexDomain},
	{table: sealedTableNamed("scheduled_actions"), index: "target_index", source: "target_id", domain: userIndexDomain},
}

// sealedTableNamed returns the entry of sealedTables for name.
func sealedTableNamed(name string) sealedTable {
	for _, t := range sealedTables {
		if t.name == name {
			return t
		}
	}
	panic("storage: no sealed table " + name)
}

// indexedRow is one row of an indexedColumn.
type indexedRow struct {
	rowid  int64
	keys   []string
	index  []byte
	source []byte
}

func readIndexedRows(ctx context.Context, tx dbtx, ic indexedColumn, cursor int64, limit int) ([]indexedRow, error) {
	nkeys := len(strings.Split(ic.table.keys, ","))
	q := `SELECT t.rowid, ` + ic.table.keys + `, t.` + ic.index + `, t.` + ic.source +
		` FROM ` + ic.table.name + ` t ` + ic.table.join + ` WHERE t.rowid > ? ORDER BY t.rowid LIMIT ?`
	rows, err := tx.QueryContext(ctx, q, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []indexedRow
	for rows.Next() {
		r := indexedRow{keys: make([]string, nkeys)}
		dest := []any{&r.rowid}
		for i := range r.keys {
			dest = append(dest, &r.keys[i])
		}
		dest = append(dest, &r.index, &r.source)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// open returns the user ID that r's index is made from.
func (ic indexedColumn) open(c Cipher, r indexedRow) ([]byte, error) {
	ad := ic.table.ad(ic.source, r.keys)
	pt, err := c.Open(r.source, ad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTampered, ad, err)
	}
	return pt, nil
}

// Reindex moves every blind index and the audit chain to c's primary index
// key, and returns how many indexes and chain hashes it rewrote.
//
// Lookup columns go in batches of batchSize rows, each its own transaction,
// walking each table by rowid: after a crash a new run finds only what is
// left, and meanwhile lookups still match, since they try the index under
// every enabled index key. The audit chain is re-chained in one
// transaction: each hash covers the one before, so a chain rewritten in
// pieces would hold a stretch that no key verifies. It refuses, with
// ErrTampered, a chain that does not verify, so that re-keying never
// launders an edit. progress, if not nil, is called after each batch with
// the running total.
func (db *DB) Reindex(ctx context.Context, c Cipher, batchSize int, progress func(done int)) (_ int, err error) {
	defer wrap(&err, "re-index")
	if batchSize <= 0 {
		return 0, fmt.Errorf("%w: batch size must be positive", ErrInvalid)
	}
	done := 0
	for _, ic := range indexedColumns {
		var cursor int64
		for {
			n, last, more, err := db.reindexBatch(ctx, c, ic, cursor, batchSize)
			if err != nil {
				return done, fmt.Errorf("%s.%s after row %d: %w", ic.table.name, ic.index, cursor, err)
			}
			done += n
			if progress != nil {
				progress(done)
			}
			if !more {
				break
			}
			cursor = last
		}
	}
	n, err := db.rechainAudit(ctx, c)
	if err != nil {
		return done, fmt.Errorf("audit_log: %w", err)
	}
	done += n
	if progress != nil {
		progress(done)
	}
	return done, nil
}

func (db *DB) reindexBatch(ctx context.Context, c Cipher, ic indexedColumn, cursor int64, limit int) (n int, last int64, more bool, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	defer tx.Rollback()
	rows, err := readIndexedRows(ctx, tx, ic, cursor, limit)
	if err != nil {
		return 0, 0, false, err
	}
	rec := newRecorder(c)
	for _, r := range rows {
		last = r.rowid
		pt, err := ic.open(c, r)
		if err != nil {
			return 0, 0, false, err
		}
		want := c.BlindIndex(ic.domain, pt)
		if bytes.Equal(want, r.index) {
			continue
		}
		if ic.index == "target_index" {
			// An erased member's mark follows their index to the new
			// key, so that a kept unban of theirs is still deleted once
			// it has run.
			if err := remark(ctx, tx, rec, ic.table.name, r.rowid, r.index, want); err != nil {
				return 0, 0, false, err
			}
		}
		if err := rec.change(ctx, tx, ic.table.records, func() error {
			_, err := tx.ExecContext(ctx, `UPDATE `+ic.table.name+` SET `+ic.index+` = ? WHERE rowid = ?`, want, r.rowid)
			return err
		}, `t.rowid = ?`, r.rowid); err != nil {
			return 0, 0, false, err
		}
		n++
	}
	return n, last, len(rows) == limit, rec.commit(ctx, tx)
}

// rechainAudit recomputes every chain hash under the primary index key, in
// one write transaction, and reseals the chain's head. It returns how many
// hashes changed. The old chain is verified as it is walked, and its head
// before anything is written, so an edited log is refused, not re-signed.
func (db *DB) rechainAudit(ctx context.Context, c Cipher) (int, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var lastSeq int64
	var lastHash []byte
	switch err := tx.QueryRowContext(ctx, sqlAuditLast).Scan(&lastSeq, &lastHash); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	}
	if err := checkHead(ctx, tx, c, lastSeq, lastHash); err != nil {
		return 0, fmt.Errorf("%w: %w; run 'bot audit verify'", ErrTampered, err)
	}
	var (
		changed int
		prev    = make([]byte, hashSize)
		seq     int64
	)
	// walkAudit reads each batch whole before calling back, and checks each
	// entry against the stored hash before it, so rewriting as it goes
	// leaves what it still has to verify untouched.
	err = walkAudit(ctx, tx, c, func(_ []byte, e AuditEntry, hash []byte) error {
		h := chainHash(c, prev, e)
		if !bytes.Equal(h, hash) {
			if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE seq = ?`, h, e.Seq); err != nil {
				return err
			}
			changed++
		}
		prev, seq = h, e.Seq
		return nil
	})
	if err != nil {
		return 0, err
	}
	if changed == 0 {
		return 0, nil
	}
	rec := newRecorder(c)
	if err := rec.load(ctx, tx); err != nil {
		return 0, err
	}
	rec.head.seq, rec.head.hash, rec.dirty = seq, prev, true
	return changed, rec.commit(ctx, tx)
}

// remark adds, when the member of blind index old was erased in the guild
// of row rowid of table, the same erasure under their new index.
func remark(ctx context.Context, tx dbtx, rec *recorder, table string, rowid int64, old, new []byte) error {
	var guild string
	if err := tx.QueryRowContext(ctx, `SELECT guild_id FROM `+table+` WHERE rowid = ?`, rowid).Scan(&guild); err != nil {
		return err
	}
	at, err := erasedIn(ctx, tx, rec.c, guild, old)
	if err != nil || at.IsZero() {
		return err
	}
	return markErased(ctx, tx, rec, guild, new, at)
}
