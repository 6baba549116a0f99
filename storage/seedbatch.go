package storage

// This file supports benchmarks: filling a database with a large, realistic
// data set (CreateBatch) and a bare, unencrypted database with the same
// connection settings to compare the real one against (Baseline). The bot
// itself never calls either.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BatchCase is one case for CreateBatch: what Create takes and, when
// Revocation is not nil, the revocation that Revoke would later record.
type BatchCase struct {
	NewCase
	Revocation *Revocation
}

// CreateBatch stores many cases in one write transaction, for bulk loads
// such as the benchmark seed tool. Each row, its case number, its audit
// entries ("case.create", and "case.revoke" for a revoked case) and the
// audit chain's head are written by the same helpers as Create and Revoke,
// so the result cannot be told apart from cases made one at a time. What
// differs is durability: Create commits, and so syncs, once per case, which
// is what a moderator's acknowledged warning needs and what makes loading
// a large data set one case at a time slow. It returns ErrInvalid for a
// case Create would refuse, and then stores none of the batch.
func (s *Cases) CreateBatch(ctx context.Context, batch []BatchCase) (err error) {
	defer wrap(&err, "create cases in a batch")
	now := time.Now()
	for i := range batch {
		if err := batch[i].validate(); err != nil {
			return fmt.Errorf("case %d of the batch: %w", i, err)
		}
		if r := batch[i].Revocation; r != nil && r.ByID == "" {
			return fmt.Errorf("%w: case %d of the batch: revoking needs a moderator", ErrInvalid, i)
		}
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rec := newRecorder(s.c)
	for _, bc := range batch {
		n := bc.NewCase
		if n.CreatedAt.IsZero() {
			n.CreatedAt = now
		}
		number, err := nextCaseNumber(ctx, tx, n.GuildID)
		if err != nil {
			return err
		}
		if err := insertCase(ctx, tx, rec, number, n); err != nil {
			return err
		}
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{
			At: n.CreatedAt, GuildID: n.GuildID, ActorID: n.ModeratorID, Action: "case.create",
			Details: fmt.Sprintf("case %d (%s)", number, n.Kind),
		}); err != nil {
			return err
		}
		r := bc.Revocation
		if r == nil {
			continue
		}
		if err := revokeCase(ctx, tx, rec, n.GuildID, number, r.ByID, r.Reason, r.At); err != nil {
			return err
		}
		if _, err := appendAudit(ctx, tx, rec, AuditEntry{
			At: r.At, GuildID: n.GuildID, ActorID: r.ByID, Action: "case.revoke", Details: fmt.Sprintf("case %d", number),
		}); err != nil {
			return err
		}
	}
	return rec.commit(ctx, tx)
}

// BaselineRow is a case as the bare baseline stores it: plain columns, the
// number chosen by the caller.
type BaselineRow struct {
	GuildID       string
	Number        int64
	Kind          CaseKind
	TargetID      string
	TargetName    string
	ModeratorID   string
	ModeratorName string
	Reason        string
	Points        int
	CreatedAt     time.Time
	ExpiresAt     time.Time // zero: never
	RevokedAt     time.Time // zero: not revoked
}

// Baseline is a bare SQLite database for benchmarks to measure the bot's
// storage against. It is opened exactly as DB is (the same DSN, so the same
// pragmas, one writer connection and a query-only reader pool) and holds one
// table shaped like cases, with the same indexes, but in plain columns: no
// sealing, no blind index, no case counter, no audit entry. The time a DB
// operation takes beyond its Baseline counterpart is what those cost.
type Baseline struct {
	write, read *sql.DB
	// insert is prepared once, as the bot's hot statements are, so that
	// neither side of a comparison pays for compiling SQL on each call.
	insert *sql.Stmt
	// ckpt checkpoints in the background, as DB's does.
	ckpt *checkpointer
}

// baselineSchema mirrors the cases table and its indexes, with the user ID
// in clear where cases has a blind index.
const baselineSchema = `CREATE TABLE IF NOT EXISTS bare_cases (
    id             INTEGER PRIMARY KEY,
    guild_id       TEXT NOT NULL,
    number         INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    target_name    TEXT NOT NULL,
    moderator_id   TEXT NOT NULL,
    moderator_name TEXT NOT NULL,
    reason         TEXT NOT NULL,
    points         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    revoked_at     INTEGER,
    linked_case_id INTEGER,
    UNIQUE (guild_id, number)
) STRICT;
-- Migration 2 widened the bot's cases_by_target; a baseline made before it
-- is converted the same way.
DROP INDEX IF EXISTS bare_by_target;
CREATE INDEX IF NOT EXISTS bare_by_target_points
    ON bare_cases (guild_id, target_id, number, revoked_at, expires_at, points);
CREATE INDEX IF NOT EXISTS bare_by_target_all ON bare_cases (target_id);
CREATE INDEX IF NOT EXISTS bare_by_link ON bare_cases (linked_case_id);
CREATE INDEX IF NOT EXISTS bare_by_kind ON bare_cases (guild_id, kind, moderator_id, created_at);`

