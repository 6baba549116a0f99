package storage

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RecordReport is what VerifyRecords found.
type RecordReport struct {
	Records int // sealed rows checked
	Bad     int // rows whose seal does not match, and missing cases
}

// FullReport is what a full verification of the records found.
type FullReport struct {
	Entries int // audit entries, their chain intact
	RecordReport
	// Unsealed means the records predate sealed records (an older schema,
	// or a database not opened by this version yet): the chain was
	// checked, the records could not be.
	Unsealed bool
	// Erasures counts the audit entries of members' records erased (or
	// erased again after a restore): the records are gone by design, and
	// the chain says so.
	Erasures int
}

// VerifyDatabase checks the audit chain and then every record against its
// seal and the chain's head, in one read transaction: what 'bot audit
// verify' reports. A broken chain is a *ChainError, a record that does not
// match a *RecordError.
func VerifyDatabase(ctx context.Context, db *DB, c Cipher) (_ FullReport, err error) {
	defer wrap(&err, "verify records")
	tx, err := db.beginRead(ctx)
	if err != nil {
		return FullReport{}, err
	}
	defer tx.Rollback()
	return verifyAll(ctx, tx, c)
}

// verifyAll is VerifyDatabase inside tx.
func verifyAll(ctx context.Context, tx dbtx, c Cipher) (FullReport, error) {
	var rep FullReport
	var err error
	if rep.Entries, err = verifyChain(ctx, tx, c); err != nil {
		return rep, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action IN ('privacy.erase', 'privacy.reapply')`).
		Scan(&rep.Erasures); err != nil {
		return rep, err
	}
	var sealed int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('cases') WHERE name = 'row_mac'`).Scan(&sealed); err != nil {
		return rep, err
	}
	head, found, err := loadHead(ctx, tx, c)
	if err != nil {
		return rep, err
	}
	if sealed == 0 {
		// A schema from before sealing; but a head with records says the
		// seals were there, and were dropped.
		if found && head.records != nil {
			return rep, &RecordError{Record: "table cases", Reason: "its seals (row_mac) were removed"}
		}
		rep.Unsealed = true
		return rep, nil
	}
	rep.RecordReport, err = verifyRecords(ctx, tx, c)
	if errors.Is(err, ErrRecordsUnsealed) {
		if err := checkNeverSealed(ctx, tx); err != nil {
			return rep, err
		}
		rep.Unsealed = true
		return rep, nil
	}
	return rep, err
}

// CheckRecords runs the full verification of VerifyDatabase on the file
// Verify checked, read-only: the audit chain, and every record against it.
func (r *VerifyResult) CheckRecords(ctx context.Context, c Cipher) (_ FullReport, err error) {
	defer wrap(&err, "verify the records of "+r.Path)
	db, err := openImmutable(r.Path, verifyCache)
	if err != nil {
		return FullReport{}, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return FullReport{}, err
	}
	defer tx.Rollback()
	rep, err := verifyAll(ctx, tx, c)
	if err == nil {
		r.Records = &rep
	}
	return rep, err
}

// VerifyRecords checks every sealed row against its seal, every guild's
// case numbers for gaps that no erasure explains, and every table's row
// count and sum against the chain's sealed head, in one read transaction.
// The first problem comes back as a *RecordError: a missing case first
// (deleting one may change the rows that pointed at it), then a row named
// by its seal, then a table whose count or sum is off (a row deleted, or
// an older copy of one put back). A database whose records
// were written before they were sealed gives ErrRecordsUnsealed.
func VerifyRecords(ctx context.Context, db *DB, c Cipher) (_ RecordReport, err error) {
	defer wrap(&err, "verify records")
	tx, err := db.beginRead(ctx)
	if err != nil {
		return RecordReport{}, err
	}
	defer tx.Rollback()
	return verifyRecords(ctx, tx, c)
}

