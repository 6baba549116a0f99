package upgradetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the driver the bot uses

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/migrations"
)

// v1Writer is the code of the bot that wrote schema version 1 (up to
// commit 4cb6743), reduced to its writes: the same SQL, the same
// associated data for each sealed column, the same blind-index domains, the
// same audit chain and sealed head. Today's storage cannot write these
// rows any more (it seals every record), and must not be what produces
// them: the point is to see it read what the old code wrote.
//
// Every write also updates exp, the plaintext the rows stand for.
type v1Writer struct {
	db  *sql.DB
	k   *keys.Keyring
	exp *Expected
}

// v1DSN is the connection string of the schema-1 bot's writer: WAL, full
// sync, foreign keys, secure delete, immediate transactions.
func v1DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "secure_delete(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// openV1 creates the database at path as the schema-1 bot's 'bot init'
// did: a file of mode 0600, migrated by goose to version 1 and no further.
func openV1(ctx context.Context, path string) (*sql.DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	db, err := sql.Open("sqlite", v1DSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS,
		goose.WithLogger(goose.NopLogger()), goose.WithDisableGlobalRegistry(true))
	if err == nil {
		_, err = p.UpTo(ctx, 1)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate to version 1: %w", err)
	}
	return db, nil
}

// write runs fn in one write transaction, as each repository method did.
func (w *v1Writer) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Associated data of the sealed columns.

func adCase(col, guildID string, number int64) []byte {
	return []byte("cases/" + col + "/" + guildID + "/" + strconv.FormatInt(number, 10))
}

func adHistory(col, guildID string, number, revision int64) []byte {
	return []byte("case_history/" + col + "/" + guildID + "/" +
		strconv.FormatInt(number, 10) + "/" + strconv.FormatInt(revision, 10))
}

func adScheduled(col string, nonce []byte) []byte {
	return []byte("scheduled_actions/" + col + "/" + hex.EncodeToString(nonce))
}

func adAudit(col string, seq int64) []byte {
	return []byte("audit_log/" + col + "/" + strconv.FormatInt(seq, 10))
}

func adMeta(key string) []byte { return []byte("meta/value/" + key) }

// userIndex is the blind index stored beside a user ID: the "user" domain,
// for targets and moderators alike.
func (w *v1Writer) userIndex(userID string) []byte {
	return w.k.BlindIndex("user", []byte(userID))
}

func (w *v1Writer) seal(plaintext string, ad []byte) []byte {
	ct, err := w.k.Seal([]byte(plaintext), ad)
	if err != nil {
		// Seal fails only if the keyset cannot be used, which Create
		// has just proven it can.
		panic(fmt.Sprintf("seal %s: %v", ad, err))
	}
	return ct
}

func (w *v1Writer) open(ciphertext, ad []byte) (string, error) {
	pt, err := w.k.Open(ciphertext, ad)
	return string(pt), err
}

func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = ms(t)
	return &t
}

// setSentinel stores the key sentinel and the installation's creation
// time, as 'bot init' did.
func (w *v1Writer) setSentinel(ctx context.Context, created time.Time) error {
	sealed, err := w.k.NewSentinel()
	if err != nil {
		return err
	}
	w.exp.CreatedAt = ms(created)
	return w.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('sentinel', ?)`, sealed); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('created_at', ?)`,
			[]byte(strconv.FormatInt(created.UnixMilli(), 10)))
		return err
	})
}

// appendAudit adds e at the end of the chain and moves the sealed head,
// whose plaintext was the last hash and seq and nothing else.
func (w *v1Writer) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	var last int64
	prev := make([]byte, keys.BlindIndexSize)
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	e.Seq, e.At = last+1, ms(e.At)
	actor := w.seal(e.ActorID, adAudit("actor", e.Seq))
	details := w.seal(e.Details, adAudit("details", e.Seq))
	in := slices.Clone(prev)
	in = binary.BigEndian.AppendUint64(in, uint64(e.Seq))
	in = binary.BigEndian.AppendUint64(in, uint64(e.At.UnixMilli()))
	for _, s := range []string{e.GuildID, e.ActorID, e.Action, e.Details} {
		in = binary.BigEndian.AppendUint32(in, uint32(len(s)))
		in = append(in, s...)
	}
	hash := w.k.BlindIndex("audit-chain", in)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, guild_id, actor, action, details, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Seq, e.At.UnixMilli(), e.GuildID, actor, e.Action, details, hash); err != nil {
		return err
	}
	head, err := w.k.Seal(binary.BigEndian.AppendUint64(slices.Clone(hash), uint64(e.Seq)), adMeta("audit_head"))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('audit_head', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, head); err != nil {
		return err
	}
	w.exp.Audit = append(w.exp.Audit, e)
	return nil
}

