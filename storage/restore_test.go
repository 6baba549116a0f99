package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
)

// writeCopy writes data to a new file and returns its path.
func writeCopy(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := newSealedDB(t)
	good, err := os.ReadFile(mustBackup(t, db, BackupOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file func(t *testing.T) string
		want error
	}{
		{"Empty", func(t *testing.T) string { return writeCopy(t, nil) }, ErrNotDatabase},
		{"Text", func(t *testing.T) string { return writeCopy(t, []byte("hello, this is not a database\n")) }, ErrNotDatabase},
		{"Missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.db") }, os.ErrNotExist},
		{"HeaderOnly", func(t *testing.T) string { return writeCopy(t, good[:50]) }, ErrCorrupt},
		{"TruncatedMidPage", func(t *testing.T) string { return writeCopy(t, good[:len(good)-100]) }, ErrCorrupt},
		{"TruncatedWholePage", func(t *testing.T) string { return writeCopy(t, good[:len(good)-4096]) }, ErrCorrupt},
		{"OtherProgram", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "other.db")
			other, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrNotDatabase},
		// An edited schema that SQLite accepts but the bot's queries
		// cannot use (found by FuzzVerify).
		// A changed byte in the schema's text is refused before anything of
		// the schema runs; it cannot be told from an edit.
		{"SchemaEdited", func(t *testing.T) string {
			return writeCopy(t, bytes.Replace(good, []byte("is_applied"), []byte("is_xpplied"), 1))
		}, ErrSchemaAltered},
		{"SchemaTooNew", func(t *testing.T) string {
			path := writeCopy(t, good)
			edit, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer edit.Close()
			if _, err := edit.Exec(`INSERT INTO ` + gooseTable + ` (version_id, is_applied) VALUES (999, 1)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, ErrSchemaTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(ctx, tt.file(t))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got=%v, want %v", err, tt.want)
			}
			t.Logf("err: %v", err)
		})
	}
}

// TestVerifyFlippedByte flips one byte at a time across the whole backup:
// every single change must be refused, including in free space and in
// unused parts of pages, which SQLite itself never checks.
func TestVerifyFlippedByte(t *testing.T) {
	ctx := context.Background()
	db, _ := newSealedDB(t)
	good, err := os.ReadFile(mustBackup(t, db, BackupOptions{KeysBundle: []byte("bundle")}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flipped.db")
	for off := 0; off < len(good); off += 797 {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x10
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(ctx, path); err == nil {
			t.Errorf("a flipped byte at offset %d (page %d) passed verification", off, off/4096+1)
		}
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 13, 4, 5, 0, time.UTC)

	t.Run("RoundTrip", func(t *testing.T) {
		db, k := newSealedDB(t)
		cs := NewCases(db, k)
		mustCreateCase(t, cs, warning("555555555555555555", "second"))
		want, err := cs.AllForUser(ctx, "555555555555555555")
		if err != nil {
			t.Fatal(err)
		}
		backup := mustBackup(t, db, BackupOptions{KeysBundle: []byte("bundle")})
		// A change after the backup: it must be gone after the restore,
		// and kept in the previous database.
		mustCreateCase(t, cs, warning("555555555555555555", "after the backup"))
		dest := db.Path()
		db.Close()

		res, err := Restore(ctx, backup, dest, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Previous != dest+".before-restore-20261127T130405Z" || res.FromVersion != LatestVersion() || res.ToVersion != LatestVersion() {
			t.Errorf("result got=%+v", res)
		}
		if len(res.MovedAside) != 0 {
			t.Errorf("moved %v aside, want nothing: the old database was checkpointed", res.MovedAside)
		}
		restored := openTestDB(t, dest)
		got, err := NewCases(restored, k).AllForUser(ctx, "555555555555555555")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("restored cases got=%+v, want %+v", got, want)
		}
		if err := CheckKeys(ctx, restored, k, "keys"); err != nil {
			t.Errorf("keys no longer open the restored database: %v", err)
		}
		var n int
		restored.read.QueryRow(`SELECT count(*) FROM meta WHERE key LIKE 'backup_%'`).Scan(&n)
		if n != 0 {
			t.Errorf("%d backup-only rows left in the restored database", n)
		}
		prev := openTestDB(t, res.Previous)
		old, err := NewCases(prev, k).AllForUser(ctx, "555555555555555555")
		if err != nil || len(old) != len(want)+1 {
			t.Errorf("previous database holds %d cases (err %v), want %d", len(old), err, len(want)+1)
		}
		// Restoring the same backup again in the same second keeps both
		// previous databases.
		restored.Close()
		res2, err := Restore(ctx, backup, dest, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Previous == res.Previous {
			t.Errorf("second restore reused the name %s", res.Previous)
		}
	})

	t.Run("UnreadableOldDatabaseMovedAsideWithWAL", func(t *testing.T) {
		db, _ := newSealedDB(t)
		backup := mustBackup(t, db, BackupOptions{})
		dir := t.TempDir()
		dest := filepath.Join(dir, "bot.db")
		os.WriteFile(dest, []byte("damaged"), 0o600)
		os.WriteFile(dest+"-wal", []byte("its wal"), 0o600)
		res, err := Restore(ctx, backup, dest, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(res.Previous); string(b) != "damaged" {
			t.Errorf("previous database got=%q, want the old bytes", b)
		}
		if b, _ := os.ReadFile(res.Previous + "-wal"); string(b) != "its wal" {
			t.Errorf("previous WAL got=%q, want the old bytes", b)
		}
		if _, err := os.Stat(dest + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Error("the old WAL is still beside the restored database")
		}
		if _, err := Verify(ctx, dest); err != nil {
			t.Errorf("restored database: %v", err)
		}
	})

	t.Run("NoDatabaseYet", func(t *testing.T) {
		db, k := newSealedDB(t)
		backup := mustBackup(t, db, BackupOptions{})
		dest := filepath.Join(t.TempDir(), "bot.db")
		res, err := Restore(ctx, backup, dest, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Previous != "" {
			t.Errorf("Previous got=%q, want none", res.Previous)
		}
		if got := listDir(t, filepath.Dir(dest)); len(got) != 1 {
			t.Errorf("directory after restore got=%v, want bot.db only", got)
		}
		if err := CheckKeys(ctx, openTestDB(t, dest), k, "keys"); err != nil {
			t.Error(err)
		}
	})

	t.Run("ErrInvalidSameFile", func(t *testing.T) {
		db, _ := newSealedDB(t)
		_, err := Restore(ctx, db.Path(), db.Path(), now, nil)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("got=%v, want ErrInvalid", err)
		}
	})

	t.Run("BadBackupChangesNothing", func(t *testing.T) {
		db, _ := newSealedDB(t)
		dest := db.Path()
		db.Close()
		before := listDir(t, filepath.Dir(dest))
		data, _ := os.ReadFile(dest)
		if _, err := Restore(ctx, writeCopy(t, []byte("not a backup")), dest, now, nil); !errors.Is(err, ErrNotDatabase) {
			t.Errorf("got=%v, want ErrNotDatabase", err)
		}
		after, _ := os.ReadFile(dest)
		if string(after) != string(data) || !reflect.DeepEqual(listDir(t, filepath.Dir(dest)), before) {
			t.Error("a refused restore changed the data directory")
		}
	})
}

// TestCheckKeysOfBackup checks a backup against keys that are not its own.
func TestCheckKeysOfBackup(t *testing.T) {
	db, k := newSealedDB(t)
	res, err := Verify(context.Background(), mustBackup(t, db, BackupOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.CheckKeys(k); err != nil {
		t.Errorf("own keys: %v", err)
	}
	if err := res.CheckKeys(newTestKeys(t)); !errors.Is(err, keys.ErrWrongKeys) {
		t.Errorf("other keys: got=%v, want keys.ErrWrongKeys", err)
	}
}
