package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// MemberRecords is everything a guild's records hold about one member:
// what a data export gives them.
type MemberRecords struct {
	GuildID, UserID string
	// Cases whose target is the member, notes included, oldest first.
	Cases []Case
	// History holds the earlier reasons of the cases that have any, by
	// case number.
	History map[int64][]ReasonChange
	// Scheduled are the actions concerning the member, oldest first.
	Scheduled []ScheduledAction
}

// MemberRecords returns what the guild's records hold about userID.
func (s *Cases) MemberRecords(ctx context.Context, guildID, userID string) (_ MemberRecords, err error) {
	defer wrap(&err, "read a member's records")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return MemberRecords{}, err
	}
	defer tx.Rollback()
	out := MemberRecords{GuildID: guildID, UserID: userID, History: map[int64][]ReasonChange{}}
	target, idx := indexIn(`c.target_index`, userIndexes(s.c, userID))
	if out.Cases, err = queryCases(ctx, tx, s.c, `c.guild_id = ? AND `+target+` ORDER BY c.number`,
		append([]any{guildID}, idx...)...); err != nil {
		return MemberRecords{}, err
	}
	for _, cs := range out.Cases {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
			guildID, cs.Number).Scan(&id); err != nil {
			return MemberRecords{}, err
		}
		h, err := listReasonChanges(ctx, tx, s.c, id, guildID, cs.Number)
		if err != nil {
			return MemberRecords{}, err
		}
		if len(h) > 0 {
			out.History[cs.Number] = h
		}
	}
	ids, err := scheduledOf(ctx, tx, guildID, userIndexes(s.c, userID))
	if err != nil {
		return MemberRecords{}, err
	}
	if out.Scheduled, err = listActions(ctx, tx, s.c, ids); err != nil {
		return MemberRecords{}, err
	}
	return out, nil
}

// scheduledOf returns the IDs of the guild's scheduled actions aimed at the
// member of blind indexes idx, oldest first.
func scheduledOf(ctx context.Context, tx dbtx, guildID string, idx [][]byte) ([]int64, error) {
	target, args := indexIn(`target_index`, idx)
	return queryColumn[int64](ctx, tx, `SELECT id FROM scheduled_actions WHERE guild_id = ? AND `+target+
		` ORDER BY id`, append([]any{guildID}, args...)...)
}

// ErasePreview is what EraseMember would erase.
type ErasePreview struct {
	// Cases counts the member's cases by kind.
	Cases map[CaseKind]int
	// History counts the earlier reasons of those cases.
	History int
	// KeptUnbans counts pending timed unbans and untimeouts, which stay
	// until they have run.
	KeptUnbans int
	// ModlogMessages counts the modlog messages posted about the cases.
	ModlogMessages int
}

// Total is the number of cases.
func (p ErasePreview) Total() int {
	n := 0
	for _, c := range p.Cases {
		n += c
	}
	return n
}

// PreviewErase counts what EraseMember would erase in the guild.
func (s *Cases) PreviewErase(ctx context.Context, guildID, userID string) (_ ErasePreview, err error) {
	defer wrap(&err, "preview an erasure")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return ErasePreview{}, err
	}
	defer tx.Rollback()
	p := ErasePreview{Cases: map[CaseKind]int{}}
	target, args := indexIn(`target_index`, userIndexes(s.c, userID))
	scope := `guild_id = ? AND ` + target
	sargs := append([]any{guildID}, args...)
	rows, err := tx.QueryContext(ctx, `SELECT kind, count(*) FROM cases WHERE `+scope+` GROUP BY kind`, sargs...)
	if err != nil {
		return ErasePreview{}, err
	}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return ErasePreview{}, err
		}
		p.Cases[CaseKind(kind)] = n
	}
	if err := rows.Close(); err != nil {
		return ErasePreview{}, err
	}
	for _, q := range []struct {
		dest *int
		sql  string
	}{
		{&p.History, `SELECT count(*) FROM case_history WHERE case_id IN (SELECT id FROM cases WHERE ` + scope + `)`},
		{&p.KeptUnbans, `SELECT count(*) FROM scheduled_actions WHERE ` + scope + ` AND state IN ('pending', 'running')`},
		{&p.ModlogMessages, `SELECT count(*) FROM modlog_messages WHERE (guild_id, case_number) IN
			(SELECT guild_id, number FROM cases WHERE ` + scope + `)`},
	} {
		if err := tx.QueryRowContext(ctx, q.sql, sargs...).Scan(q.dest); err != nil {
			return ErasePreview{}, err
		}
	}
	return p, nil
}

