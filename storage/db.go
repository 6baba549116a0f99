// Package storage keeps the bot's records in one SQLite file: it opens the
// file with the pragmas the design requires, runs the embedded migrations,
// and offers one repository per noun (guild settings, cases, scheduled
// actions, the audit log, installation metadata).
//
// Every value that identifies or describes a person is sealed with a Cipher
// before it reaches SQL, bound by associated data to its table, column and
// row; lookups by user go through a keyed blind index, and match the index
// under every enabled index key so that a rotation of those keys misses no
// row. Moving the data to new keys is here too, since it is SQL: Reencrypt
// and Reindex rewrite values and indexes under the primary keys in
// resumable batches, and SealedKeyUsage and IndexKeyUsage count what still
// uses an old key before it is retired. Errors leaving the package are this
// package's (ErrNotFound, ErrConflict, ...), never SQLite's.
package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeout is how long a connection waits for a lock held by another
// connection or process before giving up with ErrBusy. Inside this process
// writers queue in database/sql instead (see DB), so the wait only covers
// other processes (a `bot backup` run) and WAL checkpoints.
const busyTimeout = 10 * time.Second

// readConns bounds the reader pool. Readers never block each other or the
// writer in WAL mode; a handful covers a bot's concurrent commands, and each
// connection holds its own page cache.
const readConns = 4

// writerCacheKiB is the writer connection's page cache, in KiB. Readers
// keep SQLite's default of 2 MiB.
const writerCacheKiB = 8 << 10

// applicationID marks the file as this program's database ('MODB'). It is set
// by migration 1.
const applicationID = 0x4D4F4442

// sqliteHeader is the first 16 bytes of every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// DB is the bot's database.
//
// It holds two pools on the same file. The writer pool has exactly one
// connection: every write transaction in the process queues for it inside
// database/sql, so two commands never compete for SQLite's write lock and
// never see SQLITE_BUSY, however many run at once. Its transactions begin
// IMMEDIATE, so the lock is taken up front and a read-then-write transaction
// cannot fail half-way when upgrading its lock. The reader pool has several
// query-only connections; in WAL mode they read a consistent snapshot while
// the writer works, so lists and lookups do not wait behind writes.
type DB struct {
	path  string
	write *sql.DB
	read  *sql.DB
	stmts stmtCache     // the writer's prepared statements
	head  headCache     // the chain's head as last committed
	ckpt  *checkpointer // copies the WAL into the file in the background
	file  *dbFile       // the file itself, read by backups; closed last
	// backupChunk replaces defaultBackupChunk when not zero; tests lower
	// it to make a copy take many chunks.
	backupChunk int64
}

// dsn builds the driver data source name for path. It is the one place that
// decides connection settings; modernc applies busy_timeout first, then the
// remaining _pragma values in lexical order, on every new connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// busy_timeout must be in force before journal_mode, which needs a lock
	// and would otherwise fail at once if another process holds it.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// Foreign keys are off by default in SQLite, per connection; the schema's
	// ON DELETE rules mean nothing without them.
	q.Add("_pragma", "foreign_keys(1)")
	// Nothing the file's schema defines (a view, a trigger, a default) may
	// call a function that has side effects; the bot's own schema needs
	// none, and CheckSchema refuses any other schema.
	q.Add("_pragma", "trusted_schema(0)")
	if readOnly {
		// A reader that writes by mistake fails loudly instead of taking
		// the write lock behind the single writer's back.
		q.Add("_pragma", "query_only(1)")
		return path + "?" + q.Encode()
	}
	// WAL lets readers run while a write commits, and a commit is one
	// append instead of a journal plus a rewrite. It is persistent in the
	// file, so readers inherit it.
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL on every commit: a warning acknowledged to a
	// moderator survives a power cut. NORMAL (the usual WAL choice) may lose
	// the last commits.
	q.Add("_pragma", "synchronous(FULL)")
	// Deleted data (a user's erased records, old ciphertexts) is zeroed
	// rather than left in free pages for anyone reading the file.
	q.Add("_pragma", "secure_delete(1)")
	// BEGIN IMMEDIATE takes the write lock when the transaction starts. A
	// deferred transaction that reads first and writes later can fail with
	// SQLITE_BUSY on the upgrade, which busy_timeout cannot wait out.
	q.Set("_txlock", "immediate")
	// The writer's page cache, unlike a reader's, survives between
	// transactions (SQLite empties a reader's after every commit by another
	// connection), so a larger one keeps the upper levels of the case
	// indexes in memory, where each new case is inserted at a random place.
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -writerCacheKiB))
	// Commits never checkpoint; a checkpointer of its own does (see
	// checkpointer), so no command waits for one.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	return path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path. It does not migrate;
