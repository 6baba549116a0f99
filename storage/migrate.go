package storage

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/modbot/bot/migrations"
)

// gooseTable is where goose records applied versions (goose's default).
const gooseTable = goose.DefaultTablename

// MigrationStatus describes one embedded migration.
type MigrationStatus struct {
	Version   int64
	Name      string // file name, e.g. "00001_initial.sql"
	Applied   bool
	AppliedAt time.Time // zero unless Applied
}

// SchemaTooNewError is returned (wrapped) when the database was migrated by
// a newer bot. errors.Is(err, ErrSchemaTooNew) reports true for it.
type SchemaTooNewError struct {
	Database int64 // the database's schema version
	Known    int64 // the newest version this binary carries
}

// Error names both versions and tells the owner what to do.
func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("this database is at schema version %d but this bot knows up to %d: "+
		"it was written by a newer version of the bot; upgrade the binary", e.Database, e.Known)
}

// Is makes errors.Is(err, ErrSchemaTooNew) true.
func (e *SchemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// LatestVersion returns the newest schema version embedded in this binary.
func LatestVersion() int64 {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	var latest int64
	for _, name := range names {
		v, err := strconv.ParseInt(strings.SplitN(path.Base(name), "_", 2)[0], 10, 64)
		if err != nil {
			panic(fmt.Sprintf("migration %s: name does not start with a version number", name))
		}
		latest = max(latest, v)
	}
	return latest
}

// Migrate applies every pending migration, each in its own transaction. It
// returns a *SchemaTooNewError if the database is newer than the binary.
func (db *DB) Migrate(ctx context.Context) (err error) {
	defer wrap(&err, "migrate")
	if err := checkVersion(ctx, db.write); err != nil {
		return err
	}
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// MigrationStatus lists every embedded migration, oldest first, and whether
// it has been applied. On a database never migrated it creates goose's
// (empty) version table.
func (db *DB) MigrationStatus(ctx context.Context) (_ []MigrationStatus, err error) {
	defer wrap(&err, "migration status")
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	list, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(list))
	for _, s := range list {
		st := MigrationStatus{
			Version: s.Source.Version,
			Name:    path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		}
		if st.Applied {
			st.AppliedAt = s.AppliedAt.UTC()
		}
		out = append(out, st)
	}
	return out, nil
}

// SchemaVersion returns the highest schema version applied to the database,
// 0 for a database never migrated.
func (db *DB) SchemaVersion(ctx context.Context) (_ int64, err error) {
	defer wrap(&err, "schema version")
	return schemaVersion(ctx, db.write)
}

// provider builds a goose Provider over the writer pool. goose is given the
// *sql.DB directly, so the driver name it would otherwise want ("sqlite3",
// mattn's) does not matter; DialectSQLite3 only selects its SQL for the
// version table. Migrations run on one connection goose takes from the pool,
// which is the writer, so they queue with other writes.
func (db *DB) provider() (*goose.Provider, error) {
	return goose.NewProvider(goose.DialectSQLite3, db.write, migrations.FS,
		goose.WithLogger(goose.NopLogger()),
		// Only the embedded SQL files count; a Go migration registered
		// globally by some imported package must not run here.
		goose.WithDisableGlobalRegistry(true),
	)
}

// schemaVersion reads goose's table without creating it, so a read-only
// check never writes. It runs nothing the file defines: goose's table must
// be defined exactly as goose defines it (a generated column or an index on
// it would run the file's SQL), and the read uses no index.
func schemaVersion(ctx context.Context, db *sql.DB) (int64, error) {
	var n int
	err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, gooseTable).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	if err := checkGooseTable(ctx, db); err != nil {
		return 0, err
	}
	var v int64
	err = db.QueryRowContext(ctx,
		`SELECT coalesce(max(version_id), 0) FROM `+gooseTable+` NOT INDEXED WHERE is_applied`).Scan(&v)
	return v, err
}

// checkVersion refuses a database migrated past what this binary knows:
// running an old binary on it could misread or damage newer data.
func checkVersion(ctx context.Context, db *sql.DB) error {
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if latest := LatestVersion(); v > latest {
		return &SchemaTooNewError{Database: v, Known: latest}
	}
	return nil
}