// ModlogMessage is a message the bot posted in a guild's modlog about a
// case.
type ModlogMessage struct {
	GuildID    string
	CaseNumber int64
	ChannelID  string
	MessageID  string
}

// EraseResult is what EraseMember erased.
type EraseResult struct {
	Cases, History int
	// KeptUnbans are pending actions of the member left to run; each is
	// deleted once it has.
	KeptUnbans int
	// ModlogMessages are the modlog messages posted about the erased
	// cases, for the caller to delete in Discord; their records are gone.
	ModlogMessages []ModlogMessage
	// Erasures are what an erasure ledger kept outside the database
	// needs to apply the erasure again to a restored older copy: the
	// database itself keeps only a mark that cannot be matched to it.
	Erasures []Erasure
}

// EraseMember erases every record about userID in a guild, or in every
// guild when guildID is "": the cases whose target the member is (notes
// included), their reason history, the record of their modlog messages,
// and the member's finished scheduled actions. A pending or running timed
// unban or untimeout is kept, since deleting it would make a temporary ban
// permanent, and deleted once it has run. Each erased case leaves its
// number in erased_cases, so numbers are never reused, and a mark of the
// member goes into member_erasures; the result's Erasures are for the
// ledger from which the erasure can be applied again to a restored older
// copy (ReapplyErasure). Cases the
// member made as a moderator stay: they are other members' records. The
// audit entry names neither the member nor what was erased.
//
// keep, if not nil, is given the result's Erasures before the erasure
// commits, to record them in a ledger outside the database; its error
// aborts the erasure. Recording first leaves no moment at which the
// database has erased the member and the ledger does not know it; an
// entry whose erasure then failed erases, when applied, only what the
// admin asked to erase.
func (s *Cases) EraseMember(ctx context.Context, guildID, userID, actorID string, at time.Time,
	keep func([]Erasure) error) (_ EraseResult, err error) {
	defer wrap(&err, "erase a member's records")
	if userID == "" || actorID == "" {
		return EraseResult{}, fmt.Errorf("%w: an erasure needs a member and an actor", ErrInvalid)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return EraseResult{}, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	idx := userIndexes(s.c, userID)
	guilds := []string{guildID}
	if guildID == "" {
		if guilds, err = guildsOf(ctx, tx, idx); err != nil {
			return EraseResult{}, err
		}
	}
	var res EraseResult
	for _, g := range guilds {
		r, err := eraseIndexes(ctx, tx, rec, g, idx, at, time.Time{})
		if err != nil {
			return EraseResult{}, err
		}
		res.Cases += r.Cases
		res.History += r.History
		res.KeptUnbans += r.KeptUnbans
		res.ModlogMessages = append(res.ModlogMessages, r.ModlogMessages...)
		for _, ix := range idx {
			res.Erasures = append(res.Erasures, Erasure{GuildID: g, Index: ix, At: time.UnixMilli(at.UnixMilli()).UTC()})
		}
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{
			At: at, GuildID: g, ActorID: actorID, Action: "privacy.erase",
			Details: fmt.Sprintf("a member's records erased: %d cases", r.Cases),
		}); err != nil {
			return EraseResult{}, err
		}
	}
	if keep != nil {
		if err := keep(res.Erasures); err != nil {
			return EraseResult{}, fmt.Errorf("nothing was erased: %w", err)
		}
	}
	if err := rec.commit(ctx, tx); err != nil {
		return EraseResult{}, err
	}
	s.db.ckpt.truncateSoon()
	return res, nil
}

