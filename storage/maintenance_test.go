package storage

import (
	"context"
	"os"
	"testing"
)

func TestCheckpointEmptiesWAL(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	if _, err := db.write.ExecContext(ctx, "INSERT INTO meta(key, value) VALUES ('checkpoint-test', x'01')"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(db.Path() + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("expected a non-empty WAL before the checkpoint: %v", err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	st, err := os.Stat(db.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 0 {
		t.Errorf("WAL size after checkpoint got=%d, want 0", st.Size())
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Errorf("IntegrityCheck: %v", err)
	}
}

func TestQuickCheckAndPing(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	if err := db.QuickCheck(ctx); err != nil {
		t.Errorf("QuickCheck: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Error("Ping on a closed database succeeded")
	}
}

func TestNewDatabaseIsPrivate(t *testing.T) {
	db := newTestDB(t)
	for _, p := range []string{db.Path(), db.Path() + "-wal"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode got=%v, want 0600", p, st.Mode().Perm())
		}
	}
}