// newCase is the input of createCase.
type newCase struct {
	guild              string
	kind               string
	target, targetName string
	moderator, modName string
	reason             string
	points             int
	duration           time.Duration
	at                 time.Time
	expires            time.Time // zero: never
	linked             int64     // a case number of the guild; 0: none
}

// createCase stores a case under the guild's next number from its
// counter, with its audit entry, and returns the number.
func (w *v1Writer) createCase(ctx context.Context, n newCase) (int64, error) {
	var number int64
	err := w.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO case_counters (guild_id, last_number) VALUES (?, 1)
			ON CONFLICT (guild_id) DO UPDATE SET last_number = last_number + 1
			RETURNING last_number`, n.guild).Scan(&number); err != nil {
			return err
		}
		var link sql.NullInt64
		if n.linked != 0 {
			if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
				n.guild, n.linked).Scan(&link); err != nil {
				return fmt.Errorf("linked case %d: %w", n.linked, err)
			}
		}
		ad := func(col string) []byte { return adCase(col, n.guild, number) }
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (guild_id, number, kind, target_index, target_id,
			target_name, moderator_index, moderator_id, moderator_name, reason, points, duration_ms,
			created_at, expires_at, linked_case_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			n.guild, number, n.kind, w.userIndex(n.target), w.seal(n.target, ad("target_id")),
			w.seal(n.targetName, ad("target_name")), w.userIndex(n.moderator), w.seal(n.moderator, ad("moderator_id")),
			w.seal(n.modName, ad("moderator_name")), w.seal(n.reason, ad("reason")), n.points,
			n.duration.Milliseconds(), n.at.UnixMilli(), nullTime(n.expires), link); err != nil {
			return err
		}
		return w.appendAudit(ctx, tx, AuditEntry{
			At: n.at, GuildID: n.guild, ActorID: n.moderator, Action: "case.create",
			Details: fmt.Sprintf("case %d (%s)", number, n.kind),
		})
	})
	if err != nil {
		return 0, fmt.Errorf("create %s case in %s: %w", n.kind, n.guild, err)
	}
	w.exp.Cases = append(w.exp.Cases, Case{
		GuildID: n.guild, Number: number, Kind: n.kind, TargetID: n.target, TargetName: n.targetName,
		ModeratorID: n.moderator, ModeratorName: n.modName, Reason: n.reason, Points: n.points,
		DurationMS: n.duration.Milliseconds(), CreatedAt: ms(n.at), ExpiresAt: timePtr(n.expires),
		LinkedCase: n.linked,
	})
	return number, nil
}

// expCase is the expected case number of guild.
func (w *v1Writer) expCase(guild string, number int64) *Case {
	for i := range w.exp.Cases {
		if c := &w.exp.Cases[i]; c.GuildID == guild && c.Number == number {
			return c
		}
	}
	panic(fmt.Sprintf("no case %d in %s", number, guild))
}

// revoke marks a case revoked (/unwarn).
func (w *v1Writer) revoke(ctx context.Context, guild string, number int64, by, reason string, at time.Time) error {
	err := w.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
			WHERE guild_id = ? AND number = ?`, at.UnixMilli(), w.seal(by, adCase("revoked_by", guild, number)),
			w.seal(reason, adCase("revoke_reason", guild, number)), guild, number); err != nil {
			return err
		}
		return w.appendAudit(ctx, tx, AuditEntry{
			At: at, GuildID: guild, ActorID: by, Action: "case.revoke", Details: fmt.Sprintf("case %d", number),
		})
	})
	if err != nil {
		return fmt.Errorf("revoke case %d in %s: %w", number, guild, err)
	}
	w.expCase(guild, number).Revoked = &Revocation{At: ms(at), ByID: by, Reason: reason}
	return nil
}

// updateReason replaces a case's reason (/case edit), keeping the old one
// as the next revision of its history, sealed afresh under the history
// row's associated data.
func (w *v1Writer) updateReason(ctx context.Context, guild string, number int64, by, reason string, at time.Time) error {
	var old string
	var revision int64
	err := w.write(ctx, func(tx *sql.Tx) error {
		var id int64
		var sealed []byte
		if err := tx.QueryRowContext(ctx, `SELECT c.id, c.reason, coalesce(max(h.revision), 0) + 1
			FROM cases c LEFT JOIN case_history h ON h.case_id = c.id
			WHERE c.guild_id = ? AND c.number = ? GROUP BY c.id`, guild, number).Scan(&id, &sealed, &revision); err != nil {
			return err
		}
		var err error
		if old, err = w.open(sealed, adCase("reason", guild, number)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_history (case_id, revision, old_reason, changed_by, changed_at)
			VALUES (?, ?, ?, ?, ?)`, id, revision, w.seal(old, adHistory("old_reason", guild, number, revision)),
			w.seal(by, adHistory("changed_by", guild, number, revision)), at.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET reason = ? WHERE guild_id = ? AND number = ?`,
			w.seal(reason, adCase("reason", guild, number)), guild, number); err != nil {
			return err
		}
		return w.appendAudit(ctx, tx, AuditEntry{
			At: at, GuildID: guild, ActorID: by, Action: "case.reason", Details: fmt.Sprintf("case %d", number),
		})
	})
	if err != nil {
		return fmt.Errorf("update reason of case %d in %s: %w", number, guild, err)
	}
	c := w.expCase(guild, number)
	c.History = append(c.History, ReasonChange{Revision: revision, OldReason: old, ChangedByID: by, ChangedAt: ms(at)})
	c.Reason = reason
	return nil
}