// guildsOf lists the guilds holding a case or scheduled action of the
// member of blind indexes idx.
func guildsOf(ctx context.Context, tx dbtx, idx [][]byte) ([]string, error) {
	target, args := indexIn(`target_index`, idx)
	return queryColumn[string](ctx, tx, `SELECT guild_id FROM cases WHERE `+target+`
		UNION SELECT guild_id FROM scheduled_actions WHERE `+target+` ORDER BY 1`, append(slices.Clone(args), args...)...)
}

// eraseIndexes erases, in one guild, the records of the member of blind
// indexes idx, as EraseMember describes, and records the erasure in
// member_erasures by the mark of each index. With a non-zero before, only cases
// created before it go: what a restored copy may hold that the erasure at
// that time removed, and nothing the member did since.
func eraseIndexes(ctx context.Context, tx dbtx, rec *recorder, guildID string, idx [][]byte, at, before time.Time) (EraseResult, error) {
	target, targs := indexIn(`target_index`, idx)
	// scopeOf is the condition on a case of the erasure, its columns
	// prefixed by p.
	scopeOf := func(p string) string {
		t, _ := indexIn(p+`target_index`, idx)
		s := p + `guild_id = ? AND ` + t
		if !before.IsZero() {
			s += ` AND ` + p + `created_at < ?`
		}
		return s
	}
	scope := scopeOf("")
	args := append([]any{guildID}, targs...)
	if !before.IsZero() {
		args = append(args, before.UnixMilli())
	}
	theirs := `(SELECT id FROM cases WHERE ` + scope + `)`
	twice := append(slices.Clone(args), args...)
	var res EraseResult

	// The modlog messages about the cases, for the caller to delete.
	rows, err := tx.QueryContext(ctx, `SELECT guild_id, case_number, channel_id, message_id FROM modlog_messages
		WHERE (guild_id, case_number) IN (SELECT guild_id, number FROM cases WHERE `+scope+`)
		ORDER BY case_number, message_id`, args...)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var m ModlogMessage
		if err := rows.Scan(&m.GuildID, &m.CaseNumber, &m.ChannelID, &m.MessageID); err != nil {
			rows.Close()
			return res, err
		}
		res.ModlogMessages = append(res.ModlogMessages, m)
	}
	if err := rows.Close(); err != nil {
		return res, err
	}

	// Rows that point at the erased cases change too: links from other
	// cases and kept actions become NULL (ON DELETE SET NULL), history
	// rows go (CASCADE).
	linking, err := rec.remove(ctx, tx, tCases, `t.linked_case_id IN `+theirs+` AND NOT t.id IN `+theirs, twice...)
	if err != nil {
		return res, err
	}
	actions, err := rec.remove(ctx, tx, tScheduled, `t.case_id IN `+theirs+` OR (t.guild_id = ? AND t.`+target+`)`,
		append(slices.Clone(args), append([]any{guildID}, targs...)...)...)
	if err != nil {
		return res, err
	}
	history, err := rec.remove(ctx, tx, tHistory, `t.case_id IN `+theirs, args...)
	if err != nil {
		return res, err
	}
	res.History = len(history)
	if _, err := rec.remove(ctx, tx, tModlogMessages, `(t.guild_id, t.case_number) IN (SELECT guild_id, number FROM cases WHERE `+scope+`)`, args...); err != nil {
		return res, err
	}
	if _, err := rec.remove(ctx, tx, tMessageLinks, `(t.guild_id, t.case_number) IN (SELECT guild_id, number FROM cases WHERE `+scope+`)`, args...); err != nil {
		return res, err
	}
	if _, err := rec.remove(ctx, tx, tCases, scopeOf("t."), args...); err != nil {
		return res, err
	}
	counter := `t.guild_id = ?`
	if err := rec.change(ctx, tx, tCounters, func() error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_counters (guild_id, last_number)
			SELECT guild_id, max(number) FROM cases WHERE `+scope+` GROUP BY guild_id
			ON CONFLICT (guild_id) DO UPDATE SET last_number = max(last_number, excluded.last_number)`, args...)
		return err
	}, counter, guildID); err != nil {
		return res, err
	}
	if err := rec.add(ctx, tx, tCounters, counter+` AND t.row_mac IS NULL`, guildID); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO erased_cases (guild_id, number, erased_at)
		SELECT guild_id, number, ? FROM cases WHERE `+scope, append([]any{at.UnixMilli()}, args...)...); err != nil {
		return res, err
	}
	if err := rec.add(ctx, tx, tErased, `(t.guild_id, t.number) IN (SELECT guild_id, number FROM cases WHERE `+scope+`)`,
		args...); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM modlog_messages WHERE (guild_id, case_number) IN
		(SELECT guild_id, number FROM cases WHERE `+scope+`)`, args...); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM case_message_links WHERE (guild_id, case_number) IN
		(SELECT guild_id, number FROM cases WHERE `+scope+`)`, args...); err != nil {
		return res, err
	}
	// Actions that have run go with the member's records; pending ones
	// stay until they have run (finishAction deletes them then).
	if _, err := tx.ExecContext(ctx, `DELETE FROM scheduled_actions WHERE guild_id = ? AND `+target+
		` AND state NOT IN ('pending', 'running')`, append([]any{guildID}, targs...)...); err != nil {
		return res, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM scheduled_actions WHERE guild_id = ? AND `+target,
		append([]any{guildID}, targs...)...).Scan(&res.KeptUnbans); err != nil {
		return res, err
	}
	deleted, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE `+scope, args...)
	if err != nil {
		return res, err
	}
	n, err := deleted.RowsAffected()
	if err != nil {
		return res, err
	}
	res.Cases = int(n)
	if err := rec.readd(ctx, tx, tCases, linking); err != nil {
		return res, err
	}
	if err := rec.readd(ctx, tx, tScheduled, actions); err != nil {
		return res, err
	}
	for _, ix := range idx {
		if err := markErased(ctx, tx, rec, guildID, ix, at); err != nil {
			return res, err
		}
	}
	return res, moveModeratorIndexes(ctx, tx, rec, idx)
}

