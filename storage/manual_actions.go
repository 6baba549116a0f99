package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Actions a moderator took outside the bot (Discord's member menu, another
// bot) reach the bot as audit-log entries and become cases. The guild's
// switch for it lives beside its other settings (GuildSettings.
// IgnoreManualActions); the entries already recorded are kept so that a
// replayed gateway event records nothing twice.

// manualActionsOff reads whether the guild turned the recording off.
func manualActionsOff(ctx context.Context, tx dbtx, guildID string) (bool, error) {
	var enabled bool
	err := tx.QueryRowContext(ctx, `SELECT enabled FROM guild_manual_actions WHERE guild_id = ?`, guildID).Scan(&enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return !enabled, err
}

// putManualActions stores the switch: a row only while it is off, so that
// guilds on the default hold none.
func putManualActions(ctx context.Context, tx dbtx, rec *recorder, s GuildSettings, at time.Time) error {
	where := `t.guild_id = ?`
	if _, err := rec.remove(ctx, tx, tManualSettings, where, s.GuildID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM guild_manual_actions WHERE guild_id = ?`, s.GuildID); err != nil {
		return err
	}
	if !s.IgnoreManualActions {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO guild_manual_actions (guild_id, enabled, updated_at) VALUES (?, 0, ?)`,
		s.GuildID, at.UnixMilli()); err != nil {
		return err
	}
	return rec.add(ctx, tx, tManualSettings, where, s.GuildID)
}

// CreateManual stores the case of an action taken outside the bot, read
// from the guild's audit-log entry entryID, unless that entry was recorded
// before, or the action predates an erasure of the member: then it returns
// false and stores nothing. The check and the case
// share one write transaction, so two deliveries of the same entry (a
// gateway replay racing the original) record it once.
func (s *Cases) CreateManual(ctx context.Context, n NewCase, entryID string) (_ Case, recorded bool, err error) {
	defer wrap(&err, "create the case of a manual action")
	if err := n.validate(); err != nil {
		return Case{}, false, err
	}
	if entryID == "" {
		return Case{}, false, fmt.Errorf("%w: a manual action needs its audit-log entry", ErrInvalid)
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return Case{}, false, err
	}
	defer tx.Rollback()
	var seen int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM manual_action_entries WHERE guild_id = ? AND entry_id = ?`,
		n.GuildID, entryID).Scan(&seen); err != nil {
		return Case{}, false, err
	}
	if seen > 0 {
		return Case{}, false, nil
	}
	// An action from before the member's erasure, handled after it,
	// would bring back what the erasure removed.
	erased, err := erasedIn(ctx, tx, s.c, n.GuildID, userIndex(s.c, n.TargetID))
	if err != nil {
		return Case{}, false, err
	}
	if !erased.IsZero() && n.CreatedAt.UnixMilli() <= erased.UnixMilli() {
		return Case{}, false, nil
	}
	rec := newRecorder(s.c)
	number, err := nextCaseNumber(ctx, tx, n.GuildID)
	if err != nil {
		return Case{}, false, err
	}
	if err := insertCase(ctx, tx, rec, number, n); err != nil {
		return Case{}, false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO manual_action_entries (guild_id, entry_id, recorded_at) VALUES (?, ?, ?)`,
		n.GuildID, entryID, n.CreatedAt.UnixMilli()); err != nil {
		return Case{}, false, err
	}
	if err := rec.add(ctx, tx, tManualEntries, `t.guild_id = ? AND t.entry_id = ?`, n.GuildID, entryID); err != nil {
		return Case{}, false, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: n.CreatedAt, GuildID: n.GuildID, ActorID: n.ModeratorID, Action: "case.create",
		Details: fmt.Sprintf("case %d (%s, taken outside the bot)", number, n.Kind),
	}); err != nil {
		return Case{}, false, err
	}
	return createdCase(number, n), true, rec.commit(ctx, tx)
}

// ManualEntryKeep is how long the record of a manual action's audit-log
// entry is kept. It exists to catch a gateway replay, which comes within
// minutes of the entry; past that it only ties an entry in the server's
// own audit log to a time, which after an erasure would say that records
// of someone were made then.
const ManualEntryKeep = 7 * 24 * time.Hour

// PruneManualEntries deletes the records of audit-log entries made before
// before, and returns how many went.
func (r *Retention) PruneManualEntries(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "prune the records of manual actions' audit-log entries")
	tx, err := r.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(r.c)
	const where = `t.recorded_at < ?`
	gone, err := rec.remove(ctx, tx, tManualEntries, where, before.UnixMilli())
	if err != nil || len(gone) == 0 {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM manual_action_entries WHERE recorded_at < ?`, before.UnixMilli()); err != nil {
		return 0, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: time.Now(), ActorID: RetentionActor, Action: "retention.manual-entries",
		Details: fmt.Sprintf("%d records of audit-log entries of manual actions deleted", len(gone)),
	}); err != nil {
		return 0, err
	}
	if err := rec.commit(ctx, tx); err != nil {
		return 0, err
	}
	return len(gone), nil
}