// verifyRecords is VerifyRecords inside tx.
func verifyRecords(ctx context.Context, tx dbtx, c Cipher) (RecordReport, error) {
	head, found, err := loadHead(ctx, tx, c)
	if err != nil {
		return RecordReport{}, err
	}
	if !found {
		return RecordReport{}, checkNoRecords(ctx, tx)
	}
	if head.records == nil {
		return RecordReport{}, ErrRecordsUnsealed
	}
	v := recordVerifier{sealer: newRowSealer(head.records.key[:]), guilds: map[string]*caseNumbers{}, c: c}
	for table := range numRecordTables {
		if err := v.table(ctx, tx, table); err != nil {
			return v.report, err
		}
	}
	gap, err := v.firstGap(ctx, tx)
	if err != nil {
		return v.report, err
	}
	var problem error
	switch {
	case gap != nil:
		problem = gap
	case v.firstBad != nil:
		problem = v.firstBad
	}
	for table := range numRecordTables {
		want, got := head.records.sums[table], v.sums[table]
		if want == got || problem != nil {
			continue
		}
		problem = sumError(table, want, got)
	}
	if gap != nil {
		v.report.Bad++
	}
	return v.report, problem
}

// recordVerifier accumulates what VerifyRecords reads.
type recordVerifier struct {
	sealer   *rowSealer
	c        Cipher // opens the audit entries that name what changed
	sums     [numRecordTables]tableSum
	report   RecordReport
	firstBad *RecordError
	guilds   map[string]*caseNumbers
}

// caseNumbers is what a guild's case numbers add up to.
type caseNumbers struct {
	count, max int64
}

func (v *recordVerifier) table(ctx context.Context, tx dbtx, table int) error {
	return walkRecords(ctx, tx, table, "", nil, func(r recordRow) error {
		stored, summed, err := v.sealer.seal(table, r.values)
		if err != nil {
			return err
		}
		v.report.Records++
		v.sums[table].add(summed, 1)
		if !hmac.Equal(stored, r.stored) {
			v.report.Bad++
			if v.firstBad == nil {
				v.firstBad = rowError(table, r)
				if table == tCases && r.stored != nil {
					what, err := v.caseChange(ctx, tx, r)
					if err != nil {
						return err
					}
					if what != "" {
						v.firstBad.Reason = what
					}
				}
			}
		}
		if table == tCases || table == tErased {
			v.countNumber(r.values[0], r.values[1])
		}
		return nil
	})
}

// Columns of a case's sealed values (recordTables[tCases].values) that
// caseChange tries.
const (
	caseColKind      = 2
	caseColPoints    = 10
	caseColRevokedAt = 14
	caseColRevokedBy = 15
	caseColRevReason = 16
)

// maxTriedPoints bounds the points caseChange tries as a case's original.
const maxTriedPoints = 1000