// saveSettings replaces a guild's settings, moderator roles and
// escalation rules (/config).
func (w *v1Writer) saveSettings(ctx context.Context, g Guild, actor string, at time.Time) error {
	err := w.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO guild_settings (guild_id, modlog_channel_id, dm_enabled,
			warning_expiry_ms, show_moderator_names, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (guild_id) DO UPDATE SET modlog_channel_id = excluded.modlog_channel_id,
			dm_enabled = excluded.dm_enabled, warning_expiry_ms = excluded.warning_expiry_ms,
			show_moderator_names = excluded.show_moderator_names, updated_at = excluded.updated_at`,
			g.GuildID, g.ModlogChannelID, g.DMEnabled, g.WarningExpiryMS, g.ShowModeratorNames,
			at.UnixMilli()); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM guild_moderator_roles WHERE guild_id = ?`,
			`DELETE FROM escalation_rules WHERE guild_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, g.GuildID); err != nil {
				return err
			}
		}
		roles := slices.Clone(g.ModeratorRoleIDs)
		slices.Sort(roles)
		for _, id := range slices.Compact(roles) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO guild_moderator_roles (guild_id, role_id) VALUES (?, ?)`,
				g.GuildID, id); err != nil {
				return err
			}
		}
		for _, r := range g.Escalations {
			if _, err := tx.ExecContext(ctx, `INSERT INTO escalation_rules (guild_id, points, action, duration_ms)
				VALUES (?, ?, ?, ?)`, g.GuildID, r.Points, r.Action, r.DurationMS); err != nil {
				return err
			}
		}
		return w.appendAudit(ctx, tx, AuditEntry{At: at, GuildID: g.GuildID, ActorID: actor, Action: "settings.update"})
	})
	if err != nil {
		return fmt.Errorf("save settings of %s: %w", g.GuildID, err)
	}
	g.Saved, g.UpdatedAt = true, timePtr(at)
	g.ModeratorRoleIDs = slices.Compact(slices.Sorted(slices.Values(g.ModeratorRoleIDs)))
	slices.SortFunc(g.Escalations, func(a, b Rule) int { return a.Points - b.Points })
	for i := range w.exp.Guilds {
		if w.exp.Guilds[i].GuildID == g.GuildID {
			w.exp.Guilds[i] = g
			return nil
		}
	}
	w.exp.Guilds = append(w.exp.Guilds, g)
	return nil
}

