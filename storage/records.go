package storage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"reflect"
	"strings"
	"sync"
)

// Every row a moderator or the bot writes is sealed, so that an edit made
// with an SQLite shell is seen. A row's seal is HMAC-SHA256, under a record
// key kept inside the sealed head of the audit chain, over the table's name
// and the row's values, with the natural keys of the rows it points to in
// place of their rowids. Its first half is stored in the row (row_mac):
// a row edited, inserted or moved is named by it. Its second half is never
// stored: the head keeps, per table, the row count and the XOR of those
// halves, which an attacker cannot compute, so deleting a row or putting
// back an older copy of one (whose stored half is still valid) changes the
// sum. The head is itself part of the audit chain's defence: replacing it
// with an older one needs the audit log cut back to match.

// recordTable is a table whose rows are sealed.
type recordTable struct {
	name string
	// key selects what finds one row again: the rowid, or the primary key
	// of a table without one.
	key []string
	// values is the select list of what the seal covers, over alias t and
	// the joins in from.
	values string
	from   string
	// label is the select list that names a row; describe words it.
	label    string
	describe func(label []any) string
}

// A reference is sealed as whether it is set and the natural key of the
// row it names, so that pointing it at another row, of this guild or
// another, or at no row, changes the seal.

// The sealed tables, in the order of the head's sums. A migration that adds
// a table of records adds it here, at the end, and creates it empty: a head
// written before holds no sum for it, which reads as zero rows.
const (
	tSettings = iota
	tModRoles
	tEscalations
	tCounters
	tCases
	tHistory
	tScheduled
	tErased
	tMemberErasures
	tModlogMessages
	tGuildRetention
	tDepartures
	tPresets
	tManualSettings
	tManualEntries
	tMessageLinks
	numRecordTables
)

