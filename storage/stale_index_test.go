package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestQuickBackupIsRestorable: with a table and one of its indexes out of
// step (the data intact, one index entry stale), quick_check passes, so a
// quick `bot backup` keeps the file. Restore's full check finds the stale
// entry; since only an index is wrong, it rebuilds the indexes of its copy
// and restores it, saying so, instead of refusing every backup made since.
func TestQuickBackupIsRestorable(t *testing.T) {
	ctx := context.Background()
	db, k := newSealedDB(t)
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Leave the index cases_by_target_all (on target_index) one entry out
	// of step with its table, with the table's rows (and so their seals)
	// and the schema text as the bot wrote them: the entry is changed
	// while the index is in place, and the row put back while it is not.
	edit, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	edit.SetMaxOpenConns(1)
	for _, e := range []string{
		`CREATE TEMP TABLE kept AS SELECT target_index AS v FROM cases WHERE id = 1`,
		`UPDATE cases SET target_index = randomblob(32) WHERE id = 1`,
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE INDEX cases_by_target_all ON cases (guild_id)' WHERE name = 'cases_by_target_all'`,
		`PRAGMA writable_schema = RESET`,
		`UPDATE cases SET target_index = (SELECT v FROM kept) WHERE id = 1`,
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE INDEX cases_by_target_all ON cases (target_index)' WHERE name = 'cases_by_target_all'`,
		`PRAGMA writable_schema = RESET`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	} {
		if _, err := edit.Exec(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
	edit.Close()

	db = openTestDB(t, path)
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatalf("the schema text is the migrations' own: %v", err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := db.BackupWithOptions(ctx, backup, BackupOptions{Keys: k}); err != nil {
		return // the quick level refused it: fine
	}
	res, err := Verify(ctx, backup)
	if err != nil || len(res.StaleIndexes) == 0 {
		t.Fatalf("Verify got %+v, %v; want the stale index entry reported, not refused", res, err)
	}
	live := filepath.Join(t.TempDir(), "bot.db")
	rr, err := Restore(ctx, backup, live, time.Now(), k)
	if err != nil {
		t.Fatalf("bot backup kept and reported verified a file that restore refuses:\n%v", err)
	}
	if len(rr.RebuiltIndexes) == 0 {
		t.Error("Restore did not say it rebuilt the indexes")
	}
	if _, err := Verify(ctx, live); err != nil {
		t.Errorf("the restored database: %v", err)
	}
}