const baselineInsert = `INSERT INTO bare_cases (guild_id, number, kind, target_id,
	target_name, moderator_id, moderator_name, reason, points, created_at, expires_at, revoked_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// OpenBaseline opens (creating if needed) the baseline database at path.
// It must not be the bot's database file.
func OpenBaseline(ctx context.Context, path string) (_ *Baseline, err error) {
	defer wrap(&err, "open baseline database "+path)
	b := &Baseline{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.write, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, err
	}
	b.write.SetMaxOpenConns(1)
	b.write.SetMaxIdleConns(1)
	b.write.SetConnMaxLifetime(0)
	b.write.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, b.write); err != nil {
		return nil, err
	}
	if _, err := b.write.ExecContext(ctx, baselineSchema); err != nil {
		return nil, err
	}
	if b.insert, err = b.write.PrepareContext(ctx, baselineInsert); err != nil {
		return nil, err
	}
	if b.read, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		return nil, err
	}
	b.read.SetMaxOpenConns(readConns)
	b.read.SetMaxIdleConns(readConns)
	if err := b.read.PingContext(ctx); err != nil {
		return nil, err
	}
	b.ckpt, err = startCheckpointer(ctx, path, 0)
	return b, err
}

// Checkpoint copies the baseline's WAL into its file and truncates it, as
// DB.Checkpoint does for the bot's database.
func (b *Baseline) Checkpoint(ctx context.Context) (err error) {
	defer wrap(&err, "baseline checkpoint")
	return truncateCheckpoint(ctx, b.write, b.ckpt)
}

// Close closes both pools, the writer last (it checkpoints the WAL).
func (b *Baseline) Close() error {
	errs := []error{b.ckpt.close()}
	if b.insert != nil {
		errs = append(errs, b.insert.Close())
	}
	if b.read != nil {
		errs = append(errs, b.read.Close())
	}
	if b.write != nil {
		errs = append(errs, b.write.Close())
	}
	return errors.Join(errs...)
}

// Insert stores one row in its own transaction, as Create stores a case.
func (b *Baseline) Insert(ctx context.Context, r BaselineRow) (err error) {
	defer wrap(&err, "baseline insert")
	return b.InsertBatch(ctx, []BaselineRow{r})
}

// InsertBatch stores rows in one transaction (for seeding).
func (b *Baseline) InsertBatch(ctx context.Context, rows []BaselineRow) (err error) {
	defer wrap(&err, "baseline insert")
	tx, err := b.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, b.insert)
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.GuildID, r.Number, string(r.Kind), r.TargetID, r.TargetName,
			r.ModeratorID, r.ModeratorName, r.Reason, r.Points, r.CreatedAt.UnixMilli(),
			nullTime(r.ExpiresAt), nullTime(r.RevokedAt)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ListForUser returns the rows of targetID in a guild that are active at at,
// oldest first: the query of Cases.ListForUser, by the plain user ID, as one
// statement outside an explicit transaction.
func (b *Baseline) ListForUser(ctx context.Context, guildID, targetID string, at time.Time) (_ []BaselineRow, err error) {
	defer wrap(&err, "baseline list")
	rows, err := b.read.QueryContext(ctx, `SELECT guild_id, number, kind, target_id, target_name,
		moderator_id, moderator_name, reason, points, created_at, expires_at, revoked_at
		FROM bare_cases WHERE guild_id = ? AND target_id = ?
		AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY number`,
		guildID, targetID, at.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BaselineRow
	for rows.Next() {
		var (
			r                    BaselineRow
			kind                 string
			created              int64
			expires, revokedTime sql.NullInt64
		)
		if err := rows.Scan(&r.GuildID, &r.Number, &kind, &r.TargetID, &r.TargetName, &r.ModeratorID,
			&r.ModeratorName, &r.Reason, &r.Points, &created, &expires, &revokedTime); err != nil {
			return nil, err
		}
		r.Kind = CaseKind(kind)
		r.CreatedAt = time.UnixMilli(created).UTC()
		r.ExpiresAt = fromNullTime(expires)
		r.RevokedAt = fromNullTime(revokedTime)
		out = append(out, r)
	}
	return out, rows.Err()
}