var recordTables = [numRecordTables]recordTable{
	tSettings: {
		name: "guild_settings", key: []string{"guild_id"},
		values: "t.guild_id, t.modlog_channel_id, t.dm_enabled, t.warning_expiry_ms, t.show_moderator_names, t.updated_at",
		from:   "guild_settings t", label: "t.guild_id",
		describe: func(l []any) string { return fmt.Sprintf("the settings of guild %v", l[0]) },
	},
	tModRoles: {
		name: "guild_moderator_roles", key: []string{"guild_id", "role_id"},
		values: "t.guild_id, t.role_id", from: "guild_moderator_roles t", label: "t.guild_id, t.role_id",
		describe: func(l []any) string { return fmt.Sprintf("moderator role %v of guild %v", l[1], l[0]) },
	},
	tEscalations: {
		name: "escalation_rules", key: []string{"guild_id", "points"},
		values: "t.guild_id, t.points, t.action, t.duration_ms", from: "escalation_rules t",
		label:    "t.guild_id, t.points",
		describe: func(l []any) string { return fmt.Sprintf("the escalation rule at %v points of guild %v", l[1], l[0]) },
	},
	tCounters: {
		name: "case_counters", key: []string{"guild_id"},
		values: "t.guild_id, t.last_number", from: "case_counters t", label: "t.guild_id",
		describe: func(l []any) string { return fmt.Sprintf("the case counter of guild %v", l[0]) },
	},
	tCases: {
		name: "cases", key: []string{"id"},
		values: "t.guild_id, t.number, t.kind, t.target_index, t.target_id, t.target_name, " +
			"t.moderator_index, t.moderator_id, t.moderator_name, t.reason, t.points, t.duration_ms, " +
			"t.created_at, t.expires_at, t.revoked_at, t.revoked_by, t.revoke_reason, " +
			"t.linked_case_id IS NULL, l.guild_id, l.number",
		from:  "cases t LEFT JOIN cases l ON l.id = t.linked_case_id",
		label: "t.guild_id, t.number",
		describe: func(l []any) string {
			return fmt.Sprintf("case #%v in guild %v", l[1], l[0])
		},
	},
	tHistory: {
		name: "case_history", key: []string{"id"},
		values: "c.guild_id, c.number, t.revision, t.old_reason, t.changed_by, t.changed_at",
		from:   "case_history t LEFT JOIN cases c ON c.id = t.case_id",
		label:  "c.guild_id, c.number, t.revision, t.id",
		describe: func(l []any) string {
			if l[0] == nil {
				return fmt.Sprintf("reason history row %v (its case is gone)", l[3])
			}
			return fmt.Sprintf("revision %v of the reason of case #%v in guild %v", l[2], l[1], l[0])
		},
	},
	tScheduled: {
		name: "scheduled_actions", key: []string{"id"},
		values: "t.nonce, t.guild_id, t.kind, t.target_index, t.target_id, t.due_at, t.state, t.attempts, " +
			"t.last_error, t.claimed_at, t.case_id IS NULL, c.guild_id, c.number, t.created_at, t.updated_at",
		from:  "scheduled_actions t LEFT JOIN cases c ON c.id = t.case_id",
		label: "t.id, t.kind, t.guild_id",
		describe: func(l []any) string {
			return fmt.Sprintf("scheduled %v #%v in guild %v", l[1], l[0], l[2])
		},
	},
	tErased: {
		name: "erased_cases", key: []string{"guild_id", "number"},
		values: "t.guild_id, t.number, t.erased_at", from: "erased_cases t", label: "t.guild_id, t.number",
		describe: func(l []any) string { return fmt.Sprintf("the erasure of case #%v in guild %v", l[1], l[0]) },
	},
	tMemberErasures: {
		name: "member_erasures", key: []string{"guild_id", "member_mark"},
		values: "t.guild_id, t.member_mark, t.erased_at", from: "member_erasures t", label: "t.guild_id, t.erased_at",
		describe: func(l []any) string { return fmt.Sprintf("a member's erasure in guild %v (at %v)", l[0], l[1]) },
	},
	tModlogMessages: {
		name: "modlog_messages", key: []string{"guild_id", "case_number", "message_id"},
		values: "t.guild_id, t.case_number, t.channel_id, t.message_id", from: "modlog_messages t",
		label: "t.guild_id, t.case_number, t.message_id",
		describe: func(l []any) string {
			return fmt.Sprintf("modlog message %v of case #%v in guild %v", l[2], l[1], l[0])
		},
	},
	tGuildRetention: {
		name: "guild_retention", key: []string{"guild_id"},
		values: "t.guild_id, t.retention_ms, t.updated_at", from: "guild_retention t", label: "t.guild_id",
		describe: func(l []any) string { return fmt.Sprintf("the retention period of guild %v", l[0]) },
	},
	tDepartures: {
		name: "guild_departures", key: []string{"guild_id"},
		values: "t.guild_id, t.left_at, t.delete_at", from: "guild_departures t", label: "t.guild_id",
		describe: func(l []any) string { return fmt.Sprintf("the pending deletion of guild %v", l[0]) },
	},
	tPresets: {
		name: "reason_presets", key: []string{"id"},
		values: "t.guild_id, t.nonce, t.name, t.text, t.points, t.created_at", from: "reason_presets t",
		label:    "t.guild_id, t.id",
		describe: func(l []any) string { return fmt.Sprintf("reason preset %v of guild %v", l[1], l[0]) },
	},
	tManualSettings: {
		name: "guild_manual_actions", key: []string{"guild_id"},
		values: "t.guild_id, t.enabled, t.updated_at", from: "guild_manual_actions t", label: "t.guild_id",
		describe: func(l []any) string { return fmt.Sprintf("the manual-actions setting of guild %v", l[0]) },
	},
	tManualEntries: {
		name: "manual_action_entries", key: []string{"guild_id", "entry_id"},
		values: "t.guild_id, t.entry_id, t.recorded_at", from: "manual_action_entries t",
		label: "t.guild_id, t.entry_id",
		describe: func(l []any) string {
			return fmt.Sprintf("the record of audit-log entry %v in guild %v", l[1], l[0])
		},
	},
	tMessageLinks: {
		name: "case_message_links", key: []string{"id"},
		values: "t.guild_id, t.case_number, t.link", from: "case_message_links t", label: "t.guild_id, t.case_number",
		describe: func(l []any) string { return fmt.Sprintf("the message link of case #%v in guild %v", l[1], l[0]) },
	},
}

// sealSize is the stored half of a row's seal; the other half goes into
// its table's sum.
const sealSize = 16

