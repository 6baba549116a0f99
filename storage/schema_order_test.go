package storage

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestVerifyRunsNoSchemaSQLBeforeComparingIt: SECURITY.md says
// restore checks the schema "before any SQL of the file runs". verify runs
// integrity_check (restore always uses the full level) and the schema
// version query before checkSchema, and both evaluate expressions stored
// in the file's schema: an expression index (integrity_check recomputes
// every entry) and a generated column of goose's table (read by
// schemaVersion). trusted_schema=OFF still allows innocuous functions, so
// an added index on length(printf('%.*c', 900000000, a)) over 2000 rows
// makes `bot restore --dry-run` of a 300 KB file allocate ~2.3 GB and run
// for about an hour before the comparison would have refused it
// (a 300 KB file).
//
// Here the expressions raise an error instead (abs of the smallest
// integer), so that whether they ran shows in the error: a file refused by
// the schema comparison first gives ErrSchemaAltered; today it gives
// ErrCorrupt ("SQLite cannot read it (integer overflow)").
func TestVerifyRunsNoSchemaSQLBeforeComparingIt(t *testing.T) {
	ctx := context.Background()
	db, _ := newSealedDB(t)
	good, err := os.ReadFile(mustBackup(t, db, BackupOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edits []string
	}{
		{"ExpressionIndexEvaluatedByIntegrityCheck", []string{
			`CREATE TABLE x (a)`,
			`INSERT INTO x VALUES (1), (2), (3)`,
			`CREATE INDEX xi ON x ((a * 0 + 7))`,
			`PRAGMA writable_schema = ON`,
			`UPDATE sqlite_schema SET sql = 'CREATE INDEX xi ON x ((abs(-9223372036854775807 - 1 + a * 0)))' WHERE name = 'xi'`,
		}},
		{"GeneratedColumnOfGooseTableEvaluatedBySchemaVersion", []string{
			`PRAGMA writable_schema = ON`,
			// is_applied becomes a virtual column computed from version_id;
			// the stored records keep their layout (tstamp reads the old
			// is_applied value).
			`UPDATE sqlite_schema SET sql = 'CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime(''now'')), is_applied INTEGER AS (abs(-9223372036854775807 - 1 + version_id * 0)) VIRTUAL)' WHERE name = 'goose_db_version'`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(ctx, hostileCopy(t, good, tt.edits...))
			if !errors.Is(err, ErrSchemaAltered) {
				t.Fatalf("Verify got %v;\nwant ErrSchemaAltered: the schema must be compared before integrity_check or any query evaluates the file's expressions", err)
			}
		})
	}
}
