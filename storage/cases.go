package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CaseKind is what a case records.
type CaseKind string

// The kinds of case.
const (
	CaseWarning   CaseKind = "warning"
	CaseNote      CaseKind = "note"
	CaseTimeout   CaseKind = "timeout"
	CaseUntimeout CaseKind = "untimeout"
	CaseKick      CaseKind = "kick"
	CaseBan       CaseKind = "ban"
	CaseUnban     CaseKind = "unban"
)

// Valid reports whether k is one of the kinds above (the schema's CHECK).
func (k CaseKind) Valid() bool {
	switch k {
	case CaseWarning, CaseNote, CaseTimeout, CaseUntimeout, CaseKick, CaseBan, CaseUnban:
		return true
	}
	return false
}

// Case is one moderation record. User IDs are Discord snowflakes as strings.
type Case struct {
	GuildID       string
	Number        int64 // per guild, from 1, never reused
	Kind          CaseKind
	TargetID      string
	TargetName    string // the target's username when the case was made
	ModeratorID   string
	ModeratorName string
	Reason        string
	Points        int
	Duration      time.Duration // of a timeout or temporary ban; 0 otherwise
	CreatedAt     time.Time
	ExpiresAt     time.Time   // when the case stops counting; zero: never
	Revoked       *Revocation // nil while not revoked
	LinkedCase    int64       // the case that caused this one (0: none)
	// MessageLink is the link to the message the case is about, when the
	// moderator acted from the message's menu; "" otherwise.
	MessageLink string
}

// Active reports whether the case counts at time at: not revoked and not
// expired.
func (c Case) Active(at time.Time) bool {
	return c.Revoked == nil && (c.ExpiresAt.IsZero() || c.ExpiresAt.After(at))
}

// Revocation records who revoked a case, when and why.
type Revocation struct {
	At     time.Time
	ByID   string
	Reason string
}

// NewCase is the input of Cases.Create.
type NewCase struct {
	GuildID       string
	Kind          CaseKind
	TargetID      string
	TargetName    string
	ModeratorID   string
	ModeratorName string
	Reason        string
	Points        int
	Duration      time.Duration
	CreatedAt     time.Time // zero: now
	ExpiresAt     time.Time // zero: never
	LinkedCase    int64     // number of a case in the same guild; 0: none
	// MessageLink links to the message the case is about; "": none. It is
	// only ever a link, never the message's content.
	MessageLink string
}

// Cases is the repository of moderation cases. Each change appends an audit
// entry in the same transaction.
type Cases struct {
	db *DB
	c  Cipher
}

// NewCases returns the case repository of db, sealing with c.
func NewCases(db *DB, c Cipher) *Cases { return &Cases{db: db, c: c} }

// Create stores a new case under the guild's next number and returns it. It
// returns ErrInvalid for a bad kind, missing IDs or negative points, and
// ErrNotFound if LinkedCase names no case of the guild.
func (s *Cases) Create(ctx context.Context, n NewCase) (_ Case, err error) {
	defer wrap(&err, "create case")
	c, _, err := s.create(ctx, n, false)
	return c, err
}

// CreateWithPoints stores a new case as Create does, and returns with it
// the sum of the target's points in the guild that were active just before
// it, at n.CreatedAt. The sum is read in the case's own write transaction,
// so no other case of the target can land between the two: escalation can
// compare the sum before and after without a lock of its own.
func (s *Cases) CreateWithPoints(ctx context.Context, n NewCase) (_ Case, before int, err error) {
	defer wrap(&err, "create case")
	return s.create(ctx, n, true)
}

func (s *Cases) create(ctx context.Context, n NewCase, withPoints bool) (Case, int, error) {
	if err := n.validate(); err != nil {
		return Case{}, 0, err
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return Case{}, 0, err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	var before int
	if withPoints {
		// The writer's page cache is warm and the rows read here are the
		// ones the insert below touches; a read transaction would start
		// from an empty cache after every commit.
		if before, err = activePoints(ctx, tx, s.c, n.GuildID, n.TargetID, n.CreatedAt); err != nil {
			return Case{}, 0, err
		}
	}
	number, err := nextCaseNumber(ctx, tx, n.GuildID)
	if err != nil {
		return Case{}, 0, err
	}
	if err := insertCase(ctx, tx, rec, number, n); err != nil {
		return Case{}, 0, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: n.CreatedAt, GuildID: n.GuildID, ActorID: n.ModeratorID, Action: "case.create",
		Details: fmt.Sprintf("case %d (%s)", number, n.Kind),
	}); err != nil {
		return Case{}, 0, err
	}
	// The case is what was just written; reading it back would cost a query
	// and five decryptions on the hottest path of the bot.
	return createdCase(number, n), before, rec.commit(ctx, tx)
}