// recordKeySize is the length of the record key.
const recordKeySize = 32

// ErrRecordAltered means a sealed record does not match what the bot wrote.
var ErrRecordAltered = errors.New("a record was changed outside the bot")

// ErrRecordsUnsealed means the database's records were written before
// records were sealed; opening the installation seals them.
var ErrRecordsUnsealed = errors.New("the records are not sealed yet")

// RecordError names the first record that does not match what the bot
// wrote. It wraps ErrRecordAltered.
type RecordError struct {
	Record string // "case #7 in guild 123", or a table for a count or sum
	Reason string
}

// Error names the record and what is wrong with it.
func (e *RecordError) Error() string { return e.Record + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrRecordAltered) true.
func (e *RecordError) Unwrap() error { return ErrRecordAltered }

// tableSum is a table's row count and the XOR of its rows' unstored seal
// halves.
type tableSum struct {
	rows int64
	sum  [sealSize]byte
}

func (s *tableSum) add(secret []byte, sign int64) {
	s.rows += sign
	for i := range s.sum {
		s.sum[i] ^= secret[i]
	}
}

// recordState is the records part of the chain's head.
type recordState struct {
	key  [recordKeySize]byte
	sums [numRecordTables]tableSum
}

// rowSealer computes row seals under one record key.
type rowSealer struct {
	mac hash.Hash
	buf []byte
}

func newRowSealer(key []byte) *rowSealer {
	return &rowSealer{mac: hmac.New(sha256.New, key)}
}

// seal returns the stored half and the summed half of a row's seal.
func (s *rowSealer) seal(table int, values []any) (stored, summed []byte, err error) {
	b := s.buf[:0]
	name := recordTables[table].name
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	for _, v := range values {
		if b, err = appendValue(b, v); err != nil {
			return nil, nil, fmt.Errorf("seal a row of %s: %w", name, err)
		}
	}
	s.buf = b
	s.mac.Reset()
	s.mac.Write(b)
	sum := s.mac.Sum(nil)
	return sum[:sealSize], sum[sealSize:], nil
}

// appendValue encodes one SQLite value with its type, so that no two
// different rows encode alike. Go values that SQLite stores as integers
// (int, bool) encode as the integer that reading the row back gives.
func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, 0), nil
	case int64:
		return binary.BigEndian.AppendUint64(append(b, 1), uint64(v)), nil
	case int:
		return appendValue(b, int64(v))
	case bool:
		if v {
			return appendValue(b, int64(1))
		}
		return appendValue(b, int64(0))
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 2), math.Float64bits(v)), nil
	case string:
		b = binary.BigEndian.AppendUint32(append(b, 3), uint32(len(v)))
		return append(b, v...), nil
	case []byte:
		if v == nil {
			return append(b, 0), nil
		}
		b = binary.BigEndian.AppendUint32(append(b, 4), uint32(len(v)))
		return append(b, v...), nil
	}
	return nil, fmt.Errorf("unexpected value of type %T", v)
}

// recordRow is a row of a recordTable as read for sealing.
type recordRow struct {
	key    []any
	stored []byte
	values []any
	label  []any
}

