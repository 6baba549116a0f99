package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// sealedTable describes where a table keeps ciphertexts and how to rebuild
// each one's associated data, for Reencrypt.
type sealedTable struct {
	name    string
	keys    string // SQL selecting the natural key the associated data uses
	join    string
	columns []string
	ad      func(col string, key []string) []byte
	// records is the table's index in recordTables, or -1 if its rows
	// are not sealed records.
	records int
}

// sealedTables lists every sealed column. A migration that adds one must add
// it here, or Reencrypt would leave it under the old key.
var sealedTables = []sealedTable{
	{
		name: "cases", keys: "t.guild_id, t.number", records: tCases,
		columns: []string{"target_id", "target_name", "moderator_id", "moderator_name", "reason", "revoked_by", "revoke_reason"},
		ad:      func(col string, k []string) []byte { return adCase(col, k[0], atoi(k[1])) },
	},
	{
		name: "case_history", keys: "c.guild_id, c.number, t.revision", join: "JOIN cases c ON c.id = t.case_id",
		records: tHistory,
		columns: []string{"old_reason", "changed_by"},
		ad:      func(col string, k []string) []byte { return adHistory(col, k[0], atoi(k[1]), atoi(k[2])) },
	},
	{
		name: "scheduled_actions", keys: "t.nonce", records: tScheduled,
		columns: []string{"target_id", "last_error"},
		ad:      func(col string, k []string) []byte { return adScheduled(col, []byte(k[0])) },
	},
	{
		name: "reason_presets", keys: "t.guild_id, t.nonce", records: tPresets,
		columns: []string{"name", "text"},
		ad:      func(col string, k []string) []byte { return adPreset(col, k[0], []byte(k[1])) },
	},
	{
		name: "case_message_links", keys: "t.guild_id, t.case_number", records: tMessageLinks,
		columns: []string{"link"},
		ad:      func(col string, k []string) []byte { return adMessageLink(col, k[0], atoi(k[1])) },
	},
	{
		name: "audit_log", keys: "t.seq", records: -1,
		columns: []string{"actor", "details"},
		ad:      func(col string, k []string) []byte { return adAudit(col, atoi(k[0])) },
	},
	{
		name: "meta", keys: "t.key", records: -1,
		columns: []string{"value"},
		ad: func(_ string, k []string) []byte {
			if k[0] != metaAuditHead {
				return nil // not sealed by storage (the sentinel is the keys package's)
			}
			return adMeta(k[0])
		},
	},
}

// Reencrypt rewrites, under c's primary key, every stored ciphertext for
// which c.NeedsReencrypt is true, and returns how many it rewrote. It works
// in batches of batchSize rows, each its own transaction, walking each table
// by rowid; after a crash a new run finds only what is left. progress, if
// not nil, is called after each batch with the running total. A ciphertext
// that fails to open stops the run with an error wrapping ErrTampered.
func (db *DB) Reencrypt(ctx context.Context, c Cipher, batchSize int, progress func(done int)) (_ int, err error) {
	defer wrap(&err, "re-encrypt")
	if batchSize <= 0 {
		return 0, fmt.Errorf("%w: batch size must be positive", ErrInvalid)
	}
	done := 0
	for _, t := range sealedTables {
		var cursor int64
		for {
			n, last, more, err := db.reencryptBatch(ctx, c, t, cursor, batchSize)
			if err != nil {
				return done, fmt.Errorf("%s after row %d: %w", t.name, cursor, err)
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
	return done, nil
}

// reencryptBatch handles up to limit rows of t after rowid cursor in one
// write transaction. It returns the ciphertexts rewritten, the last rowid
// seen, and whether rows may remain.
func (db *DB) reencryptBatch(ctx context.Context, c Cipher, t sealedTable, cursor int64, limit int) (n int, last int64, more bool, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	defer tx.Rollback()
	rows, err := readSealedRows(ctx, tx, t, cursor, limit)
	if err != nil {
		return 0, 0, false, err
	}
	rec := newRecorder(c)
	for _, r := range rows {
		last = r.rowid
		changed := 0
		rewrite := func() error {
			for i, col := range t.columns {
				ct := r.values[i]
				ad := t.ad(col, r.keys)
				if ct == nil || ad == nil || !c.NeedsReencrypt(ct) {
					continue
				}
				pt, err := c.Open(ct, ad)
				if err != nil {
					return fmt.Errorf("%w: %s: %w", ErrTampered, ad, err)
				}
				fresh, err := c.Seal(pt, ad)
				if err != nil {
					return fmt.Errorf("seal %s: %w", ad, err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE `+t.name+` SET `+col+` = ? WHERE rowid = ?`, fresh, r.rowid); err != nil {
					return err
				}
				changed++
			}
			return nil
		}
		if !t.needsReencrypt(c, r) {
			continue
		}
		var err error
		if t.records < 0 {
			err = rewrite()
		} else {
			err = rec.change(ctx, tx, t.records, rewrite, `t.rowid = ?`, r.rowid)
		}
		if err != nil {
			return 0, 0, false, err
		}
		n += changed
	}
	return n, last, len(rows) == limit, rec.commit(ctx, tx)
}

type sealedRow struct {
	rowid  int64
	keys   []string
	values [][]byte
}

// needsReencrypt reports whether any ciphertext of r is under a key other
// than the primary.
func (t sealedTable) needsReencrypt(c Cipher, r sealedRow) bool {
	for i, col := range t.columns {
		if ct := r.values[i]; ct != nil && t.ad(col, r.keys) != nil && c.NeedsReencrypt(ct) {
			return true
		}
	}
	return false
}

func readSealedRows(ctx context.Context, tx dbtx, t sealedTable, cursor int64, limit int) ([]sealedRow, error) {
	nkeys := len(strings.Split(t.keys, ","))
	q := `SELECT t.rowid, ` + t.keys + `, t.` + strings.Join(t.columns, ", t.") +
		` FROM ` + t.name + ` t ` + t.join + ` WHERE t.rowid > ? ORDER BY t.rowid LIMIT ?`
	rows, err := tx.QueryContext(ctx, q, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sealedRow
	for rows.Next() {
		r := sealedRow{keys: make([]string, nkeys), values: make([][]byte, len(t.columns))}
		dest := []any{&r.rowid}
		for i := range r.keys {
			dest = append(dest, &r.keys[i])
		}
		for i := range r.values {
			dest = append(dest, &r.values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// atoi parses a key column SQLite returned as an integer.
func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
