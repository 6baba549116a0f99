package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileCopy copies a genuine backup, removes its backup-only rows (so it
// passes for a plain copy of a database, which carries no checksum), then
// runs edits on it with a plain SQLite connection, as someone with a SQLite
// shell would.
func hostileCopy(t *testing.T, good []byte, edits ...string) string {
	t.Helper()
	path := writeCopy(t, good)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := append([]string{`DELETE FROM meta WHERE key IN ('` + metaBackupChecksum + `', '` + metaBackupKeys + `', '` + metaBackupCreatedAt + `')`}, edits...)
	for _, e := range all {
		if _, err := db.Exec(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
	// Fold the edits into the file: Verify reads it as immutable.
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode=DELETE`); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyRefusesAlteredSchema: a file whose schema or record of
// migrations is not what the migrations create is refused, naming what
// differs, before any of its SQL runs.
func TestVerifyRefusesAlteredSchema(t *testing.T) {
	ctx := context.Background()
	db, _ := newSealedDB(t)
	good, err := os.ReadFile(mustBackup(t, db, BackupOptions{}))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("PlainCopyAccepted", func(t *testing.T) {
		if _, err := Verify(ctx, hostileCopy(t, good)); err != nil {
			t.Fatalf("a plain copy of a genuine database was refused: %v", err)
		}
	})
	tests := []struct {
		name  string
		edits []string
		names string // in the error
	}{
		{"TriggerOnGoose", []string{`CREATE TABLE pwned (x)`,
			`CREATE TRIGGER t_goose AFTER INSERT ON goose_db_version BEGIN INSERT INTO pwned VALUES (1); END`}, `trigger "t_goose" was added`},
		{"TriggerOnCases", []string{`CREATE TRIGGER t_cases AFTER INSERT ON cases BEGIN DELETE FROM cases; END`}, `trigger "t_cases" was added`},
		{"TriggerOnAudit", []string{`CREATE TRIGGER t_audit BEFORE INSERT ON audit_log BEGIN SELECT 1; END`}, `trigger "t_audit" was added`},
		{"ExtraTable", []string{`CREATE TABLE extra (x)`}, `table "extra" was added`},
		{"View", []string{`CREATE VIEW v AS SELECT * FROM cases`}, `view "v" was added`},
		{"DroppedIndex", []string{`DROP INDEX cases_by_link`}, `index "cases_by_link" is missing`},
		{"ChangedIndex", []string{`DROP INDEX cases_by_link`, `CREATE INDEX cases_by_link ON cases (number)`}, `index "cases_by_link" was changed`},
		{"ChangedTable", []string{`ALTER TABLE meta ADD COLUMN extra TEXT`}, `table "meta" was changed`},
		{"MissingMigrationRow", []string{`DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`}, `" was added`},
		{"DuplicateMigrationRow", []string{`INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, 1)`}, "record of applied migrations"},
		{"UnappliedMigrationRow", []string{`INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, 0)`}, "record of applied migrations"},
		{"Everything", []string{`CREATE TABLE pwned (x)`,
			`CREATE TRIGGER t_goose AFTER INSERT ON goose_db_version BEGIN INSERT INTO pwned VALUES (1); END`,
			`CREATE TRIGGER t_cases AFTER INSERT ON cases BEGIN DELETE FROM cases; END`,
			`CREATE TRIGGER t_audit BEFORE INSERT ON audit_log BEGIN SELECT 1; END`,
			`DELETE FROM goose_db_version WHERE version_id = 2`}, `trigger "t_goose" was added`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(ctx, hostileCopy(t, good, tt.edits...))
			if !errors.Is(err, ErrSchemaAltered) {
				t.Fatalf("got %v, want ErrSchemaAltered", err)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
		})
	}
}

// TestRestoreRefusesAlteredSchema: restoring a hostile file fails before it
// is migrated (its trigger on goose's table never fires), and leaves the
// live database and its WAL byte for byte as they were.
func TestRestoreRefusesAlteredSchema(t *testing.T) {
	ctx := context.Background()
	src, _ := newSealedDB(t)
	good, err := os.ReadFile(mustBackup(t, src, BackupOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	// An old backup (version 1), so that restore would have to migrate it.
	hostile := hostileCopy(t, good,
		`DROP INDEX cases_by_target`, `CREATE INDEX cases_by_target ON cases (guild_id, target_index, number)`,
		`DELETE FROM goose_db_version WHERE version_id = 2`,
		`CREATE TABLE pwned (x)`,
		`CREATE TRIGGER t_goose AFTER INSERT ON goose_db_version BEGIN INSERT INTO pwned VALUES (1); END`)

	live, _ := newSealedDB(t)
	livePath := live.Path()
	before := snapshotFiles(t, livePath)
	if _, err := Restore(ctx, hostile, livePath, time.Now(), nil); !errors.Is(err, ErrSchemaAltered) {
		t.Fatalf("Restore got %v, want ErrSchemaAltered", err)
	}
	if after := snapshotFiles(t, livePath); !bytes.Equal(before, after) {
		t.Error("the live database or its WAL changed")
	}
	entries, _ := os.ReadDir(filepath.Dir(livePath))
	for _, e := range entries {
		if strings.Contains(e.Name(), "before-restore") || strings.Contains(e.Name(), restoreTempPrefix) {
			t.Errorf("restore left %s behind", e.Name())
		}
	}
}

// snapshotFiles returns the bytes of a database file and its WAL.
func snapshotFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(append(all, b...), '|')
	}
	return all
}

// TestCheckSchemaLive: the live database passes before and after migration,
// and a planted trigger is found.
func TestCheckSchemaLive(t *testing.T) {
	ctx := context.Background()
	fresh := openTestDB(t, filepath.Join(t.TempDir(), "new.db"))
	if err := fresh.CheckSchema(ctx); err != nil {
		t.Fatalf("an empty database: %v", err)
	}
	db := newTestDB(t)
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("a migrated database: %v", err)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TRIGGER planted AFTER INSERT ON cases BEGIN SELECT 1; END`); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckSchema(ctx); !errors.Is(err, ErrSchemaAltered) || !strings.Contains(err.Error(), "planted") {
		t.Errorf("got %v, want ErrSchemaAltered naming the trigger", err)
	}
}

// TestBackupVerifyLevels: a backup is checked at the level asked for (quick
// by default), and both levels refuse a file whose schema was altered.
func TestBackupVerifyLevels(t *testing.T) {
	db, _ := newSealedDB(t)
	for _, level := range []VerifyLevel{VerifyQuick, VerifyFull} {
		dest := filepath.Join(t.TempDir(), "b.db")
		res, err := db.BackupWithOptions(context.Background(), dest, BackupOptions{Verify: level})
		if err != nil {
			t.Fatal(err)
		}
		if res.Level != level {
			t.Errorf("level got=%v, want %v", res.Level, level)
		}
		good, _ := os.ReadFile(dest)
		bad := hostileCopy(t, good, `CREATE TRIGGER planted AFTER INSERT ON cases BEGIN SELECT 1; END`)
		if _, err := verify(context.Background(), bad, false, level); !errors.Is(err, ErrSchemaAltered) {
			t.Errorf("%v: got %v, want ErrSchemaAltered", level, err)
		}
	}
	for _, tt := range []struct {
		in   string
		want VerifyLevel
		ok   bool
	}{{"quick", VerifyQuick, true}, {"full", VerifyFull, true}, {"", 0, false}, {"Full", 0, false}, {"integrity", 0, false}} {
		got, err := ParseVerifyLevel(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVerifyLevel(%q) got=%v, %v", tt.in, got, err)
		}
	}
}

// rechecksum recomputes a backup's plain checksum after an edit, as someone
// who knows the file format but not the keys can.
func rechecksum(t *testing.T, path string) {
	t.Helper()
	h, err := readHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	slot, err := readChecksumSlot(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	sum, off, err := fileChecksum(path, h.pageSize, slot)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(sum, off+32); err != nil {
		t.Fatal(err)
	}
}

// editBackup changes a plain column of a backup, as with a SQLite shell,
// keeping every backup row: the kind of edit no structural check sees.
func editBackup(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, e := range []string{`UPDATE cases SET points = 50`, `PRAGMA journal_mode=DELETE`} {
		if _, err := db.Exec(e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupSeal: a backup made with the keys is sealed by a MAC under
// them. An edit re-checksummed by hand passes the plain checksum of a
// backup made without keys, but breaks the seal: refused, distinctly, by
// the keys' check, which is what restore runs.
func TestBackupSeal(t *testing.T) {
	ctx := context.Background()
	db, k := newSealedDB(t)

	t.Run("Intact", func(t *testing.T) {
		path := mustBackup(t, db, BackupOptions{Keys: k})
		res, err := Verify(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.CheckKeys(k); err != nil || !res.Sealed {
			t.Fatalf("CheckKeys got %v, sealed %v; want an intact seal", err, res.Sealed)
		}
	})
	t.Run("EditedAndRechecksummed", func(t *testing.T) {
		path := mustBackup(t, db, BackupOptions{Keys: k})
		editBackup(t, path)
		rechecksum(t, path)
		res, err := Verify(ctx, path)
		if err != nil {
			t.Fatalf("Verify: %v (want it to pass: only the keys can tell)", err)
		}
		if err := res.CheckKeys(k); !errors.Is(err, ErrSealBroken) {
			t.Fatalf("CheckKeys got %v, want ErrSealBroken", err)
		}
		if res.Sealed {
			t.Error("Sealed is true for a broken seal")
		}
	})
	t.Run("EditedWithoutRechecksum", func(t *testing.T) {
		path := mustBackup(t, db, BackupOptions{Keys: k})
		editBackup(t, path)
		res, err := Verify(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.CheckKeys(k); !errors.Is(err, ErrSealBroken) {
			t.Fatalf("CheckKeys got %v, want ErrSealBroken", err)
		}
	})
	t.Run("SealRemoved", func(t *testing.T) {
		// Dropping the seal marker to pass as an unkeyed backup is caught
		// by the checksum, which was a MAC, not a SHA-256.
		path := mustBackup(t, db, BackupOptions{Keys: k})
		edit, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := edit.Exec(`DELETE FROM meta WHERE key = '` + metaBackupSeal + `'`); err != nil {
			t.Fatal(err)
		}
		edit.Close()
		if _, err := Verify(ctx, path); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Verify got %v, want ErrCorrupt (checksum mismatch)", err)
		}
	})
	t.Run("UnkeyedBackupHasNoSeal", func(t *testing.T) {
		// The weakness the seal closes: without keys, the same edit passes.
		path := mustBackup(t, db, BackupOptions{})
		editBackup(t, path)
		rechecksum(t, path)
		res, err := Verify(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.CheckKeys(k); err != nil || res.Sealed || !res.Checksummed {
			t.Fatalf("an unkeyed backup: CheckKeys %v, sealed %v, checksummed %v", err, res.Sealed, res.Checksummed)
		}
	})
}
