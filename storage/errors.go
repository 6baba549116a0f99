package storage

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors returned by this package. Callers test them with errors.Is; no
// SQLite error type or result code ever leaves the package.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a write broke a uniqueness or other constraint, or
	// asked for a change the row's state does not allow (revoking a revoked
	// case).
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the caller passed a value storage refuses to store.
	ErrInvalid = errors.New("invalid value")
	// ErrBusy means the database stayed locked by another process for
	// longer than the busy timeout. The operation may be retried.
	ErrBusy = errors.New("database is busy")
	// ErrSchemaTooNew means the database was migrated by a newer version of
	// the bot than this binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrNotDatabase means the file is not SQLite, or is SQLite but not this
	// program's database.
	ErrNotDatabase = errors.New("not the bot's database")
	// ErrCorrupt means SQLite found the file damaged.
	ErrCorrupt = errors.New("database file is corrupt")
	// ErrSchemaAltered means the file's schema (tables, indexes, triggers,
	// views and their SQL, or the record of applied migrations) is not what
	// this bot's migrations create: an object was added, removed or changed
	// by hand. Such a file is refused before any of its SQL runs.
	ErrSchemaAltered = errors.New("database schema was altered")
	// ErrSealBroken means a backup's seal, a MAC under the installation's
	// index keys over the whole file, does not match: the file was changed
	// after `bot backup` made it.
	ErrSealBroken = errors.New("backup seal does not match")
	// ErrDiskFull means SQLite could not write: the disk (or the file size
	// the process may write) is full, or failing. Nothing of the write was
	// committed.
	ErrDiskFull = errors.New("could not write to the disk: it is full, or failing; free some space where the data directory is, then try again")
	// ErrTampered means a stored ciphertext failed to open: it was altered,
	// moved to another row or column, or sealed by keys that are not loaded.
	// It wraps the keys package's decryption error.
	ErrTampered = errors.New("stored value failed to decrypt (altered, moved, or sealed by other keys)")
)

// translate maps driver errors onto this package's errors. The message (with
// any context wrapped around the driver error) is kept as text for the log,
// but the *sqlite.Error itself is not wrapped, so callers cannot come
// to depend on result codes.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if err == sql.ErrNoRows {
		return ErrNotFound
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrNotFound, err.Error())
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	// Extended result codes are on (modernc enables them); the primary code
	// is the low byte.
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		return fmt.Errorf("%w: %s", ErrConflict, err.Error())
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %s", ErrBusy, err.Error())
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: it is not an SQLite file", ErrNotDatabase)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w: %s", ErrCorrupt, err.Error())
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w (%s)", ErrDiskFull, err.Error())
	case sqlite3.SQLITE_IOERR:
		// A write refused for the file size limit, or for want of space
		// on some file systems, arrives as a write error, not FULL.
		if se.Code() == sqlite3.SQLITE_IOERR_WRITE || se.Code() == sqlite3.SQLITE_IOERR_FSYNC {
			return fmt.Errorf("%w (%s)", ErrDiskFull, err.Error())
		}
		return fmt.Errorf("sqlite: %s", err.Error())
	default:
		return fmt.Errorf("sqlite: %s", err.Error())
	}
}

// wrap translates *errp and prefixes it with op. Service methods defer it so
// every error they return is translated exactly once.
func wrap(errp *error, op string) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", op, translate(*errp))
	}
}
