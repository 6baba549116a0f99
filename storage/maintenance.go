package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Checkpoint copies every committed page from the WAL into the main file
// and truncates the WAL to zero bytes. The bot calls it before closing at
// shutdown, so that the database is one self-contained file afterwards. It
// returns an error if readers kept part of the WAL from being copied.
func (db *DB) Checkpoint(ctx context.Context) (err error) {
	defer wrap(&err, "checkpoint")
	return truncateCheckpoint(ctx, db.write, db.ckpt)
}

// truncateCheckpoint runs a TRUNCATE checkpoint on pool, pausing the
// background checkpointer c meanwhile. SQLite runs one checkpoint at a time
// and answers a second at once with busy, without waiting; another process
// (a `bot backup` beside the running bot) may be checkpointing too, so a
// busy answer that copied nothing is tried again for a while.
func truncateCheckpoint(ctx context.Context, pool *sql.DB, c *checkpointer) error {
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	deadline := time.Now().Add(busyTimeout)
	for {
		var busy, logFrames, checkpointed int
		row := pool.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		if err := row.Scan(&busy, &logFrames, &checkpointed); err != nil {
			return err
		}
		switch {
		case busy == 0:
			return nil
		case logFrames >= 0 || time.Now().After(deadline):
			return fmt.Errorf("%w: readers held the WAL (%d of %d frames copied)", ErrBusy, checkpointed, logFrames)
		}
		// -1 frames: another connection's checkpoint held the lock.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// IntegrityCheck runs SQLite's full integrity check and returns nil if it
// reports "ok", or an error wrapping ErrCorrupt with its first findings.
func (db *DB) IntegrityCheck(ctx context.Context) (err error) {
	defer wrap(&err, "integrity check")
	problems, err := integrityProblems(ctx, db.read)
	if err != nil || problems == nil {
		return err
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, problems)
}

// integrityProblems runs PRAGMA integrity_check on db and returns its first
// findings: nil when it reports "ok", and otherwise a non-nil slice (empty
// if it reported nothing at all, which is no "ok" either).
func integrityProblems(ctx context.Context, db *sql.DB) ([]string, error) {
	return checkProblems(ctx, db, "integrity_check")
}

// checkProblems runs PRAGMA pragma(10), integrity_check or quick_check, and
// returns its findings as integrityProblems does.
func checkProblems(ctx context.Context, db *sql.DB, pragma string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma+"(10)")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	problems := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		problems = append(problems, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil, nil
	}
	return problems, nil
}

// QuickCheck runs SQLite's quick_check, a cheaper integrity check that
// skips index consistency, and returns nil if it reports "ok".
func (db *DB) QuickCheck(ctx context.Context) (err error) {
	defer wrap(&err, "quick check")
	var s string
	if err := db.read.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&s); err != nil {
		return err
	}
	if s != "ok" {
		return fmt.Errorf("%w: %s", ErrCorrupt, s)
	}
	return nil
}

// Ping checks that the database answers a query, for readiness probes.
func (db *DB) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "ping")
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
