package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// auditChainDomain separates the chain's PRF from user-ID blind indexes.
const auditChainDomain = "audit-chain"

// hashSize is the length of a BlindIndex output, and so of a chain hash.
const hashSize = 32

// AuditEntry is one record of the audit log.
type AuditEntry struct {
	Seq     int64     // position in the chain, from 1; assigned by Append
	At      time.Time // stored to the millisecond
	GuildID string    // "" for installation-wide actions
	ActorID string    // the user who acted, or a name such as "cli"
	Action  string    // what happened, e.g. "case.create"; not personal
	Details string    // free text; sealed
}

// ChainError reports the first audit entry at which the chain breaks.
type ChainError struct {
	Seq    int64
	Reason string
}

// Error names the entry and what is wrong with it.
func (e *ChainError) Error() string {
	return fmt.Sprintf("audit log entry %d: %s", e.Seq, e.Reason)
}

// Audit is the append-only, hash-chained audit log. Each entry's hash is a
// keyed PRF (the Cipher's BlindIndex) over the previous hash and the entry's
// plaintext fields: without the keys the chain cannot be rebuilt after an
// edit, and re-encrypting ciphertexts leaves it intact.
type Audit struct {
	db *DB
	c  Cipher
}

// NewAudit returns the audit log of db, sealing with c.
func NewAudit(db *DB, c Cipher) *Audit { return &Audit{db: db, c: c} }

// Append adds e at the end of the chain and returns it with Seq set. Appends
// are serialized by the write transaction, so the chain never forks.
func (a *Audit) Append(ctx context.Context, e AuditEntry) (_ AuditEntry, err error) {
	defer wrap(&err, "append audit entry")
	if e.Action == "" || e.ActorID == "" {
		return AuditEntry{}, fmt.Errorf("%w: an audit entry needs an actor and an action", ErrInvalid)
	}
	tx, err := a.db.beginWrite(ctx)
	if err != nil {
		return AuditEntry{}, err
	}
	defer tx.Rollback()
	rec := newRecorder(a.c)
	if e, err = appendAudit(ctx, tx, rec, e); err != nil {
		return AuditEntry{}, err
	}
	return e, rec.commit(ctx, tx)
}

// List returns up to limit entries with Seq greater than afterSeq, oldest
// first. It does not verify the chain; Verify does.
func (a *Audit) List(ctx context.Context, afterSeq int64, limit int) (_ []AuditEntry, err error) {
	defer wrap(&err, "list audit log")
	tx, err := a.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, guild_id, actor, action, details
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, _, err := scanAudit(rows, a.c)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Verify walks the whole chain and returns the number of entries checked.
// If an entry was edited, deleted, moved or reordered, it returns the count
// of good entries before it and a *ChainError naming it.
func (a *Audit) Verify(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "verify audit log")
	tx, err := a.db.beginRead(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	return verifyChain(ctx, tx, a.c)
}

// verifyChain is Verify inside tx.
func verifyChain(ctx context.Context, tx dbtx, c Cipher) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, guild_id, actor, action, details, hash
		FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		count int
		seq   int64
		prev  = make([]byte, hashSize)
	)
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.seq, &r.at, &r.guild, &r.actor, &r.action, &r.details, &r.hash); err != nil {
			return count, err
		}
		if r.seq != seq+1 {
			return count, &ChainError{Seq: seq + 1, Reason: fmt.Sprintf("missing: deleted (the next entry is %d)", r.seq)}
		}
		e, err := r.entry(c)
		if err != nil {
			return count, &ChainError{Seq: r.seq, Reason: "does not decrypt: edited, or moved from another position"}
		}
		if !chainHashMatches(c, prev, e, r.hash) {
			return count, &ChainError{Seq: r.seq, Reason: "hash mismatch: edited, or reordered"}
		}
		prev, seq = r.hash, r.seq
		count++
	}
	if err := rows.Err(); err != nil {
		return count, err
	}
	return count, checkHead(ctx, tx, c, seq, prev)
}