// moveModeratorIndexes rewrites, in the cases the member of blind indexes
// idx made as a moderator (which stay: they are other members' records),
// a moderator_index written under the target domain, which holds the same
// bytes as the member's own index, into the moderator domain.
func moveModeratorIndexes(ctx context.Context, tx dbtx, rec *recorder, idx [][]byte) error {
	cond, args := indexIn(`moderator_index`, idx)
	rows, err := tx.QueryContext(ctx, `SELECT id, guild_id, number, moderator_id FROM cases WHERE `+cond, args...)
	if err != nil {
		return err
	}
	type made struct {
		id, number int64
		guild      string
		sealed     []byte
	}
	var found []made
	for rows.Next() {
		var m made
		if err := rows.Scan(&m.id, &m.guild, &m.number, &m.sealed); err != nil {
			rows.Close()
			return err
		}
		found = append(found, m)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, m := range found {
		id, err := open(rec.c, m.sealed, adCase("moderator_id", m.guild, m.number))
		if err != nil {
			return err
		}
		moved := rec.c.BlindIndex(moderatorIndexDomain, []byte(id))
		if err := rec.change(ctx, tx, tCases, func() error {
			_, err := tx.ExecContext(ctx, `UPDATE cases SET moderator_index = ? WHERE id = ?`, moved, m.id)
			return err
		}, `t.id = ?`, m.id); err != nil {
			return err
		}
	}
	return nil
}

// memberMarkDomain separates the marks of erased members from blind
// indexes: a mark is a keyed digest of a member's blind index, so the
// database keeps no byte that matches their rows in an older copy.
const memberMarkDomain = "erased-member"

// erasedIn returns when the member of blind index ix was last erased in
// the guild, under any enabled index key; the zero time if never.
func erasedIn(ctx context.Context, tx dbtx, c Cipher, guildID string, ix []byte) (time.Time, error) {
	marks := c.BlindIndexes(memberMarkDomain, ix)
	cond, args := indexIn(`member_mark`, marks)
	var at sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT max(erased_at) FROM member_erasures WHERE guild_id = ? AND `+cond,
		append([]any{guildID}, args...)...).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return time.UnixMilli(at.Int64).UTC(), nil
}

// markErased records that the member of blind index ix was erased in the
// guild at at, keeping the later time when a mark is there already.
func markErased(ctx context.Context, tx dbtx, rec *recorder, guildID string, ix []byte, at time.Time) error {
	mark := rec.c.BlindIndex(memberMarkDomain, ix)
	if _, err := rec.remove(ctx, tx, tMemberErasures, `t.guild_id = ? AND t.member_mark = ?`, guildID, mark); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO member_erasures (guild_id, member_mark, erased_at) VALUES (?, ?, ?)
		ON CONFLICT (guild_id, member_mark) DO UPDATE SET erased_at = max(erased_at, excluded.erased_at), row_mac = NULL`,
		guildID, mark, at.UnixMilli()); err != nil {
		return err
	}
	return rec.add(ctx, tx, tMemberErasures, `t.guild_id = ? AND t.member_mark = ?`, guildID, mark)
}