// caseChange names what was changed in a case whose seal does not match,
// for the edits a SQLite shell makes most often: its kind, its points, or
// a revocation added. It tries each as the original value, which the seal
// then proves; "" when none matches, and the report stays general.
func (v *recordVerifier) caseChange(ctx context.Context, tx dbtx, r recordRow) (string, error) {
	matches := func(col int, val any) bool {
		vals := slices.Clone(r.values)
		vals[col] = val
		stored, _, err := v.sealer.seal(tCases, vals)
		return err == nil && hmac.Equal(stored, r.stored)
	}
	if now, ok := r.values[caseColKind].(string); ok {
		for _, k := range []CaseKind{CaseWarning, CaseNote, CaseTimeout, CaseUntimeout, CaseKick, CaseBan, CaseUnban} {
			if string(k) != now && matches(caseColKind, string(k)) {
				return fmt.Sprintf("kind changed since it was written (written as %s, now %s)", k, now), nil
			}
		}
	}
	if now, ok := r.values[caseColPoints].(int64); ok {
		for p := range int64(maxTriedPoints + 1) {
			if p != now && matches(caseColPoints, p) {
				return fmt.Sprintf("points changed since it was written (written as %d, now %d)", p, now), nil
			}
		}
	}
	if r.values[caseColRevokedAt] != nil {
		vals := slices.Clone(r.values)
		vals[caseColRevokedAt], vals[caseColRevokedBy], vals[caseColRevReason] = nil, nil, nil
		if stored, _, err := v.sealer.seal(tCases, vals); err == nil && hmac.Equal(stored, r.stored) {
			return "marked revoked since it was written, outside the bot", nil
		}
		return "", nil
	}
	// Not revoked now: the chain, already verified, says whether the bot
	// revoked it. The bot never takes a revocation back.
	guild, _ := r.values[0].(string)
	number, _ := r.values[1].(int64)
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, guild_id, actor, action, details FROM audit_log
		WHERE guild_id = ? AND action = 'case.revoke' ORDER BY seq`, guild)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	want := fmt.Sprintf("case %d", number)
	for rows.Next() {
		e, _, err := scanAudit(rows, v.c)
		if err != nil {
			return "", err
		}
		if e.Details == want {
			return fmt.Sprintf("its revocation was removed since it was written (revoked at %s, audit entry %d)",
				e.At.Format("2006-01-02 15:04 UTC"), e.Seq), nil
		}
	}
	return "", rows.Err()
}

// countNumber counts a case number of a guild, kept or erased.
func (v *recordVerifier) countNumber(guild, number any) {
	g, ok1 := guild.(string)
	n, ok2 := number.(int64)
	if !ok1 || !ok2 {
		return // the row's seal does not match either
	}
	cn := v.guilds[g]
	if cn == nil {
		cn = &caseNumbers{}
		v.guilds[g] = cn
	}
	cn.count++
	cn.max = max(cn.max, n)
}

// firstGap returns a missing case of the guild that sorts first among those
// whose numbers, kept and erased, do not run 1, 2, … up to the highest.
// Deleting a guild's newest case leaves no gap; the table's count shows it.
func (v *recordVerifier) firstGap(ctx context.Context, tx dbtx) (*RecordError, error) {
	var guilds []string
	for g, cn := range v.guilds {
		if cn.count != cn.max {
			guilds = append(guilds, g)
		}
	}
	if len(guilds) == 0 {
		return nil, nil
	}
	slices.Sort(guilds)
	rows, err := tx.QueryContext(ctx, `SELECT number FROM cases WHERE guild_id = ?1
		UNION SELECT number FROM erased_cases WHERE guild_id = ?1 ORDER BY 1`, guilds[0])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := int64(1)
	gap := false
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if gap = n != want; gap {
			break
		}
		want++
	}
	if err := rows.Err(); err != nil || !gap {
		return nil, err
	}
	return &RecordError{
		Record: fmt.Sprintf("case #%d is missing from guild %s", want, guilds[0]),
		Reason: "it was deleted outside the bot",
	}, nil
}

// sumError words a table whose count or sum differs from the head's.
func sumError(table int, want, got tableSum) *RecordError {
	name := "table " + recordTables[table].name
	switch {
	case got.rows < want.rows:
		return &RecordError{Record: name, Reason: fmt.Sprintf("holds %d rows where the bot wrote %d: %d deleted outside the bot",
			got.rows, want.rows, want.rows-got.rows)}
	case got.rows > want.rows:
		return &RecordError{Record: name, Reason: fmt.Sprintf("holds %d rows where the bot wrote %d: rows were added outside the bot",
			got.rows, want.rows)}
	}
	return &RecordError{Record: name, Reason: "does not add up to what the bot wrote: a row was deleted and another added, " +
		"or an older copy of a row was put back"}
}

// checkNoRecords is VerifyRecords for a database with no chain head: it
// must hold no records either.
func checkNoRecords(ctx context.Context, tx dbtx) error {
	for _, t := range recordTables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t.name+` LIMIT 1)`).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return &RecordError{Record: "table " + t.name, Reason: "holds rows, but the audit chain's sealed head that covers them is missing"}
		}
	}
	return nil
}

// checkNeverSealed refuses a head of the first format beside rows that
// carry seals: an older head put back over sealed records.
func checkNeverSealed(ctx context.Context, tx dbtx) error {
	for _, t := range recordTables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t.name+
			` WHERE row_mac IS NOT NULL LIMIT 1)`).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return &RecordError{Record: "table " + t.name, Reason: "holds sealed rows, but the audit chain's head is of a format from before sealing: an older head was put back"}
		}
	}
	return nil
}

// recordOldErasures fills erased_cases, before records are first sealed,
// with the case numbers missing below each guild's highest (or its
// counter): a version without erased_cases left only gaps where it erased
// a member's cases, and each would otherwise be reported as deleted
// outside the bot.
func recordOldErasures(ctx context.Context, tx dbtx, at time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT guild_id, number FROM cases
		UNION SELECT guild_id, number FROM erased_cases
		UNION SELECT guild_id, last_number + 1 FROM case_counters
		ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	type gap struct {
		guild    string
		from, to int64 // missing: from ≤ n < to
	}
	var gaps []gap
	guild, next := "", int64(1)
	for rows.Next() {
		var g string
		var n int64
		if err := rows.Scan(&g, &n); err != nil {
			rows.Close()
			return err
		}
		if g != guild {
			guild, next = g, 1
		}
		if n > next {
			gaps = append(gaps, gap{g, next, n})
		}
		next = max(next, n+1)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, g := range gaps {
		for n := g.from; n < g.to; n++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO erased_cases (guild_id, number, erased_at) VALUES (?, ?, ?)`,
				g.guild, n, at.UnixMilli()); err != nil {
				return err
			}
		}
	}
	return nil
}