// call Migrate. It returns an error wrapping ErrNotDatabase if the file is not
// SQLite or not this program's, ErrSchemaTooNew (a *SchemaTooNewError) if a
// newer bot has migrated it, and an error if the required pragmas do not take
// effect (for example WAL on a file system that cannot do it).
func Open(ctx context.Context, path string) (*DB, error) {
	return openDB(ctx, path, openOptions{})
}

// openOptions adjusts openDB for tests. The zero value is what Open uses.
type openOptions struct {
	// checkpointInterval replaces defaultCheckpointInterval when not zero.
	checkpointInterval time.Duration
}

// openDB is Open with options.
func openDB(ctx context.Context, path string, o openOptions) (_ *DB, err error) {
	defer wrap(&err, "open database "+path)
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: path %q is empty or contains '?' or '#'", ErrInvalid, path)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	// Create a new file readable by this user only; SQLite gives its WAL
	// and shared-memory files the same mode. The records are encrypted, but
	// their number, times and guilds are not.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	db := &DB{path: path}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	db.file = &dbFile{f: f}
	if db.write, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	// Keep the one connection forever: reopening it would only repeat the
	// pragmas and drop the page cache.
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	if err := checkPragmas(ctx, db.write); err != nil {
		return nil, err
	}
	if err := checkIdentity(ctx, db.write); err != nil {
		return nil, err
	}
	if err := checkVersion(ctx, db.write); err != nil {
		return nil, err
	}
	if db.read, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		return nil, err
	}
	db.read.SetMaxOpenConns(readConns)
	db.read.SetMaxIdleConns(readConns)
	if err := db.read.PingContext(ctx); err != nil {
		return nil, err
	}
	if db.ckpt, err = startCheckpointer(ctx, path, o.checkpointInterval); err != nil {
		return nil, err
	}
	return db, nil
}

// Close closes both pools. The writer closes last, so that the final
// connection checkpoints the WAL into the main file.
func (db *DB) Close() error {
	errs := []error{db.ckpt.close(), db.stmts.close()}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	// After every connection: closing it drops the process's locks on the
	// file (see dbFile).
	if db.file != nil {
		db.file.mu.Lock()
		if db.file.f != nil {
			errs = append(errs, db.file.f.Close())
			db.file.f = nil
		}
		db.file.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Path returns the file name the database was opened with.
func (db *DB) Path() string { return db.path }

// beginWrite starts a write transaction (BEGIN IMMEDIATE) on the writer.
func (db *DB) beginWrite(ctx context.Context) (writeTx, error) {
	db.stmts.prepare(ctx, db.write)
	tx, err := db.write.BeginTx(ctx, nil)
	return writeTx{Tx: tx, cache: &db.stmts, head: &db.head}, err
}

// beginRead starts a read transaction: one consistent snapshot across the
// statements of a query method.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// checkHeader refuses a file that exists, is not empty and does not start
// with the SQLite header, before SQLite is given a chance to touch it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF) {
		return nil // an empty file is an empty database
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if !bytes.Equal(head[:n], sqliteHeader) {
		return fmt.Errorf("%w: it is not an SQLite file; check the path", ErrNotDatabase)
	}
	return nil
}

// checkPragmas asserts that the settings the design depends on are in force,
// rather than trusting that the DSN was parsed as intended.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	checks := []struct{ pragma, want, why string }{
		{"journal_mode", "wal", "the file system may not support WAL (a network share?)"},
		{"synchronous", "2", "synchronous must be FULL"},
		{"foreign_keys", "1", "foreign keys must be enforced"},
		{"secure_delete", "1", "deleted data must be overwritten"},
		{"busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10), "busy_timeout was not applied"},
		{"wal_autocheckpoint", "0", "commits must leave checkpoints to the checkpointer"},
		{"trusted_schema", "0", "the schema must not call functions with side effects"},
	}
	for _, c := range checks {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			return fmt.Errorf("read PRAGMA %s: %w", c.pragma, err)
		}
		if !strings.EqualFold(got, c.want) {
			return fmt.Errorf("PRAGMA %s is %q, want %q: %s", c.pragma, got, c.want, c.why)
		}
	}
	return nil
}

// checkIdentity refuses an SQLite file that belongs to something else. A
// file is ours if it carries our application_id, or is still empty (nothing
// but goose's version table, as a failed first migration leaves it).
func checkIdentity(ctx context.Context, db *sql.DB) error {
	var id int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return err
	}
	if id == applicationID {
		return nil
	}
	if id != 0 {
		return fmt.Errorf("%w: it belongs to another application (application_id %#x)", ErrNotDatabase, id)
	}
	var table string
	err := db.QueryRowContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT IN (?, 'sqlite_sequence') ORDER BY name LIMIT 1`,
		gooseTable).Scan(&table)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: it is another program's SQLite database (it has a table %q and lacks the bot's marker)",
		ErrNotDatabase, table)
}
