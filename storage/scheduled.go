package storage

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ActionKind is what a scheduled action does.
type ActionKind string

// The kinds of scheduled action.
const (
	ActionUnban     ActionKind = "unban"     // end a temporary ban
	ActionUntimeout ActionKind = "untimeout" // end a timeout early, or re-check one
)

// ActionState is where a scheduled action is in its life.
type ActionState string

// The states of a scheduled action. pending → running → done or failed;
// pending → cancelled.
const (
	StatePending   ActionState = "pending"
	StateRunning   ActionState = "running"
	StateDone      ActionState = "done"
	StateFailed    ActionState = "failed"
	StateCancelled ActionState = "cancelled"
)

// ScheduledAction is work to do at a time, such as lifting a temporary ban.
type ScheduledAction struct {
	ID         int64
	GuildID    string
	Kind       ActionKind
	TargetID   string
	DueAt      time.Time
	State      ActionState
	Attempts   int
	LastError  string
	CaseNumber int64 // the case that scheduled it; 0: none
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewScheduledAction is the input of Schedule.Add.
type NewScheduledAction struct {
	GuildID    string
	Kind       ActionKind
	TargetID   string
	DueAt      time.Time
	CaseNumber int64 // a case of the same guild; 0: none
}

// Schedule is the repository of scheduled actions.
type Schedule struct {
	db *DB
	c  Cipher
}

// NewSchedule returns the scheduled action repository of db, sealing with c.
func NewSchedule(db *DB, c Cipher) *Schedule { return &Schedule{db: db, c: c} }

// Add schedules an action at at and returns it. A pending action of the same
// kind for the same user and guild is cancelled first: a new temporary ban
// replaces the old one's unban. It returns ErrInvalid for an unknown kind or
// missing field, and ErrNotFound if CaseNumber names no case of the guild.
func (s *Schedule) Add(ctx context.Context, n NewScheduledAction, at time.Time) (_ ScheduledAction, err error) {
	defer wrap(&err, "schedule action")
	if n.GuildID == "" || n.TargetID == "" || n.DueAt.IsZero() || (n.Kind != ActionUnban && n.Kind != ActionUntimeout) {
		return ScheduledAction{}, fmt.Errorf("%w: a scheduled action needs a guild, a known kind, a target and a time", ErrInvalid)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return ScheduledAction{}, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	if _, err := cancelActions(ctx, tx, rec, userIndexes(s.c, n.TargetID), n.GuildID, n.Kind, time.Time{}, at); err != nil {
		return ScheduledAction{}, err
	}
	id, err := insertAction(ctx, tx, rec, n, at)
	if err != nil {
		return ScheduledAction{}, err
	}
	a, err := getAction(ctx, tx, s.c, id)
	if err != nil {
		return ScheduledAction{}, err
	}
	if err := auditSchedule(ctx, tx, rec, n.GuildID, "schedule.add", []int64{id}, at); err != nil {
		return ScheduledAction{}, err
	}
	return a, rec.commit(ctx, tx)
}

// Pending counts the actions waiting to run, due or not.
func (s *Schedule) Pending(ctx context.Context) (_ int, err error) {
	defer wrap(&err, "count pending actions")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM scheduled_actions WHERE state = 'pending'`).Scan(&n)
	return n, err
}

// Get returns the action with id, or ErrNotFound.
func (s *Schedule) Get(ctx context.Context, id int64) (_ ScheduledAction, err error) {
	defer wrap(&err, fmt.Sprintf("get scheduled action %d", id))
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return ScheduledAction{}, err
	}
	defer tx.Rollback()
	return getAction(ctx, tx, s.c, id)
}

// ClaimDue marks up to limit pending actions due at or before now as
// running, counts an attempt, and returns them, earliest first. The select
// and the update are one write transaction, so two callers never claim the
// same action.
func (s *Schedule) ClaimDue(ctx context.Context, now time.Time, limit int) (_ []ScheduledAction, err error) {
	defer wrap(&err, "claim due actions")
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	due, err := rec.remove(ctx, tx, tScheduled, `t.id IN (SELECT id FROM scheduled_actions
		WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?)`, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(due))
	for i, k := range due {
		ids[i] = k[0].(int64)
		if _, err := tx.ExecContext(ctx, `UPDATE scheduled_actions
			SET state = 'running', attempts = attempts + 1, claimed_at = ?, updated_at = ? WHERE id = ?`,
			now.UnixMilli(), now.UnixMilli(), ids[i]); err != nil {
			return nil, err
		}
	}
	if err := rec.readd(ctx, tx, tScheduled, due); err != nil {
		return nil, err
	}
	if err := auditSchedule(ctx, tx, rec, "", "schedule.claim", ids, now); err != nil {
		return nil, err
	}
	out, err := listActions(ctx, tx, s.c, ids)
	if err != nil {
		return nil, err
	}
	// RETURNING gives rows in no promised order.
	slices.SortFunc(out, func(a, b ScheduledAction) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.ID, b.ID))
	})
	return out, rec.commit(ctx, tx)
}

// Complete marks a running action done. It returns ErrNotFound if there is
// no running action with id.
func (s *Schedule) Complete(ctx context.Context, id int64, at time.Time) (err error) {
	defer wrap(&err, fmt.Sprintf("complete scheduled action %d", id))
	return s.finish(ctx, id, StateDone, "", time.Time{}, at)
}

// Fail records a failed attempt of a running action. With a non-zero retryAt
// the action becomes pending again, due then; otherwise it is failed for
// good. It returns ErrNotFound if there is no running action with id.
func (s *Schedule) Fail(ctx context.Context, id int64, reason string, retryAt, at time.Time) (err error) {
	defer wrap(&err, fmt.Sprintf("fail scheduled action %d", id))
	state := StateFailed
	if !retryAt.IsZero() {
		state = StatePending
	}
	return s.finish(ctx, id, state, reason, retryAt, at)
}

// Cancel cancels the pending actions of kind for userID in a guild and
// returns how many it cancelled (0 is not an error).
func (s *Schedule) Cancel(ctx context.Context, guildID, userID string, kind ActionKind, at time.Time) (int, error) {
	return s.CancelCreatedBefore(ctx, guildID, userID, kind, time.Time{}, at)
}

// CancelCreatedBefore is Cancel for the actions created before before only
// (all of them when before is zero): an unban made outside the bot and
// handled late ends the temporary bans made before it, not one made since.
func (s *Schedule) CancelCreatedBefore(ctx context.Context, guildID, userID string, kind ActionKind, before, at time.Time) (_ int, err error) {
	defer wrap(&err, "cancel scheduled actions")
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	n, err := cancelActions(ctx, tx, rec, userIndexes(s.c, userID), guildID, kind, before, at)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{At: at, GuildID: guildID, ActorID: scheduleActor,
			Action: "schedule.cancel", Details: fmt.Sprintf("%d pending %s cancelled", n, kind)}); err != nil {
			return 0, err
		}
	}
	return n, rec.commit(ctx, tx)
}

// RequeueStale returns to pending the actions claimed before claimedBefore
// and still running: their runner died (the bot crashed or was stopped).
// Such an action may have taken effect before the crash, so actions must be
// safe to repeat, as unban and untimeout are.
func (s *Schedule) RequeueStale(ctx context.Context, claimedBefore, at time.Time) (_ int, err error) {
	defer wrap(&err, "requeue stale actions")
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	stale, err := rec.remove(ctx, tx, tScheduled, `t.state = 'running' AND t.claimed_at < ?`, claimedBefore.UnixMilli())
	if err != nil {
		return 0, err
	}
	for _, k := range stale {
		if _, err := tx.ExecContext(ctx, `UPDATE scheduled_actions SET state = 'pending', claimed_at = NULL,
			updated_at = ? WHERE id = ?`, at.UnixMilli(), k[0]); err != nil {
			return 0, err
		}
	}
	if err := rec.readd(ctx, tx, tScheduled, stale); err != nil {
		return 0, err
	}
	ids := make([]int64, len(stale))
	for i, k := range stale {
		ids[i] = k[0].(int64)
	}
	if err := auditSchedule(ctx, tx, rec, "", "schedule.requeue", ids, at); err != nil {
		return 0, err
	}
	return len(stale), rec.commit(ctx, tx)
}

func (s *Schedule) finish(ctx context.Context, id int64, state ActionState, reason string, dueAt, at time.Time) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var nonce []byte
	if err := tx.QueryRowContext(ctx, `SELECT nonce FROM scheduled_actions WHERE id = ? AND state = 'running'`,
		id).Scan(&nonce); err != nil {
		return err
	}
	var lastErr []byte
	if reason != "" {
		// Error text from Discord may quote a name; seal it like the rest.
		if lastErr, err = seal(s.c, reason, adScheduled("last_error", nonce)); err != nil {
			return err
		}
	}
	rec := newRecorder(s.c)
	if err := rec.change(ctx, tx, tScheduled, func() error {
		_, err := tx.ExecContext(ctx, `UPDATE scheduled_actions SET state = ?, last_error = coalesce(?, last_error),
			due_at = coalesce(?, due_at), claimed_at = NULL, updated_at = ? WHERE id = ?`,
			string(state), lastErr, nullTime(dueAt), at.UnixMilli(), id)
		return err
	}, `t.id = ?`, id); err != nil {
		return err
	}
	if err := deleteIfErased(ctx, tx, rec, id); err != nil {
		return err
	}
	action := "schedule." + string(state)
	if state == StatePending {
		action = "schedule.retry"
	}
	if err := auditSchedule(ctx, tx, rec, "", action, []int64{id}, at); err != nil {
		return err
	}
	return rec.commit(ctx, tx)
}

func insertAction(ctx context.Context, tx dbtx, rec *recorder, n NewScheduledAction, at time.Time) (int64, error) {
	c := rec.c
	var caseID sql.NullInt64
	if n.CaseNumber != 0 {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
			n.GuildID, n.CaseNumber).Scan(&caseID); errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: case %d does not exist", ErrNotFound, n.CaseNumber)
		} else if err != nil {
			return 0, err
		}
	}
	nonce := make([]byte, 16)
	rand.Read(nonce) // never fails (crypto/rand)
	target, err := seal(c, n.TargetID, adScheduled("target_id", nonce))
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO scheduled_actions (nonce, guild_id, kind, target_index,
		target_id, due_at, case_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nonce, n.GuildID, string(n.Kind), userIndex(c, n.TargetID), target, n.DueAt.UnixMilli(), caseID,
		at.UnixMilli(), at.UnixMilli()).Scan(&id)
	if err != nil {
		return 0, err
	}
	return id, rec.add(ctx, tx, tScheduled, `t.id = ?`, id)
}

// cancelActions cancels the pending actions of kind in a guild aimed at the
// user of blind indexes idx. It matches every index the user's rows may
// carry, so that during a rotation of the index keys an older pending
// action is cancelled, not left beside the new one.
func cancelActions(ctx context.Context, tx dbtx, rec *recorder, idx [][]byte, guildID string, kind ActionKind, before, at time.Time) (int, error) {
	target, args := indexIn(`t.target_index`, idx)
	args = append(append([]any{guildID}, args...), string(kind))
	where := `t.guild_id = ? AND ` + target + ` AND t.kind = ? AND t.state = 'pending'`
	if !before.IsZero() {
		where += ` AND t.created_at < ?`
		args = append(args, before.UnixMilli())
	}
	pending, err := rec.remove(ctx, tx, tScheduled, where, args...)
	if err != nil {
		return 0, err
	}
	for _, k := range pending {
		if _, err := tx.ExecContext(ctx, `UPDATE scheduled_actions SET state = 'cancelled', updated_at = ?
			WHERE id = ?`, at.UnixMilli(), k[0]); err != nil {
			return 0, err
		}
	}
	if err := rec.readd(ctx, tx, tScheduled, pending); err != nil {
		return 0, err
	}
	for _, k := range pending {
		if err := deleteIfErased(ctx, tx, rec, k[0].(int64)); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

const actionSelect = `SELECT a.id, a.nonce, a.guild_id, a.kind, a.target_id, a.due_at, a.state, a.attempts,
	a.last_error, c.number, a.created_at, a.updated_at
	FROM scheduled_actions a LEFT JOIN cases c ON c.id = a.case_id WHERE a.id = ?`

func getAction(ctx context.Context, tx dbtx, c Cipher, id int64) (ScheduledAction, error) {
	var (
		a                      ScheduledAction
		nonce, target, lastErr []byte
		kind, state            string
		due, created, updated  int64
		caseNumber             sql.NullInt64
	)
	if err := tx.QueryRowContext(ctx, actionSelect, id).Scan(&a.ID, &nonce, &a.GuildID, &kind, &target,
		&due, &state, &a.Attempts, &lastErr, &caseNumber, &created, &updated); err != nil {
		return ScheduledAction{}, err
	}
	a.Kind, a.State, a.CaseNumber = ActionKind(kind), ActionState(state), caseNumber.Int64
	a.DueAt, a.CreatedAt, a.UpdatedAt = time.UnixMilli(due).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	o := opener{c: c}
	a.TargetID = o.open(target, adScheduled("target_id", nonce))
	a.LastError = o.openNull(lastErr, adScheduled("last_error", nonce))
	return a, o.err
}

func listActions(ctx context.Context, tx dbtx, c Cipher, ids []int64) ([]ScheduledAction, error) {
	out := make([]ScheduledAction, 0, len(ids))
	for _, id := range ids {
		a, err := getAction(ctx, tx, c, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// scheduleActor is the actor of the audit entries of scheduled actions.
const scheduleActor = "bot"

// auditSchedule appends the audit entry of a change to scheduled actions,
// if any changed. Each change is in the chain, not only in the head's sums:
// otherwise an older head from before it would still match the chain, and
// could be put back with the older rows (a timed ban's unban deleted).
func auditSchedule(ctx context.Context, tx dbtx, rec *recorder, guildID, action string, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	_, err := appendAudit(ctx, tx, rec, AuditEntry{At: at, GuildID: guildID, ActorID: scheduleActor,
		Action: action, Details: "scheduled action " + strings.Join(parts, ", ")})
	return err
}
