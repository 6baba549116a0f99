package storage

import (
	"context"
	"fmt"
	"time"
)

// ReasonChange is an earlier reason of a case, kept when the reason was
// edited.
type ReasonChange struct {
	Revision    int64 // 1 for the first edit
	OldReason   string
	ChangedByID string
	ChangedAt   time.Time
}

// UpdateReason replaces a case's reason, keeps the old one in the case's
// history, and returns the updated case. It returns ErrNotFound if there is
// no such case.
func (s *Cases) UpdateReason(ctx context.Context, guildID string, number int64, byID, reason string, at time.Time) (_ Case, err error) {
	defer wrap(&err, fmt.Sprintf("update reason of case %d", number))
	if byID == "" {
		return Case{}, fmt.Errorf("%w: editing a reason needs a moderator", ErrInvalid)
	}
	return s.edit(ctx, guildID, number, byID, "case.reason", at, func(tx dbtx, rec *recorder, cur Case) error {
		if err := addReasonChange(ctx, tx, rec, cur, byID, at); err != nil {
			return err
		}
		ct, err := seal(s.c, reason, adCase("reason", guildID, number))
		if err != nil {
			return err
		}
		return rec.change(ctx, tx, tCases, func() error {
			_, err := tx.ExecContext(ctx, `UPDATE cases SET reason = ? WHERE guild_id = ? AND number = ?`,
				ct, guildID, number)
			return err
		}, `t.guild_id = ? AND t.number = ?`, guildID, number)
	})
}

// History returns the earlier reasons of a case, oldest first; empty if the
// reason was never edited. It returns ErrNotFound if there is no such case.
func (s *Cases) History(ctx context.Context, guildID string, number int64) (_ []ReasonChange, err error) {
	defer wrap(&err, fmt.Sprintf("history of case %d", number))
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
		guildID, number).Scan(&id); err != nil {
		return nil, err
	}
	return listReasonChanges(ctx, tx, s.c, id, guildID, number)
}

// addReasonChange stores cur's reason as the case's next history revision.
// The old reason is sealed afresh: its ciphertext is bound to the cases row
// and would not open as a history row.
func addReasonChange(ctx context.Context, tx dbtx, rec *recorder, cur Case, byID string, at time.Time) error {
	c := rec.c
	var id, revision int64
	if err := tx.QueryRowContext(ctx, `SELECT c.id, coalesce(max(h.revision), 0) + 1
		FROM cases c LEFT JOIN case_history h ON h.case_id = c.id
		WHERE c.guild_id = ? AND c.number = ? GROUP BY c.id`, cur.GuildID, cur.Number).Scan(&id, &revision); err != nil {
		return err
	}
	s := sealer{c: c}
	old := s.seal(cur.Reason, adHistory("old_reason", cur.GuildID, cur.Number, revision))
	by := s.seal(byID, adHistory("changed_by", cur.GuildID, cur.Number, revision))
	if s.err != nil {
		return s.err
	}
	var rowid int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO case_history (case_id, revision, old_reason, changed_by, changed_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, id, revision, old, by, at.UnixMilli()).Scan(&rowid); err != nil {
		return err
	}
	return rec.add(ctx, tx, tHistory, `t.id = ?`, rowid)
}

func listReasonChanges(ctx context.Context, tx dbtx, c Cipher, caseID int64, guildID string, number int64) ([]ReasonChange, error) {
	rows, err := tx.QueryContext(ctx, `SELECT revision, old_reason, changed_by, changed_at
		FROM case_history WHERE case_id = ? ORDER BY revision`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReasonChange
	for rows.Next() {
		var (
			rc      ReasonChange
			old, by []byte
			at      int64
		)
		if err := rows.Scan(&rc.Revision, &old, &by, &at); err != nil {
			return nil, err
		}
		o := opener{c: c}
		rc.OldReason = o.open(old, adHistory("old_reason", guildID, number, rc.Revision))
		rc.ChangedByID = o.open(by, adHistory("changed_by", guildID, number, rc.Revision))
		if o.err != nil {
			return nil, o.err
		}
		rc.ChangedAt = time.UnixMilli(at).UTC()
		out = append(out, rc)
	}
	return out, rows.Err()
}
