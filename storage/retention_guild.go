package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Departure is a guild the bot left, whose records are deleted at DeleteAt
// unless the bot is added back before.
type Departure struct {
	GuildID  string
	LeftAt   time.Time
	DeleteAt time.Time
}

// RecordDeparture notes that the bot left the guild at leftAt and that its
// records are to be deleted at deleteAt. Leaving again moves both times. It
// returns ErrInvalid unless deleteAt is after leftAt.
func (r *Retention) RecordDeparture(ctx context.Context, guildID string, leftAt, deleteAt time.Time) (err error) {
	defer wrap(&err, "record a departure")
	if guildID == "" || !deleteAt.After(leftAt) {
		return fmt.Errorf("%w: a departure needs a guild and a deletion after it", ErrInvalid)
	}
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rec := newRecorder(r.c)
	where := `t.guild_id = ?`
	if _, err := rec.remove(ctx, tx, tDepartures, where, guildID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO guild_departures (guild_id, left_at, delete_at) VALUES (?, ?, ?)
		ON CONFLICT (guild_id) DO UPDATE SET left_at = excluded.left_at, delete_at = excluded.delete_at, row_mac = NULL`,
		guildID, leftAt.UnixMilli(), deleteAt.UnixMilli()); err != nil {
		return err
	}
	if err := rec.add(ctx, tx, tDepartures, where, guildID); err != nil {
		return err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: leftAt, GuildID: guildID, ActorID: RetentionActor, Action: "retention.departure",
		Details: "the bot left; records deleted at " + deleteAt.UTC().Format(time.RFC3339),
	}); err != nil {
		return err
	}
	return rec.commit(ctx, tx)
}

// CancelDeparture forgets the guild's pending deletion, because the bot is
// back in it, and reports whether there was one. Nothing is written when
// there was none, which is the usual case at every start.
func (r *Retention) CancelDeparture(ctx context.Context, guildID string, at time.Time) (_ bool, err error) {
	defer wrap(&err, "cancel a departure")
	// Looked for first on the readers: every guild is announced at every
	// start, and a write transaction each would queue behind one another
	// and ahead of the first commands.
	pending, err := r.queryIDs(ctx, `SELECT 1 FROM guild_departures WHERE guild_id = ?`, guildID)
	if err != nil || len(pending) == 0 {
		return false, err
	}
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	rec := newRecorder(r.c)
	gone, err := rec.remove(ctx, tx, tDepartures, `t.guild_id = ?`, guildID)
	if err != nil || len(gone) == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM guild_departures WHERE guild_id = ?`, guildID); err != nil {
		return false, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: guildID, ActorID: RetentionActor, Action: "retention.return",
		Details: "the bot is back; the pending deletion is cancelled",
	}); err != nil {
		return false, err
	}
	return true, rec.commit(ctx, tx)
}

// Departures lists the pending deletions of guilds the bot left, soonest
// first.
func (r *Retention) Departures(ctx context.Context) (_ []Departure, err error) {
	defer wrap(&err, "list departures")
	tx, err := r.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT guild_id, left_at, delete_at FROM guild_departures ORDER BY delete_at, guild_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Departure
	for rows.Next() {
		var d Departure
		var left, del int64
		if err := rows.Scan(&d.GuildID, &left, &del); err != nil {
			return nil, err
		}
		d.LeftAt, d.DeleteAt = time.UnixMilli(left).UTC(), time.UnixMilli(del).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteGuildBatch deletes up to limit of the records of a guild whose
// departure is due at now, and reports whether the guild is done: all its
// cases with their history, modlog messages and scheduled actions, the
// numbers of erased cases, and last, once those are gone, its settings,
// reason presets, moderator roles, escalation rules, case counter, member erasures,
// retention period and the departure itself. It does nothing, and reports
// done, when the guild has no departure due (the bot came back).
//
// Cases go from the highest number down, erased numbers with them, so that
// what is left between batches still runs 1, 2, … without a gap: a
// verification between two batches passes. Each batch appends an audit
// entry with its count.
func (r *Retention) DeleteGuildBatch(ctx context.Context, guildID string, now time.Time, limit int) (done bool, err error) {
	defer wrap(&err, "delete a departed guild's records")
	if limit <= 0 {
		return false, fmt.Errorf("%w: a deletion batch needs a positive limit", ErrInvalid)
	}
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var due int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM guild_departures WHERE guild_id = ? AND delete_at <= ?`,
		guildID, now.UnixMilli()).Scan(&due); err != nil {
		return false, err
	}
	if due == 0 {
		return true, nil
	}
	rec := newRecorder(r.c)
	var from sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(number) FROM (SELECT number FROM cases WHERE guild_id = ?1
		UNION SELECT number FROM erased_cases WHERE guild_id = ?1 ORDER BY number DESC LIMIT ?2)`,
		guildID, limit).Scan(&from); err != nil {
		return false, err
	}
	var details string
	if from.Valid {
		n, err := deleteGuildCases(ctx, tx, rec, guildID, from.Int64, now)
		if err != nil {
			return false, err
		}
		details = fmt.Sprintf("%d cases of a guild the bot left deleted", n)
	} else {
		if err := deleteGuildRest(ctx, tx, rec, guildID); err != nil {
			return false, err
		}
		details, done = "the last records of a guild the bot left deleted", true
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: now, GuildID: guildID, ActorID: RetentionActor, Action: "retention.guild", Details: details,
	}); err != nil {
		return false, err
	}
	return done, rec.commit(ctx, tx)
}

// deleteGuildCases deletes the guild's cases and erased numbers from from
// up, and returns how many cases went.
func deleteGuildCases(ctx context.Context, tx dbtx, rec *recorder, guildID string, from int64, at time.Time) (int, error) {
	ids, err := scanIDs(tx.QueryContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number >= ? ORDER BY id`, guildID, from))
	if err != nil {
		return 0, err
	}
	if len(ids) > 0 {
		if err := deleteCaseRows(ctx, tx, rec, idList(ids), at, false); err != nil {
			return 0, err
		}
	}
	where := `t.guild_id = ? AND t.number >= ?`
	if _, err := rec.remove(ctx, tx, tErased, where, guildID, from); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM erased_cases WHERE guild_id = ? AND number >= ?`, guildID, from)
	return len(ids), err
}

// deleteGuildRest deletes every record of the guild that is not a case,
// the departure last.
func deleteGuildRest(ctx context.Context, tx dbtx, rec *recorder, guildID string) error {
	// Children first: their seals name the rows they point at.
	for _, t := range []struct {
		table int
		name  string
	}{
		{tScheduled, "scheduled_actions"},
		{tModlogMessages, "modlog_messages"},
		{tPresets, "reason_presets"},
		{tMessageLinks, "case_message_links"},
		{tModRoles, "guild_moderator_roles"},
		{tEscalations, "escalation_rules"},
		{tSettings, "guild_settings"},
		{tCounters, "case_counters"},
		{tGuildRetention, "guild_retention"},
		{tManualSettings, "guild_manual_actions"},
		{tDepartures, "guild_departures"},
		// Kept: member_erasures (keyed marks, no member's data), so that
		// an action from before an erasure, still in Discord's audit log,
		// cannot bring the member back if the bot is added again; and
		// manual_action_entries, which the sweep prunes after a week
		// anyway, so that such a re-add does not record an entry twice.
	} {
		if _, err := rec.remove(ctx, tx, t.table, `t.guild_id = ?`, guildID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE guild_id = ?`, guildID); err != nil {
			return err
		}
	}
	return nil
}
