package storage

import (
	"context"
	"fmt"
	"time"
)

// Recent returns up to limit of a guild's cases, revoked and expired ones
// too, newest first (for autocompletion of case numbers).
func (s *Cases) Recent(ctx context.Context, guildID string, limit int) (_ []Case, err error) {
	defer wrap(&err, "list recent cases")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return queryCases(ctx, tx, s.c, `c.guild_id = ? ORDER BY c.number DESC LIMIT ?`, guildID, limit)
}

// RevokeWarnings revokes every warning of userID in the guild that is
// active at at, in one transaction, by byID and with reason, each with its
// own audit entry as Revoke writes it. The cases stay, marked revoked. It
// returns them as they then stand, oldest first; none when the member has
// no active warning.
func (s *Cases) RevokeWarnings(ctx context.Context, guildID, userID, byID, reason string, at time.Time) (_ []Case, err error) {
	defer wrap(&err, "revoke a member's warnings")
	if byID == "" {
		return nil, fmt.Errorf("%w: revoking needs a moderator", ErrInvalid)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	target, idx := indexIn(`c.target_index`, userIndexes(s.c, userID))
	args := append(append([]any{guildID, string(CaseWarning)}, idx...), at.UnixMilli())
	active, err := queryCases(ctx, tx, s.c, `c.guild_id = ? AND c.kind = ? AND `+target+` AND `+activeCase+` ORDER BY c.number`, args...)
	if err != nil || len(active) == 0 {
		return nil, err
	}
	rec := newRecorder(s.c)
	out := make([]Case, 0, len(active))
	for _, c := range active {
		if err := revokeCase(ctx, tx, rec, guildID, c.Number, byID, reason, at); err != nil {
			return nil, err
		}
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{
			At: at, GuildID: guildID, ActorID: byID, Action: "case.revoke", Details: fmt.Sprintf("case %d", c.Number),
		}); err != nil {
			return nil, err
		}
		c, err := getCase(ctx, tx, s.c, guildID, c.Number)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rec.commit(ctx, tx)
}