// createdCase is the Case that Get returns for a case just inserted from n:
// the same values, with times and durations at the stored (millisecond)
// precision.
func createdCase(number int64, n NewCase) Case {
	return Case{
		GuildID:       n.GuildID,
		Number:        number,
		Kind:          n.Kind,
		TargetID:      n.TargetID,
		TargetName:    n.TargetName,
		ModeratorID:   n.ModeratorID,
		ModeratorName: n.ModeratorName,
		Reason:        n.Reason,
		Points:        n.Points,
		Duration:      n.Duration.Truncate(time.Millisecond),
		CreatedAt:     time.UnixMilli(n.CreatedAt.UnixMilli()).UTC(),
		ExpiresAt:     fromNullTime(nullTime(n.ExpiresAt)),
		LinkedCase:    n.LinkedCase,
		MessageLink:   n.MessageLink,
	}
}

// Get returns case number of the guild, or ErrNotFound.
func (s *Cases) Get(ctx context.Context, guildID string, number int64) (_ Case, err error) {
	defer wrap(&err, fmt.Sprintf("get case %d", number))
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return Case{}, err
	}
	defer tx.Rollback()
	return getCase(ctx, tx, s.c, guildID, number)
}

// ListForUser returns the cases of userID in a guild, oldest first; only
// those active at at unless includeInactive.
func (s *Cases) ListForUser(ctx context.Context, guildID, userID string, includeInactive bool, at time.Time) (_ []Case, err error) {
	defer wrap(&err, "list cases of user")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	target, idx := indexIn(`c.target_index`, userIndexes(s.c, userID))
	where := `c.guild_id = ? AND ` + target
	args := append([]any{guildID}, idx...)
	if !includeInactive {
		where += ` AND ` + activeCase
		args = append(args, at.UnixMilli())
	}
	return queryCases(ctx, tx, s.c, where+` ORDER BY c.number`, args...)
}

// ActivePoints returns the sum of points of userID's cases in a guild that
// are active at at.
func (s *Cases) ActivePoints(ctx context.Context, guildID, userID string, at time.Time) (_ int, err error) {
	defer wrap(&err, "sum active points")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	return activePoints(ctx, tx, s.c, guildID, userID, at)
}

// activePoints sums the points of userID's cases in a guild active at at.
// Outside a rotation of the index keys it runs the prepared sqlActivePoints.
func activePoints(ctx context.Context, tx dbtx, c Cipher, guildID, userID string, at time.Time) (int, error) {
	target, idx := indexIn(`c.target_index`, userIndexes(c, userID))
	q := sqlActivePoints
	if target != sqlTargetIs {
		q = strings.Replace(sqlActivePoints, sqlTargetIs, target, 1)
	}
	args := append(append([]any{guildID}, idx...), at.UnixMilli())
	var total int
	err := tx.QueryRowContext(ctx, q, args...).Scan(&total)
	return total, err
}

// RecentActive returns up to limit of a guild's cases active at at, newest
// first (for autocompletion).
func (s *Cases) RecentActive(ctx context.Context, guildID string, limit int, at time.Time) (_ []Case, err error) {
	defer wrap(&err, "list recent cases")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return queryCases(ctx, tx, s.c, `c.guild_id = ? AND `+activeCase+` ORDER BY c.number DESC LIMIT ?`,
		guildID, at.UnixMilli(), limit)
}

// AllForUser returns every case whose target is userID, in every guild,
// ordered by guild and number (for a data export).
func (s *Cases) AllForUser(ctx context.Context, userID string) (_ []Case, err error) {
	defer wrap(&err, "list all cases of user")
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	target, idx := indexIn(`c.target_index`, userIndexes(s.c, userID))
	return queryCases(ctx, tx, s.c, target+` ORDER BY c.guild_id, c.number`, idx...)
}

// activeCase is the SQL of Case.Active; its one parameter is the time.
const activeCase = `c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?)`

// caseSelect reads a case and the number of its linked case.
const caseSelect = `SELECT c.guild_id, c.number, c.kind, c.target_id, c.target_name, c.moderator_id,
	c.moderator_name, c.reason, c.points, c.duration_ms, c.created_at, c.expires_at, c.revoked_at,
	c.revoked_by, c.revoke_reason, l.number, m.link
	FROM cases c LEFT JOIN cases l ON l.id = c.linked_case_id
	LEFT JOIN case_message_links m ON m.guild_id = c.guild_id AND m.case_number = c.number WHERE `

func (n NewCase) validate() error {
	switch {
	case n.GuildID == "":
		return fmt.Errorf("%w: a case needs a guild", ErrInvalid)
	case !n.Kind.Valid():
		return fmt.Errorf("%w: unknown case kind %q", ErrInvalid, n.Kind)
	case n.TargetID == "" || n.ModeratorID == "":
		return fmt.Errorf("%w: a case needs a target and a moderator", ErrInvalid)
	case n.Points < 0 || n.Duration < 0:
		return fmt.Errorf("%w: points and duration must not be negative", ErrInvalid)
	}
	return nil
}