// appendAudit adds e after the current last entry, inside tx, and moves the
// head that rec writes when the transaction commits. Services that change
// records call it in their own transaction, so an action and its audit
// entry commit together.
func appendAudit(ctx context.Context, tx dbtx, rec *recorder, e AuditEntry) (AuditEntry, error) {
	if err := rec.load(ctx, tx); err != nil {
		return AuditEntry{}, err
	}
	c := rec.c
	// The head names the last entry: an entry deleted from the end leaves
	// a gap before this one, which Verify reports.
	prev := rec.head.hash
	e.Seq = rec.head.seq + 1
	e.At = time.UnixMilli(e.At.UnixMilli()).UTC()
	actor, err := seal(c, e.ActorID, adAudit("actor", e.Seq))
	if err != nil {
		return AuditEntry{}, err
	}
	details, err := seal(c, e.Details, adAudit("details", e.Seq))
	if err != nil {
		return AuditEntry{}, err
	}
	hash := chainHash(c, prev, e)
	if _, err := tx.ExecContext(ctx, sqlAuditInsert, e.Seq, e.At.UnixMilli(), e.GuildID, actor, e.Action, details, hash); err != nil {
		return AuditEntry{}, err
	}
	// The head is sealed, so deleting the newest entries (which the chain
	// alone cannot reveal) shows up as a head that points past the end.
	rec.head.seq, rec.head.hash, rec.dirty = e.Seq, hash, true
	return e, nil
}

// chainHead is the sealed head of the audit chain: the last entry's seq and
// hash and, once records are sealed, the record key and the tables' sums.
type chainHead struct {
	seq     int64
	hash    []byte
	records *recordState // nil in a head written before records were sealed
}

// headVersion marks a head that carries records; a head without it is the
// bare seq and hash of the first format.
const headVersion = 2

func (h chainHead) encode() []byte {
	b := binary.BigEndian.AppendUint64(bytes.Clone(h.hash), uint64(h.seq))
	if h.records == nil {
		return b
	}
	b = append(b, headVersion)
	b = append(b, h.records.key[:]...)
	b = append(b, numRecordTables)
	for _, s := range h.records.sums {
		b = binary.BigEndian.AppendUint64(b, uint64(s.rows))
		b = append(b, s.sum[:]...)
	}
	return b
}

// headSize is the length of a head with records of n tables.
func headSize(n int) int { return hashSize + 8 + 1 + recordKeySize + 1 + n*(8+sealSize) }

func decodeHead(b []byte) (chainHead, bool) {
	if len(b) < hashSize+8 {
		return chainHead{}, false
	}
	h := chainHead{hash: bytes.Clone(b[:hashSize]), seq: int64(binary.BigEndian.Uint64(b[hashSize:]))}
	if len(b) == hashSize+8 {
		return h, true
	}
	if len(b) < headSize(0) {
		return chainHead{}, false
	}
	b = b[hashSize+8:]
	// Tables added since the head was written were created empty: their
	// sums stay zero.
	n := int(b[1+recordKeySize])
	if b[0] != headVersion || n > numRecordTables || len(b) != headSize(n)-hashSize-8 {
		return chainHead{}, false
	}
	h.records = &recordState{}
	copy(h.records.key[:], b[1:])
	b = b[1+recordKeySize+1:]
	for i := range h.records.sums[:n] {
		h.records.sums[i].rows = int64(binary.BigEndian.Uint64(b))
		copy(h.records.sums[i].sum[:], b[8:])
		b = b[8+sealSize:]
	}
	return h, true
}