// SealRecords seals the records of a database written before records were
// sealed: every row of every sealed table gets its seal, the chain's head
// gets the record key and the tables' sums, and an audit entry says so, in
// one write transaction. It returns how many rows it sealed; 0 if the
// records were sealed already. What it seals is taken as it stands: an edit
// made before cannot be told apart, which SECURITY.md says.
func SealRecords(ctx context.Context, db *DB, c Cipher, actorID string) (_ int, err error) {
	defer wrap(&err, "seal records")
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	head, found, err := loadHead(ctx, tx, c)
	if err != nil {
		return 0, err
	}
	if found && head.records != nil {
		return 0, nil
	}
	if err := checkNeverSealed(ctx, tx); err != nil {
		return 0, err
	}
	if !found {
		if err := checkHeadless(ctx, tx); err != nil {
			return 0, err
		}
		// A new database: its first write starts the head, records and all.
		return 0, checkNoRecords(ctx, tx)
	}
	if err := recordOldErasures(ctx, tx, time.Now()); err != nil {
		return 0, err
	}
	head.records = &recordState{}
	rand.Read(head.records.key[:]) // never fails (crypto/rand)
	rec := &recorder{c: c, loaded: true, head: head, dirty: true}
	sealer := newRowSealer(head.records.key[:])
	total := 0
	for table := range numRecordTables {
		type pending struct {
			key  []any
			seal []byte
		}
		var updates []pending
		err := walkRecords(ctx, tx, table, "", nil, func(r recordRow) error {
			stored, summed, err := sealer.seal(table, r.values)
			if err != nil {
				return err
			}
			head.records.sums[table].add(summed, 1)
			updates = append(updates, pending{r.key, stored})
			return nil
		})
		if err != nil {
			return 0, err
		}
		t := recordTables[table]
		update := `UPDATE ` + t.name + ` SET row_mac = ? WHERE ` + strings.Join(t.key, ` = ? AND `) + ` = ?`
		for _, u := range updates {
			if _, err := tx.ExecContext(ctx, update, append([]any{u.seal}, u.key...)...); err != nil {
				return 0, err
			}
		}
		total += len(updates)
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: time.Now(), ActorID: actorID, Action: "records.seal", Details: fmt.Sprintf("%d records sealed", total),
	}); err != nil {
		return 0, err
	}
	return total, rec.commit(ctx, tx)
}