// queryRecords reads the rows of table t that match where (over alias t),
// in rowid or key order.
func queryRecords(ctx context.Context, tx dbtx, table int, where string, args ...any) ([]recordRow, error) {
	var out []recordRow
	err := walkRecords(ctx, tx, table, where, args, func(r recordRow) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// walkRecords calls fn for each row of table matching where. The slices of
// a row are its own.
func walkRecords(ctx context.Context, tx dbtx, table int, where string, args []any, fn func(recordRow) error) error {
	t := recordTables[table]
	nvalues := len(strings.Split(t.values, ","))
	nlabel := len(strings.Split(t.label, ","))
	q := `SELECT t.` + strings.Join(t.key, ", t.") + `, t.row_mac, ` + t.values + `, ` + t.label +
		` FROM ` + t.from
	if where != "" {
		q += ` WHERE ` + where
	}
	q += ` ORDER BY t.` + strings.Join(t.key, ", t.")
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r := recordRow{key: make([]any, len(t.key)), values: make([]any, nvalues), label: make([]any, nlabel)}
		dest := make([]any, 0, len(t.key)+1+nvalues+nlabel)
		for i := range r.key {
			dest = append(dest, &r.key[i])
		}
		dest = append(dest, &r.stored)
		for i := range r.values {
			dest = append(dest, &r.values[i])
		}
		for i := range r.label {
			dest = append(dest, &r.label[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// recorder follows, inside one write transaction, the changes to sealed
// rows and to the audit chain, and writes the chain's head once, when the
// transaction commits. Every write transaction that touches a sealed table
// or appends to the audit log goes through one.
type recorder struct {
	c      Cipher
	loaded bool
	head   chainHead
	rows   *rowSealer
	dirty  bool
}

func newRecorder(c Cipher) *recorder { return &recorder{c: c} }

// load reads the chain's head, once per transaction. A database with no
// head and no audit entry starts one, with a fresh record key.
func (r *recorder) load(ctx context.Context, tx dbtx) error {
	if r.loaded {
		return nil
	}
	if w, ok := tx.(writeTx); ok {
		if h, ok := w.head.get(r.c); ok {
			r.head, r.loaded = h, true
			return nil
		}
	}
	h, found, err := loadHead(ctx, tx, r.c)
	if err != nil {
		return err
	}
	if !found {
		if err := checkHeadless(ctx, tx); err != nil {
			return err
		}
		h = chainHead{hash: make([]byte, hashSize), records: &recordState{}}
		rand.Read(h.records.key[:]) // never fails (crypto/rand)
		r.dirty = true
	}
	r.head, r.loaded = h, true
	return nil
}

// sealer returns the row sealer of the record key, or ErrRecordsUnsealed
// for a database whose head predates sealed records.
func (r *recorder) sealer(ctx context.Context, tx dbtx) (*rowSealer, error) {
	if err := r.load(ctx, tx); err != nil {
		return nil, err
	}
	if r.head.records == nil {
		return nil, fmt.Errorf("%w: open the installation with this version of the bot first", ErrRecordsUnsealed)
	}
	if r.rows == nil {
		r.rows = newRowSealer(r.head.records.key[:])
	}
	return r.rows, nil
}

// inserted seals values, a row about to be inserted into table, and counts
// it. It returns the row's stored seal.
func (r *recorder) inserted(ctx context.Context, tx dbtx, table int, values []any) ([]byte, error) {
	s, err := r.sealer(ctx, tx)
	if err != nil {
		return nil, err
	}
	stored, summed, err := s.seal(table, values)
	if err != nil {
		return nil, err
	}
	r.head.records.sums[table].add(summed, 1)
	r.dirty = true
	return stored, nil
}

// remove takes the rows of table matching where out of the table's sum,
// before they are changed or deleted, and returns their keys for readd. A
// row whose seal does not match is refused: what the bot writes next must
// not rest on an edit made outside it.
func (r *recorder) remove(ctx context.Context, tx dbtx, table int, where string, args ...any) ([][]any, error) {
	s, err := r.sealer(ctx, tx)
	if err != nil {
		return nil, err
	}
	rows, err := queryRecords(ctx, tx, table, where, args...)
	if err != nil {
		return nil, err
	}
	keys := make([][]any, 0, len(rows))
	for _, row := range rows {
		stored, summed, err := s.seal(table, row.values)
		if err != nil {
			return nil, err
		}
		if !hmac.Equal(stored, row.stored) {
			return nil, fmt.Errorf("%w; run 'bot audit verify'", rowError(table, row))
		}
		r.head.records.sums[table].add(summed, -1)
		keys = append(keys, row.key)
	}
	r.dirty = true
	return keys, nil
}

// add seals the rows of table matching where, stores their seals, and puts
// them in the table's sum: rows just inserted, or changed after remove.
func (r *recorder) add(ctx context.Context, tx dbtx, table int, where string, args ...any) error {
	s, err := r.sealer(ctx, tx)
	if err != nil {
		return err
	}
	rows, err := queryRecords(ctx, tx, table, where, args...)
	if err != nil {
		return err
	}
	t := recordTables[table]
	update := `UPDATE ` + t.name + ` SET row_mac = ? WHERE ` + strings.Join(t.key, ` = ? AND `) + ` = ?`
	for _, row := range rows {
		stored, summed, err := s.seal(table, row.values)
		if err != nil {
			return err
		}
		if !hmac.Equal(stored, row.stored) {
			if _, err := tx.ExecContext(ctx, update, append([]any{stored}, row.key...)...); err != nil {
				return err
			}
		}
		r.head.records.sums[table].add(summed, 1)
	}
	r.dirty = true
	return nil
}

// readd is add for the rows with keys, as remove returned them; rows that
// no longer exist are skipped.
func (r *recorder) readd(ctx context.Context, tx dbtx, table int, keys [][]any) error {
	t := recordTables[table]
	where := `t.` + strings.Join(t.key, ` = ? AND t.`) + ` = ?`
	for _, k := range keys {
		if err := r.add(ctx, tx, table, where, k...); err != nil {
			return err
		}
	}
	return nil
}

// change is remove, fn, readd: for an update of the rows matching where
// that keeps them matching or not.
func (r *recorder) change(ctx context.Context, tx dbtx, table int, fn func() error, where string, args ...any) error {
	keys, err := r.remove(ctx, tx, table, where, args...)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return r.readd(ctx, tx, table, keys)
}

// commit writes the head if anything changed, and commits tx.
func (r *recorder) commit(ctx context.Context, tx writeTx) error {
	// Cleared first: a failed commit leaves the head on disk unknown.
	gen := tx.head.clear()
	if r.dirty {
		if err := storeHead(ctx, tx, r.c, r.head); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if r.loaded {
		tx.head.set(r.c, r.head, gen)
	}
	return nil
}

// headCache is the chain's head as this process last committed it, so that
// a write need not read and open it again. Only one process writes the
// database (the data directory's lock), and every write of the head goes
// through a recorder, which clears the cache before it commits and sets it
// after; re-encryption reseals the head without changing what it says.
// The next transaction may begin before the last one's set: gen, which
// every clear moves on, keeps a set from landing after a later commit.
type headCache struct {
	mu  sync.Mutex
	c   Cipher
	h   *chainHead
	gen uint64
}

// get returns a copy of the head, if it was committed under c.
func (hc *headCache) get(c Cipher) (chainHead, bool) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.h == nil || !reflect.TypeOf(c).Comparable() || hc.c != c {
		return chainHead{}, false
	}
	return hc.h.clone(), true
}

// set keeps h as committed under c by the transaction whose clear returned
// gen, unless another has cleared since.
func (hc *headCache) set(c Cipher, h chainHead, gen uint64) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if gen != hc.gen {
		return
	}
	hc.c, hc.h = c, nil
	if reflect.TypeOf(c).Comparable() {
		clone := h.clone()
		hc.h = &clone
	}
}

// clear forgets the head and returns the new generation.
func (hc *headCache) clear() uint64 {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.c, hc.h = nil, nil
	hc.gen++
	return hc.gen
}

func (h chainHead) clone() chainHead {
	out := chainHead{seq: h.seq, hash: bytes.Clone(h.hash)}
	if h.records != nil {
		rs := *h.records
		out.records = &rs
	}
	return out
}

// rowError is the RecordError of a row whose seal does not match.
func rowError(table int, row recordRow) *RecordError {
	name := recordTables[table].describe(row.label)
	if row.stored == nil {
		return &RecordError{Record: name, Reason: "was not written by the bot (it has no seal)"}
	}
	return &RecordError{Record: name, Reason: "changed since the bot wrote it"}
}

// checkHeadless refuses a database with no chain head but audit entries:
// its head was deleted, and starting a new one would hide that.
func checkHeadless(ctx context.Context, tx dbtx) error {
	entries, err := queryColumn[int](ctx, tx, `SELECT count(*) FROM (SELECT 1 FROM audit_log LIMIT 1)`)
	if err != nil {
		return err
	}
	if entries[0] != 0 {
		return &ChainError{Seq: 1, Reason: "the chain's sealed head is missing: run 'bot audit verify'"}
	}
	return nil
}

// queryColumn runs q, which selects one column, and returns its values.
func queryColumn[T any](ctx context.Context, tx dbtx, q string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