// loadHead reads and opens the head; found is false if there is none.
func loadHead(ctx context.Context, tx dbtx, c Cipher) (h chainHead, found bool, err error) {
	sealed, err := getMeta(ctx, tx, metaAuditHead)
	if errors.Is(err, sql.ErrNoRows) {
		return chainHead{}, false, nil
	}
	if err != nil {
		return chainHead{}, false, err
	}
	plain, err := c.Open(sealed, adMeta(metaAuditHead))
	if err != nil {
		return chainHead{}, true, &ChainError{Seq: 0, Reason: "the chain's sealed head does not decrypt"}
	}
	if h, ok := decodeHead(plain); ok {
		return h, true, nil
	}
	return chainHead{}, true, &ChainError{Seq: 0, Reason: "the chain's sealed head is not in a known format"}
}

// storeHead seals and writes h.
func storeHead(ctx context.Context, tx dbtx, c Cipher, h chainHead) error {
	sealed, err := c.Seal(h.encode(), adMeta(metaAuditHead))
	if err != nil {
		return fmt.Errorf("seal audit head: %w", err)
	}
	return putMeta(ctx, tx, metaAuditHead, sealed)
}

// checkHead compares the end of the chain with the sealed head.
func checkHead(ctx context.Context, tx dbtx, c Cipher, seq int64, hash []byte) error {
	head, found, err := loadHead(ctx, tx, c)
	if !found && err == nil {
		if seq == 0 {
			return nil
		}
		return &ChainError{Seq: seq, Reason: "the chain's sealed head is missing"}
	}
	var ce *ChainError
	if errors.As(err, &ce) {
		ce.Seq = seq
		return ce
	}
	if err != nil {
		return err
	}
	if head.seq != seq {
		return &ChainError{Seq: seq + 1, Reason: fmt.Sprintf("missing: the log ends at %d but its head names %d", seq, head.seq)}
	}
	if !bytes.Equal(head.hash, hash) {
		return &ChainError{Seq: seq, Reason: "does not match the chain's sealed head"}
	}
	return nil
}

// chainHash is BlindIndex("audit-chain", prev || canonical(e)). Fixed-width
// integers and length-prefixed strings make the encoding unambiguous, and
// Seq is in it, so an entry cannot be moved to another position.
func chainHash(c Cipher, prev []byte, e AuditEntry) []byte {
	return c.BlindIndex(auditChainDomain, chainInput(prev, e))
}

// chainInput is what chainHash digests.
func chainInput(prev []byte, e AuditEntry) []byte {
	b := make([]byte, 0, len(prev)+64+len(e.Details))
	b = append(b, prev...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMilli()))
	for _, s := range []string{e.GuildID, e.ActorID, e.Action, e.Details} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// chainHashMatches reports whether hash is e's chain hash after prev under
// any enabled index key. After a rotation of the index keys, entries
// appended since carry the new key's hash on top of older entries with the
// old key's, until Reindex re-chains the log under the new key.
func chainHashMatches(c Cipher, prev []byte, e AuditEntry, hash []byte) bool {
	for _, h := range c.BlindIndexes(auditChainDomain, chainInput(prev, e)) {
		if bytes.Equal(h, hash) {
			return true
		}
	}
	return false
}

// auditRow is an audit_log row as stored.
type auditRow struct {
	seq, at        int64
	guild, action  string
	actor, details []byte
	hash           []byte
}

func (r auditRow) entry(c Cipher) (AuditEntry, error) {
	e := AuditEntry{Seq: r.seq, At: time.UnixMilli(r.at).UTC(), GuildID: r.guild, Action: r.action}
	var err error
	if e.ActorID, err = open(c, r.actor, adAudit("actor", r.seq)); err != nil {
		return AuditEntry{}, err
	}
	if e.Details, err = open(c, r.details, adAudit("details", r.seq)); err != nil {
		return AuditEntry{}, err
	}
	return e, nil
}

func scanAudit(rows *sql.Rows, c Cipher) (AuditEntry, auditRow, error) {
	var r auditRow
	if err := rows.Scan(&r.seq, &r.at, &r.guild, &r.actor, &r.action, &r.details); err != nil {
		return AuditEntry{}, r, err
	}
	e, err := r.entry(c)
	return e, r, err
}