// nextCaseNumber returns the guild's next case number: one above both its
// highest case and its case_counters row, which an erasure raises to
// the highest number it deletes. A deleted case's number is therefore
// never handed out again, and since the caller's write transaction is the
// only one, two cases never share a number.
//
// Creating a case does not write the counter row: the UNIQUE (guild_id,
// number) index, whose page the insert writes anyway, already holds the
// highest number, and the row would add a page to every /warn's commit.
// A counter row is only ever a lower bound, so one at the guild's highest
// number, whatever wrote it, changes nothing.
func nextCaseNumber(ctx context.Context, tx dbtx, guildID string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, sqlNextCaseNumber, guildID, guildID).Scan(&n)
	return n, err
}

// insertCase inserts the case with its seal, computed from the values it
// inserts rather than read back: the seal covers what walkRecords reads
// for the row (recordTables[tCases].values), value for value.
func insertCase(ctx context.Context, tx dbtx, rec *recorder, number int64, n NewCase) error {
	c := rec.c
	var link sql.NullInt64
	if n.LinkedCase != 0 {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
			n.GuildID, n.LinkedCase).Scan(&link); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: the linked case %d does not exist", ErrNotFound, n.LinkedCase)
		} else if err != nil {
			return err
		}
	}
	s := sealer{c: c}
	ad := func(col string) []byte { return adCase(col, n.GuildID, number) }
	targetID := s.seal(n.TargetID, ad("target_id"))
	targetName := s.seal(n.TargetName, ad("target_name"))
	modID := s.seal(n.ModeratorID, ad("moderator_id"))
	modName := s.seal(n.ModeratorName, ad("moderator_name"))
	reason := s.seal(n.Reason, ad("reason"))
	if s.err != nil {
		return s.err
	}
	targetIndex, modIndex := userIndex(c, n.TargetID), c.BlindIndex(moderatorIndexDomain, []byte(n.ModeratorID))
	var expires, linkGuild, linked any
	if !n.ExpiresAt.IsZero() {
		expires = n.ExpiresAt.UnixMilli()
	}
	if link.Valid {
		linkGuild, linked = n.GuildID, n.LinkedCase
	}
	mac, err := rec.inserted(ctx, tx, tCases, []any{
		n.GuildID, number, string(n.Kind), targetIndex, targetID, targetName, modIndex, modID, modName,
		reason, int64(n.Points), n.Duration.Milliseconds(), n.CreatedAt.UnixMilli(), expires,
		nil, nil, nil, !link.Valid, linkGuild, linked,
	})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, sqlInsertCase,
		n.GuildID, number, string(n.Kind), targetIndex, targetID, targetName,
		modIndex, modID, modName, reason, n.Points, n.Duration.Milliseconds(),
		n.CreatedAt.UnixMilli(), nullTime(n.ExpiresAt), link, mac)
	if err != nil || n.MessageLink == "" {
		return err
	}
	return insertMessageLink(ctx, tx, rec, n.GuildID, number, n.MessageLink)
}

