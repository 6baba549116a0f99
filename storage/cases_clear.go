package storage

import (
	"context"
	"fmt"
	"slices"
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

// RevokeWarnings revokes the warnings of userID in the guild that are
// active at at and whose numbers are among numbers (what the moderator was
// shown), in one transaction, by byID and with reason, each with its own
// audit entry as Revoke writes it. A warning given since, or one of numbers
// that stopped counting, is left as it is. The cases stay, marked revoked.
// It returns them as they then stand, oldest first, and how many active
// warnings of the member were not among numbers.
func (s *Cases) RevokeWarnings(ctx context.Context, guildID, userID string, numbers []int64, byID, reason string, at time.Time) (_ []Case, newer int, err error) {
	defer wrap(&err, "revoke a member's warnings")
	if byID == "" {
		return nil, 0, fmt.Errorf("%w: revoking needs a moderator", ErrInvalid)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	target, idx := indexIn(`c.target_index`, userIndexes(s.c, userID))
	args := append(append([]any{guildID, string(CaseWarning)}, idx...), at.UnixMilli())
	active, err := queryCases(ctx, tx, s.c, `c.guild_id = ? AND c.kind = ? AND `+target+` AND `+activeCase+` ORDER BY c.number`, args...)
	if err != nil {
		return nil, 0, err
	}
	rec := newRecorder(s.c)
	var out []Case
	for _, c := range active {
		if !slices.Contains(numbers, c.Number) {
			newer++
			continue
		}
		if err := revokeCase(ctx, tx, rec, guildID, c.Number, byID, reason, at); err != nil {
			return nil, 0, err
		}
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{
			At: at, GuildID: guildID, ActorID: byID, Action: "case.revoke", Details: fmt.Sprintf("case %d", c.Number),
		}); err != nil {
			return nil, 0, err
		}
		c, err := getCase(ctx, tx, s.c, guildID, c.Number)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, newer, nil
	}
	return out, newer, rec.commit(ctx, tx)
}
