package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"

	"github.com/modbot/bot/migrations"
)

// A database file is only ever trusted with the schema this binary's own
// migrations create. SQL stored in a file (a trigger, a view, a default)
// runs when the file is used, so a file whose schema was edited could act
// on its own once restored: insert rows, grant a moderator role, fire while
// it is migrated. CheckSchema compares the file's whole schema with a
// reference built, for the file's version, by running the embedded
// migrations in a scratch database; nothing of the file runs meanwhile.

// schemaObject is one row of sqlite_schema.
type schemaObject struct {
	Type, Name, Table, SQL string
}

func (o schemaObject) String() string { return fmt.Sprintf("%s %q", o.Type, o.Name) }

// appliedVersion is one row of goose's version table, as far as it
// matters: which migration, and whether it is applied.
type appliedVersion struct {
	Version int64
	Applied bool
}

// schemaSnapshot is what CheckSchema compares.
type schemaSnapshot struct {
	objects  []schemaObject
	versions []appliedVersion
}

// references caches the reference schema of each version; a version's
// migrations never change, so neither does its reference.
var references sync.Map // int64 → schemaSnapshot

// referenceSchema returns the schema that the embedded migrations create
// at version, built in a scratch in-memory database.
func referenceSchema(ctx context.Context, version int64) (schemaSnapshot, error) {
	if s, ok := references.Load(version); ok {
		return s.(schemaSnapshot), nil
	}
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		return schemaSnapshot{}, err
	}
	defer db.Close()
	// One connection: each connection to :memory: is a database of its own.
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS,
		goose.WithLogger(goose.NopLogger()), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return schemaSnapshot{}, err
	}
	if version == 0 {
		// Only goose's own table, as reading the version of a database
		// never migrated leaves it.
		_, err = p.GetDBVersion(ctx)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return schemaSnapshot{}, fmt.Errorf("build the reference schema of version %d: %w", version, err)
	}
	s, err := readSchema(ctx, db)
	if err != nil {
		return schemaSnapshot{}, err
	}
	references.Store(version, s)
	return s, nil
}

// readSchema reads a database's schema and applied migrations. It only
// selects from sqlite_schema and goose's table: no trigger, view or
// default of the file runs.
func readSchema(ctx context.Context, db *sql.DB) (schemaSnapshot, error) {
	var s schemaSnapshot
	var err error
	if s.objects, err = readObjects(ctx, db, ""); err != nil {
		return s, err
	}
	if !slices.ContainsFunc(s.objects, func(o schemaObject) bool { return o.Type == "table" && o.Name == gooseTable }) {
		return s, nil
	}
	vrows, err := db.QueryContext(ctx, `SELECT version_id, is_applied FROM `+gooseTable+` NOT INDEXED ORDER BY version_id, is_applied`)
	if err != nil {
		return s, err
	}
	defer vrows.Close()
	for vrows.Next() {
		var v appliedVersion
		if err := vrows.Scan(&v.Version, &v.Applied); err != nil {
			return s, err
		}
		s.versions = append(s.versions, v)
	}
	return s, vrows.Err()
}

// readObjects reads rows of sqlite_schema, ordered by type and name: all
// of them, or with table set those on that table (or named after it).
func readObjects(ctx context.Context, db *sql.DB, table string) ([]schemaObject, error) {
	q := `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema`
	var args []any
	if table != "" {
		q += ` WHERE tbl_name = ? OR name = ?`
		args = []any{table, table}
	}
	rows, err := db.QueryContext(ctx, q+` ORDER BY type, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schemaObject
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.Type, &o.Name, &o.Table, &o.SQL); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// checkGooseTable refuses a database whose objects on goose's version table
// (the table itself, its indexes and triggers) are not exactly goose's, so
// that reading the version runs nothing the file defines.
func checkGooseTable(ctx context.Context, db *sql.DB) error {
	ref, err := referenceSchema(ctx, 0)
	if err != nil {
		return err
	}
	var want []schemaObject
	for _, o := range ref.objects {
		if o.Table == gooseTable {
			want = append(want, o)
		}
	}
	got, err := readObjects(ctx, db, gooseTable)
	if err != nil {
		return err
	}
	if problems := diffObjects(got, want); len(problems) > 0 {
		return altered(problems)
	}
	return nil
}

// diffObjects names what differs between got and want.
func diffObjects(got, want []schemaObject) []string {
	byKey := map[string]schemaObject{}
	for _, o := range want {
		byKey[o.Type+"\x00"+o.Name] = o
	}
	var problems []string
	seen := map[string]bool{}
	for _, o := range got {
		key := o.Type + "\x00" + o.Name
		seen[key] = true
		w, ok := byKey[key]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s was added", o))
		case w != o:
			problems = append(problems, fmt.Sprintf("%s was changed", o))
		}
	}
	for _, o := range want {
		if !seen[o.Type+"\x00"+o.Name] {
			problems = append(problems, fmt.Sprintf("%s is missing", o))
		}
	}
	return problems
}

// altered is the ErrSchemaAltered error naming the first problems.
func altered(problems []string) error {
	const shown = 5
	more := ""
	if len(problems) > shown {
		more = fmt.Sprintf(" and %d more", len(problems)-shown)
		problems = problems[:shown]
	}
	return fmt.Errorf("%w: %s%s (the file was edited outside the bot, or damaged, so none of it is used)",
		ErrSchemaAltered, strings.Join(problems, "; "), more)
}

// checkSchema refuses a database whose schema or record of migrations
// differs from what the embedded migrations create at its version. The
// error wraps ErrSchemaAltered and names the first objects that differ.
func checkSchema(ctx context.Context, db *sql.DB, version int64) error {
	got, err := readSchema(ctx, db)
	if err != nil {
		return err
	}
	if version == 0 && len(got.objects) == 0 {
		return nil // a new, empty database
	}
	ref, err := referenceSchema(ctx, version)
	if err != nil {
		return err
	}
	problems := diffObjects(got.objects, ref.objects)
	if len(problems) == 0 && !slices.Equal(got.versions, ref.versions) {
		problems = append(problems, fmt.Sprintf("the record of applied migrations (%s) is not the one migrating to version %d writes",
			versionList(got.versions), version))
	}
	if len(problems) == 0 {
		return nil
	}
	return altered(problems)
}

func versionList(vs []appliedVersion) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v.Version)
		if !v.Applied {
			parts[i] += " (not applied)"
		}
	}
	return strings.Join(parts, ", ")
}

// CheckSchema refuses a database whose schema is not exactly what this
// binary's migrations create at its schema version (see ErrSchemaAltered).
// Run it before migrating: a trigger planted on goose's table would
// otherwise fire during the migration.
func (db *DB) CheckSchema(ctx context.Context) (err error) {
	defer wrap(&err, "check schema")
	v, err := schemaVersion(ctx, db.write)
	if err != nil {
		return err
	}
	if v > LatestVersion() {
		return &SchemaTooNewError{Database: v, Known: LatestVersion()}
	}
	return checkSchema(ctx, db.write, v)
}