// schedule adds a pending action (the end of a temporary ban), cancelling
// a pending one of the same kind for the same member and guild first, and
// returns its ID. Scheduling appends no audit entry.
func (w *v1Writer) schedule(ctx context.Context, guild, kind, target string, due time.Time, caseNumber int64, at time.Time) (int64, error) {
	nonce := make([]byte, 16)
	rand.Read(nonce) // never fails (crypto/rand)
	var id int64
	err := w.write(ctx, func(tx *sql.Tx) error {
		if err := w.cancelTx(ctx, tx, guild, kind, target, at); err != nil {
			return err
		}
		var caseID sql.NullInt64
		if caseNumber != 0 {
			if err := tx.QueryRowContext(ctx, `SELECT id FROM cases WHERE guild_id = ? AND number = ?`,
				guild, caseNumber).Scan(&caseID); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, `INSERT INTO scheduled_actions (nonce, guild_id, kind, target_index,
			target_id, due_at, case_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nonce, guild, kind, w.userIndex(target), w.seal(target, adScheduled("target_id", nonce)),
			due.UnixMilli(), caseID, at.UnixMilli(), at.UnixMilli()).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("schedule %s in %s: %w", kind, guild, err)
	}
	w.exp.Scheduled = append(w.exp.Scheduled, Action{
		ID: id, GuildID: guild, Kind: kind, TargetID: target, DueAt: ms(due), State: "pending",
		CaseNumber: caseNumber, CreatedAt: ms(at), UpdatedAt: ms(at),
	})
	return id, nil
}

func (w *v1Writer) cancelTx(ctx context.Context, tx *sql.Tx, guild, kind, target string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE scheduled_actions SET state = 'cancelled', updated_at = ?
		WHERE guild_id = ? AND target_index = ? AND kind = ? AND state = 'pending'`,
		at.UnixMilli(), guild, w.userIndex(target), kind); err != nil {
		return err
	}
	for i := range w.exp.Scheduled {
		if a := &w.exp.Scheduled[i]; a.GuildID == guild && a.Kind == kind && a.TargetID == target && a.State == "pending" {
			a.State, a.UpdatedAt = "cancelled", ms(at)
		}
	}
	return nil
}

// cancel cancels the pending actions of kind for a member (/unban, or a
// permanent ban replacing a temporary one).
func (w *v1Writer) cancel(ctx context.Context, guild, kind, target string, at time.Time) error {
	return w.write(ctx, func(tx *sql.Tx) error { return w.cancelTx(ctx, tx, guild, kind, target, at) })
}

// claimDue marks the pending actions due at now as running, counting an
// attempt, as the scheduler did before acting on them.
func (w *v1Writer) claimDue(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	err := w.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE scheduled_actions
			SET state = 'running', attempts = attempts + 1, claimed_at = ?1, updated_at = ?1
			WHERE id IN (SELECT id FROM scheduled_actions WHERE state = 'pending' AND due_at <= ?1
				ORDER BY due_at, id LIMIT ?2)
			RETURNING id`, now.UnixMilli(), 50)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim due actions: %w", err)
	}
	for _, id := range ids {
		a := w.expAction(id)
		a.State, a.Attempts, a.UpdatedAt = "running", a.Attempts+1, ms(now)
	}
	return ids, nil
}

func (w *v1Writer) expAction(id int64) *Action {
	for i := range w.exp.Scheduled {
		if w.exp.Scheduled[i].ID == id {
			return &w.exp.Scheduled[i]
		}
	}
	panic(fmt.Sprintf("no scheduled action %d", id))
}

// finish ends a running action: done, failed for good, or (with a retry
// time) pending again. A failure's reason is sealed: Discord's error text
// may quote a name.
func (w *v1Writer) finish(ctx context.Context, id int64, state, reason string, retryAt, at time.Time) error {
	err := w.write(ctx, func(tx *sql.Tx) error {
		var nonce []byte
		if err := tx.QueryRowContext(ctx, `SELECT nonce FROM scheduled_actions WHERE id = ? AND state = 'running'`,
			id).Scan(&nonce); err != nil {
			return err
		}
		var lastErr []byte
		if reason != "" {
			lastErr = w.seal(reason, adScheduled("last_error", nonce))
		}
		_, err := tx.ExecContext(ctx, `UPDATE scheduled_actions SET state = ?, last_error = coalesce(?, last_error),
			due_at = coalesce(?, due_at), claimed_at = NULL, updated_at = ? WHERE id = ?`,
			state, lastErr, nullTime(retryAt), at.UnixMilli(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish scheduled action %d: %w", id, err)
	}
	a := w.expAction(id)
	a.State, a.UpdatedAt = state, ms(at)
	if reason != "" {
		a.LastError = reason
	}
	if !retryAt.IsZero() {
		a.DueAt = ms(retryAt)
	}
	return nil
}

// deleteUserData erases every case aimed at a member, in every guild,
// with their history and the scheduled actions aimed at them. Their
// numbers are left as gaps: schema 1 kept no record of them.
func (w *v1Writer) deleteUserData(ctx context.Context, user, actor string, at time.Time) error {
	err := w.write(ctx, func(tx *sql.Tx) error {
		idx := w.userIndex(user)
		if _, err := tx.ExecContext(ctx, `DELETE FROM scheduled_actions WHERE target_index = ?`, idx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE target_index = ?`, idx)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		return w.appendAudit(ctx, tx, AuditEntry{At: at, ActorID: actor, Action: "user.delete", Details: fmt.Sprintf("%d cases erased", n)})
	})
	if err != nil {
		return fmt.Errorf("delete user data: %w", err)
	}
	w.exp.Scheduled = slices.DeleteFunc(w.exp.Scheduled, func(a Action) bool { return a.TargetID == user })
	w.exp.Cases = slices.DeleteFunc(w.exp.Cases, func(c Case) bool {
		if c.TargetID == user {
			w.exp.Erased = append(w.exp.Erased, CaseRef{GuildID: c.GuildID, Number: c.Number})
		}
		return c.TargetID == user
	})
	// Links to an erased case are set to NULL (ON DELETE SET NULL).
	for i := range w.exp.Cases {
		c := &w.exp.Cases[i]
		if c.LinkedCase != 0 && slices.Contains(w.exp.Erased, CaseRef{GuildID: c.GuildID, Number: c.LinkedCase}) {
			c.LinkedCase = 0
		}
	}
	w.exp.ErasedMembers = append(w.exp.ErasedMembers, user)
	return nil
}