// insertMessageLink stores the sealed link of case number's message.
func insertMessageLink(ctx context.Context, tx dbtx, rec *recorder, guildID string, number int64, link string) error {
	ct, err := seal(rec.c, link, adMessageLink("link", guildID, number))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO case_message_links (guild_id, case_number, link) VALUES (?, ?, ?)`,
		guildID, number, ct); err != nil {
		return err
	}
	return rec.add(ctx, tx, tMessageLinks, `t.guild_id = ? AND t.case_number = ?`, guildID, number)
}

func getCase(ctx context.Context, tx dbtx, c Cipher, guildID string, number int64) (Case, error) {
	return scanCase(tx.QueryRowContext(ctx, caseSelect+`c.guild_id = ? AND c.number = ?`, guildID, number), c)
}

func queryCases(ctx context.Context, tx dbtx, c Cipher, where string, args ...any) ([]Case, error) {
	rows, err := tx.QueryContext(ctx, caseSelect+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		cs, err := scanCase(rows, c)
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	return out, rows.Err()
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanCase(row scanner, c Cipher) (Case, error) {
	var (
		cs                                   Case
		kind                                 string
		targetID, targetName, modID, modName []byte
		reason, revokedBy, revokeReason      []byte
		messageLink                          []byte
		durationMs, createdAt                int64
		expiresAt, revokedAt, linked         sql.NullInt64
	)
	if err := row.Scan(&cs.GuildID, &cs.Number, &kind, &targetID, &targetName, &modID, &modName,
		&reason, &cs.Points, &durationMs, &createdAt, &expiresAt, &revokedAt, &revokedBy,
		&revokeReason, &linked, &messageLink); err != nil {
		return Case{}, err
	}
	cs.Kind = CaseKind(kind)
	cs.Duration = time.Duration(durationMs) * time.Millisecond
	cs.CreatedAt = time.UnixMilli(createdAt).UTC()
	cs.ExpiresAt = fromNullTime(expiresAt)
	cs.LinkedCase = linked.Int64
	o := opener{c: c}
	ad := func(col string) []byte { return adCase(col, cs.GuildID, cs.Number) }
	cs.TargetID = o.open(targetID, ad("target_id"))
	cs.TargetName = o.open(targetName, ad("target_name"))
	cs.ModeratorID = o.open(modID, ad("moderator_id"))
	cs.ModeratorName = o.open(modName, ad("moderator_name"))
	cs.Reason = o.open(reason, ad("reason"))
	cs.MessageLink = o.openNull(messageLink, adMessageLink("link", cs.GuildID, cs.Number))
	if revokedAt.Valid {
		cs.Revoked = &Revocation{
			At:     fromNullTime(revokedAt),
			ByID:   o.open(revokedBy, ad("revoked_by")),
			Reason: o.openNull(revokeReason, ad("revoke_reason")),
		}
	}
	return cs, o.err
}

// sealer seals several values and keeps the first error, so a row's columns
// can be sealed in a straight line.
type sealer struct {
	c   Cipher
	err error
}

func (s *sealer) seal(plaintext string, ad []byte) []byte {
	if s.err != nil {
		return nil
	}
	ct, err := seal(s.c, plaintext, ad)
	s.err = err
	return ct
}

// opener is the reading counterpart of sealer.
type opener struct {
	c   Cipher
	err error
}

func (o *opener) open(ciphertext, ad []byte) string {
	if o.err != nil {
		return ""
	}
	pt, err := open(o.c, ciphertext, ad)
	o.err = err
	return pt
}

func (o *opener) openNull(ciphertext, ad []byte) string {
	if ciphertext == nil {
		return ""
	}
	return o.open(ciphertext, ad)
}

func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// Revoke marks a case revoked by byID at at, with a reason, and returns it.
// It returns ErrNotFound if there is no such case and ErrConflict if it is
// already revoked.
func (s *Cases) Revoke(ctx context.Context, guildID string, number int64, byID, reason string, at time.Time) (_ Case, err error) {
	defer wrap(&err, fmt.Sprintf("revoke case %d", number))
	if byID == "" {
		return Case{}, fmt.Errorf("%w: revoking needs a moderator", ErrInvalid)
	}
	return s.edit(ctx, guildID, number, byID, "case.revoke", at, func(tx dbtx, rec *recorder, cur Case) error {
		if cur.Revoked != nil {
			return fmt.Errorf("%w: case %d is already revoked", ErrConflict, number)
		}
		return revokeCase(ctx, tx, rec, guildID, number, byID, reason, at)
	})
}

// edit changes an existing case in one write transaction: it reads the
// case, lets change write to it, appends an audit entry of action by byID,
// and returns the case as it then stands. It returns ErrNotFound if there
// is no such case, and change's error as it is.
func (s *Cases) edit(ctx context.Context, guildID string, number int64, byID, action string, at time.Time,
	change func(tx dbtx, rec *recorder, cur Case) error) (Case, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return Case{}, err
	}
	defer tx.Rollback()
	cur, err := getCase(ctx, tx, s.c, guildID, number)
	if err != nil {
		return Case{}, err
	}
	rec := newRecorder(s.c)
	if err := change(tx, rec, cur); err != nil {
		return Case{}, err
	}
	if _, err := appendAudit(ctx, tx, rec, AuditEntry{
		At: at, GuildID: guildID, ActorID: byID, Action: action, Details: fmt.Sprintf("case %d", number),
	}); err != nil {
		return Case{}, err
	}
	c, err := getCase(ctx, tx, s.c, guildID, number)
	if err != nil {
		return Case{}, err
	}
	return c, rec.commit(ctx, tx)
}

func revokeCase(ctx context.Context, tx dbtx, rec *recorder, guildID string, number int64, byID, reason string, at time.Time) error {
	s := sealer{c: rec.c}
	by := s.seal(byID, adCase("revoked_by", guildID, number))
	why := s.seal(reason, adCase("revoke_reason", guildID, number))
	if s.err != nil {
		return s.err
	}
	return rec.change(ctx, tx, tCases, func() error {
		_, err := tx.ExecContext(ctx, `UPDATE cases SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
			WHERE guild_id = ? AND number = ?`, at.UnixMilli(), by, why, guildID, number)
		return err
	}, `t.guild_id = ? AND t.number = ?`, guildID, number)
}