// deleteIfErased deletes the scheduled action with id once it has run, if
// its member's records in the guild were erased meanwhile.
func deleteIfErased(ctx context.Context, tx dbtx, rec *recorder, id int64) error {
	var guild, state string
	var ix []byte
	var created int64
	if err := tx.QueryRowContext(ctx, `SELECT guild_id, state, target_index, created_at FROM scheduled_actions WHERE id = ?`,
		id).Scan(&guild, &state, &ix, &created); err != nil {
		return err
	}
	if state == string(StatePending) || state == string(StateRunning) {
		return nil
	}
	// An action made after the erasure (the member came back, and was
	// banned again) is a record of its own.
	erasedAt, err := erasedIn(ctx, tx, rec.c, guild, ix)
	if err != nil || erasedAt.IsZero() || created > erasedAt.UnixMilli() {
		return err
	}
	if _, err := rec.remove(ctx, tx, tScheduled, `t.id = ?`, id); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM scheduled_actions WHERE id = ?`, id)
	return err
}

// Erasure is a member's erasure in a guild, as an erasure ledger outside
// the database keeps it: a blind index of the member, never their ID.
type Erasure struct {
	GuildID string
	Index   []byte
	At      time.Time
}

// ReapplyErasure applies an erasure again: to a database restored from a
// copy made before it, or one that lost it otherwise. Only cases created
// before the erasure go; a member may have returned since. It returns how
// many cases it erased (0 when the erasure holds already: no such case is
// left and the member's mark is in place).
func (s *Cases) ReapplyErasure(ctx context.Context, e Erasure, actorID string) (_ int, err error) {
	defer wrap(&err, "re-apply an erasure")
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	var left int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases WHERE guild_id = ? AND target_index = ? AND created_at < ?`,
		e.GuildID, e.Index, e.At.UnixMilli()+1).Scan(&left); err != nil {
		return 0, err
	}
	erased, err := erasedIn(ctx, tx, s.c, e.GuildID, e.Index)
	if err != nil {
		return 0, err
	}
	if left == 0 && !erased.IsZero() {
		return 0, nil
	}
	r, err := eraseIndexes(ctx, tx, rec, e.GuildID, [][]byte{e.Index}, e.At, e.At.Add(time.Millisecond))
	if err != nil {
		return 0, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: time.Now(), GuildID: e.GuildID, ActorID: actorID, Action: "privacy.reapply",
		Details: fmt.Sprintf("an earlier erasure applied again: %d cases", r.Cases),
	}); err != nil {
		return 0, err
	}
	if err := rec.commit(ctx, tx); err != nil {
		return 0, err
	}
	s.db.ckpt.truncateSoon()
	return r.Cases, nil
}
