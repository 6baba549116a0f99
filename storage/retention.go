package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RetentionActor is the actor of the audit entries of deletions that
// retention makes by itself.
const RetentionActor = "retention"

// RetentionBatch is how many cases one transaction of the sweep or of a
// departed guild's deletion takes: few enough that a /warn waiting for the
// writer behind it is held up well under 100 ms (BENCHMARKS.md has the
// measurement), many enough that the audit log gets one entry per batch
// rather than per case.
const RetentionBatch = 300

// Retention is the repository of what the bot keeps for how long: a guild's
// own retention period, the sweep of cases that stopped counting long
// enough ago, and the deletion of a guild's records some time after the bot
// left it. Every deletion works in batches of its own transactions, so
// that a moderator's command waits behind one batch at most.
type Retention struct {
	db *DB
	c  Cipher
}

// NewRetention returns the retention repository of db, sealing with c.
func NewRetention(db *DB, c Cipher) *Retention { return &Retention{db: db, c: c} }

// GuildPeriod returns the guild's own retention period, or 0 when it uses
// the operator's.
func (r *Retention) GuildPeriod(ctx context.Context, guildID string) (_ time.Duration, err error) {
	defer wrap(&err, "get a guild's retention")
	tx, err := r.db.beginRead(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var ms int64
	err = tx.QueryRowContext(ctx, `SELECT retention_ms FROM guild_retention WHERE guild_id = ?`, guildID).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return time.Duration(ms) * time.Millisecond, err
}

// SetGuildPeriod sets the guild's own retention period, or with d = 0
// returns the guild to the operator's, and appends an audit entry naming
// actorID. Whether d is within the operator's limit is the caller's
// decision: the limit is configuration, which storage does not read. It
// returns ErrInvalid for a negative period or a period under a
// millisecond.
func (r *Retention) SetGuildPeriod(ctx context.Context, guildID string, d time.Duration, actorID string, at time.Time) (err error) {
	defer wrap(&err, "set a guild's retention")
	if guildID == "" || actorID == "" || d < 0 || (d > 0 && d < time.Millisecond) {
		return fmt.Errorf("%w: a retention period needs a guild, an actor and a period of at least a millisecond", ErrInvalid)
	}
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rec := newRecorder(r.c)
	where := `t.guild_id = ?`
	if _, err := rec.remove(ctx, tx, tGuildRetention, where, guildID); err != nil {
		return err
	}
	details := "the operator's retention"
	if d == 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM guild_retention WHERE guild_id = ?`, guildID); err != nil {
			return err
		}
	} else {
		details = fmt.Sprintf("cases kept %s after they stop counting", d)
		if _, err := tx.ExecContext(ctx, `INSERT INTO guild_retention (guild_id, retention_ms, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (guild_id) DO UPDATE SET retention_ms = excluded.retention_ms, updated_at = excluded.updated_at,
			row_mac = NULL`, guildID, d.Milliseconds(), at.UnixMilli()); err != nil {
			return err
		}
		if err := rec.add(ctx, tx, tGuildRetention, where, guildID); err != nil {
			return err
		}
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: guildID, ActorID: actorID, Action: "retention.set", Details: details,
	}); err != nil {
		return err
	}
	return rec.commit(ctx, tx)
}

// EffectivePeriod is the retention in force in a guild: the shorter of the
// operator's (0: none) and the guild's own (0: none), as the sweep applies
// it.
func EffectivePeriod(operator, guild time.Duration) time.Duration {
	switch {
	case operator <= 0:
		return guild
	case guild <= 0:
		return operator
	}
	return min(operator, guild)
}

// caseEnded is the SQL of the time at which case c stopped counting, NULL
// while it never will: when it was revoked; else when it expires, if it
// does; else, for a warning, never; for a permanent ban (no duration),
// never, since the member is still banned; for other actions and notes,
// when they were made plus their duration (0 for a kick, a note, an unban
// or an untimeout).
const caseEnded = `CASE
	WHEN c.revoked_at IS NOT NULL THEN c.revoked_at
	WHEN c.expires_at IS NOT NULL THEN c.expires_at
	WHEN c.kind = 'warning' THEN NULL
	WHEN c.kind = 'ban' AND c.duration_ms = 0 THEN NULL
	ELSE c.created_at + c.duration_ms END`

// sweepable is the condition on case c (joined with its guild's retention
// r) of the sweep: it stopped counting longer ago than the guild's
// effective period, the shorter of the operator's (?2, 0 for none) and the
// guild's own, at time ?1; and no pending or running action points at it,
// since the action names it in the modlog when it runs.
const sweepable = `(` + caseEnded + `) < ?1 - (CASE WHEN ?2 <= 0 THEN r.retention_ms
		WHEN r.retention_ms IS NULL THEN ?2 ELSE min(?2, r.retention_ms) END)
	AND c.id NOT IN (SELECT case_id FROM scheduled_actions
		WHERE state IN ('pending', 'running') AND case_id IS NOT NULL)`

// SweepResult is what one batch of the sweep did.
type SweepResult struct {
	// Deleted counts the cases deleted.
	Deleted int
	// Next is the After of the next batch.
	Next int64
	// More reports that cases after Next may be due: call again.
	More bool
}

// SweepBatch deletes up to limit cases, among those with an ID above
// after, that stopped counting (see caseEnded) longer ago than their
// guild's effective retention period at now: the shorter of operator (0:
// none) and the guild's own period. A guild with neither keeps its cases.
// A case that a pending or running scheduled action points at stays, and
// an active warning never qualifies. Each deleted case leaves its number
// in erased_cases, so that numbers are never reused and verification
// knows the gap; its reason history, modlog messages and finished
// scheduled actions go with it, and cases linked to it lose the link. One
// audit entry counts the batch.
//
// The cases are looked for in a read transaction, which writers do not
// wait for; the write transaction only checks and deletes them.
func (r *Retention) SweepBatch(ctx context.Context, operator time.Duration, now time.Time, after int64, limit int) (_ SweepResult, err error) {
	defer wrap(&err, "sweep expired cases")
	if limit <= 0 {
		return SweepResult{}, fmt.Errorf("%w: a sweep batch needs a positive limit", ErrInvalid)
	}
	args := []any{now.UnixMilli(), operator.Milliseconds(), after, limit}
	found, err := r.queryIDs(ctx, `SELECT c.id FROM cases c LEFT JOIN guild_retention r ON r.guild_id = c.guild_id
		WHERE c.id > ?3 AND `+sweepable+` ORDER BY c.id LIMIT ?4`, args...)
	if err != nil || len(found) == 0 {
		return SweepResult{Next: after}, err
	}
	res := SweepResult{Next: found[len(found)-1], More: len(found) == limit}
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return SweepResult{}, err
	}
	defer tx.Rollback()
	// Checked again in the write transaction: an action may have been
	// scheduled, or a guild's period changed, since the read.
	ids, err := scanIDs(tx.QueryContext(ctx, `SELECT c.id FROM cases c LEFT JOIN guild_retention r ON r.guild_id = c.guild_id
		WHERE c.id IN (SELECT value FROM json_each(?3)) AND `+sweepable+` ORDER BY c.id`,
		now.UnixMilli(), operator.Milliseconds(), idList(found)))
	if err != nil || len(ids) == 0 {
		return res, err
	}
	rec := newRecorder(r.c)
	if err := deleteCaseRows(ctx, tx, rec, idList(ids), now, true); err != nil {
		return SweepResult{}, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: now, ActorID: RetentionActor, Action: "retention.sweep",
		Details: fmt.Sprintf("%d cases past their retention deleted", len(ids)),
	}); err != nil {
		return SweepResult{}, err
	}
	if err := rec.commit(ctx, tx); err != nil {
		return SweepResult{}, err
	}
	res.Deleted = len(ids)
	return res, nil
}

// queryIDs runs a query of IDs in a read transaction.
func (r *Retention) queryIDs(ctx context.Context, q string, args ...any) ([]int64, error) {
	tx, err := r.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return scanIDs(tx.QueryContext(ctx, q, args...))
}

// scanIDs reads a column of integers.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// idList is ids as the JSON array that json_each reads: one parameter for
// a list of any length.
func idList(ids []int64) string {
	b, _ := json.Marshal(ids) // a slice of integers always marshals
	return string(b)
}

// deleteCaseRows deletes the cases whose IDs the JSON array list holds,
// with what hangs off them: reason history, modlog messages and scheduled
// actions that point at them; cases that link to them keep their row and
// lose the link. With keepNumbers, each number goes into erased_cases and
// the guild's counter rises to the highest, as an erasure does; a guild
// whose records all go needs neither.
func deleteCaseRows(ctx context.Context, tx dbtx, rec *recorder, list string, at time.Time, keepNumbers bool) error {
	const doomed = `(SELECT value FROM json_each(?))`
	const numbers = `(SELECT guild_id, number FROM cases WHERE id IN ` + doomed + `)`
	linking, err := rec.remove(ctx, tx, tCases, `t.linked_case_id IN `+doomed+` AND NOT t.id IN `+doomed, list, list)
	if err != nil {
		return err
	}
	for _, step := range []struct {
		table int
		where string
	}{
		{tScheduled, `t.case_id IN ` + doomed},
		{tHistory, `t.case_id IN ` + doomed},
		{tModlogMessages, `(t.guild_id, t.case_number) IN ` + numbers},
		{tMessageLinks, `(t.guild_id, t.case_number) IN ` + numbers},
		{tCases, `t.id IN ` + doomed},
	} {
		if _, err := rec.remove(ctx, tx, step.table, step.where, list); err != nil {
			return err
		}
	}
	if keepNumbers {
		counter := `t.guild_id IN (SELECT guild_id FROM cases WHERE id IN ` + doomed + `)`
		if err := rec.change(ctx, tx, tCounters, func() error {
			_, err := tx.ExecContext(ctx, `INSERT INTO case_counters (guild_id, last_number)
				SELECT guild_id, max(number) FROM cases WHERE id IN `+doomed+` GROUP BY guild_id
				ON CONFLICT (guild_id) DO UPDATE SET last_number = max(last_number, excluded.last_number)`, list)
			return err
		}, counter, list); err != nil {
			return err
		}
		if err := rec.add(ctx, tx, tCounters, counter+` AND t.row_mac IS NULL`, list); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO erased_cases (guild_id, number, erased_at)
			SELECT guild_id, number, ? FROM cases WHERE id IN `+doomed, at.UnixMilli(), list); err != nil {
			return err
		}
		if err := rec.add(ctx, tx, tErased, `(t.guild_id, t.number) IN `+numbers, list); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM scheduled_actions WHERE case_id IN ` + doomed,
		`DELETE FROM modlog_messages WHERE (guild_id, case_number) IN ` + numbers,
		`DELETE FROM case_message_links WHERE (guild_id, case_number) IN ` + numbers,
		`DELETE FROM cases WHERE id IN ` + doomed, // history by ON DELETE CASCADE
	} {
		if _, err := tx.ExecContext(ctx, q, list); err != nil {
			return err
		}
	}
	return rec.readd(ctx, tx, tCases, linking)
}
