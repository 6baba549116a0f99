package storage

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// dbtx is what the statement helpers need from a transaction: a read
// transaction (*sql.Tx) or a write transaction (writeTx), whose hot
// statements are prepared once.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// The statements every warning runs inside its write transaction. Named, so
// that the helpers and the list of prepared statements share one text.
const (
	sqlNextCaseNumber = `SELECT max(
		coalesce((SELECT max(number) FROM cases WHERE guild_id = ?), 0),
		coalesce((SELECT last_number FROM case_counters WHERE guild_id = ?), 0)) + 1`
	sqlInsertCase = `INSERT INTO cases (guild_id, number, kind, target_index, target_id,
		target_name, moderator_index, moderator_id, moderator_name, reason, points, duration_ms,
		created_at, expires_at, linked_case_id, row_mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlActivePoints = `SELECT coalesce(sum(c.points), 0) FROM cases c
		WHERE c.guild_id = ? AND ` + sqlTargetIs + ` AND ` + activeCase
	// sqlTargetIs is the form indexIn gives for one index: with it,
	// activePoints runs the prepared sqlActivePoints.
	sqlTargetIs    = `c.target_index = ?`
	sqlAuditLast   = `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`
	sqlAuditInsert = `INSERT INTO audit_log (seq, at, guild_id, actor, action, details, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlPutMeta = `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	sqlGetMeta = `SELECT value FROM meta WHERE key = ?`
)

// hotWrites are prepared once on the writer connection. The driver compiles
// every other statement each time it runs; these are the ones a /warn runs
// one after another, where compiling on every call would be a large share
// of the command's time.
var hotWrites = []string{
	sqlNextCaseNumber, sqlInsertCase, sqlActivePoints, sqlAuditInsert, sqlGetMeta, sqlPutMeta,
}

// stmtCache holds the writer's prepared statements.
//
// get never blocks: a transaction holding the writer's only connection
// calls it, while prepare may be waiting for that same connection.
type stmtCache struct {
	prep  sync.Mutex // serialises prepare and close
	stmts atomic.Pointer[map[string]*sql.Stmt]
}

// prepare compiles hotWrites on pool (the writer), once. It must be called
// outside a transaction: the writer has one connection, which a transaction
// holds. A failure, such as a database not migrated yet, leaves the cache
// empty to be tried again at the next transaction; statements then run
// uncached, which is only slower.
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB) {
	if c.stmts.Load() != nil {
		return
	}
	c.prep.Lock()
	defer c.prep.Unlock()
	if c.stmts.Load() != nil {
		return
	}
	stmts := make(map[string]*sql.Stmt, len(hotWrites))
	for _, q := range hotWrites {
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range stmts {
				st.Close()
			}
			return
		}
		stmts[q] = st
	}
	c.stmts.Store(&stmts)
}

// get returns the prepared statement of query, or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	if m := c.stmts.Load(); m != nil {
		return (*m)[query]
	}
	return nil
}

// close finalizes the statements; the writer pool closes after.
func (c *stmtCache) close() error {
	c.prep.Lock()
	defer c.prep.Unlock()
	m := c.stmts.Swap(nil)
	if m == nil {
		return nil
	}
	var errs []error
	for _, st := range *m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// writeTx is a write transaction on the writer connection. Its Exec and
// QueryRow use the prepared statement for a query of hotWrites; SQLite
// recompiles a prepared statement by itself after a schema change.
type writeTx struct {
	*sql.Tx
	cache *stmtCache
	head  *headCache
}

// ExecContext runs query in the transaction.
func (tx writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.cache.get(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction and returns its first row.
func (tx writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.cache.get(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}
