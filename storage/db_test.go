package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Run("Pragmas", func(t *testing.T) {
		db := newTestDB(t)
		ctx := context.Background()
		for _, c := range []struct{ pragma, want string }{
			{"journal_mode", "wal"},
			{"synchronous", "2"},
			{"foreign_keys", "1"},
			{"secure_delete", "1"},
			{"busy_timeout", "10000"},
			{"application_id", "1297040450"},
		} {
			var got string
			if err := db.write.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, c.want) {
				t.Errorf("PRAGMA %s: got=%s, want %s", c.pragma, got, c.want)
			}
		}
		var qo int
		if err := db.read.QueryRowContext(ctx, "PRAGMA query_only").Scan(&qo); err != nil || qo != 1 {
			t.Errorf("reader query_only: got=%d (%v), want 1", qo, err)
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bot.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db = openTestDB(t, path)
		if v, err := db.SchemaVersion(context.Background()); err != nil || v != LatestVersion() {
			t.Errorf("SchemaVersion: got=%d (%v), want %d", v, err, LatestVersion())
		}
	})
	t.Run("ErrNotDatabase", func(t *testing.T) {
		for _, tt := range []struct{ name, content string }{
			{"Text", "this is a config file, not a database\n"},
			{"Short", "SQL"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "bot.db")
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := Open(context.Background(), path)
				if !errors.Is(err, ErrNotDatabase) {
					t.Fatalf("got=%v, want ErrNotDatabase", err)
				}
				if !strings.Contains(err.Error(), "not an SQLite file") {
					t.Errorf("message %q does not say what is wrong", err)
				}
				if b, _ := os.ReadFile(path); string(b) != tt.content {
					t.Errorf("the file was changed")
				}
			})
		}
	})
	t.Run("ErrNotDatabaseOtherApp", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		db := openTestDB(t, path)
		if _, err := db.write.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(context.Background(), path)
		if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), `"photos"`) {
			t.Fatalf("got=%v, want ErrNotDatabase naming the table", err)
		}
	})
	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bot.db")
		db := openTestDB(t, path)
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.write.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`,
			LatestVersion()+6); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(context.Background(), path)
		var tooNew *SchemaTooNewError
		if !errors.Is(err, ErrSchemaTooNew) || !errors.As(err, &tooNew) {
			t.Fatalf("got=%v, want ErrSchemaTooNew", err)
		}
		want := "this database is at schema version 7 but this bot knows up to 1: " +
			"it was written by a newer version of the bot; upgrade the binary"
		if LatestVersion() == 1 && !strings.Contains(err.Error(), want) {
			t.Errorf("got=%q, want it to contain %q", err, want)
		}
		if tooNew.Database != LatestVersion()+6 || tooNew.Known != LatestVersion() {
			t.Errorf("got=%+v", tooNew)
		}
	})
}

func TestMigrationStatus(t *testing.T) {
	db := openTestDB(t, filepath.Join(t.TempDir(), "bot.db"))
	ctx := context.Background()
	before, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || before[0].Applied || before[0].Name != "00001_initial.sql" {
		t.Fatalf("before Migrate: got=%+v", before)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	after, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range after {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Errorf("after Migrate: got=%+v, want applied with a time", s)
		}
	}
	if last := after[len(after)-1].Version; last != LatestVersion() {
		t.Errorf("last version: got=%d, want %d", last, LatestVersion())
	}
}

func TestTranslate(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	_, err := db.write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', x'00'), ('x', x'01')`)
	got := translate(err)
	if !errors.Is(got, ErrConflict) {
		t.Errorf("unique violation: got=%v, want ErrConflict", got)
	}
	if err := translate(db.write.QueryRowContext(ctx, `SELECT 1 FROM meta WHERE key = 'none'`).Scan(new(int))); !errors.Is(err, ErrNotFound) {
		t.Errorf("no rows: got=%v, want ErrNotFound", err)
	}
}

// TestConcurrentWrites runs many writers and readers at once: none may see
// SQLITE_BUSY, since the writer pool serializes them.
func TestConcurrentWrites(t *testing.T) {
	db := newTestDB(t)
	k := newTestKeys(t)
	audit := NewAudit(db, k)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := audit.Append(context.Background(), AuditEntry{At: t0, ActorID: "x", Action: "test"})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := audit.List(context.Background(), int64(i), 5)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n, err := audit.Verify(context.Background()); err != nil || n != 20 {
		t.Errorf("Verify: got=%d, %v; want 20, nil", n, err)
	}
}
