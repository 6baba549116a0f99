package storage

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// pauseCheckpointer keeps the background checkpointer of databases opened
// after it from running during the test.
func pauseCheckpointer(t *testing.T) {
	saved := checkpointInterval
	checkpointInterval = time.Hour
	t.Cleanup(func() { checkpointInterval = saved })
}

// TestCheckpointer: commits leave their pages in the WAL (no command pays
// for a checkpoint), and the background checkpointer copies them into the
// database file soon after.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	grow := func(t *testing.T) (*DB, int64) {
		db := newTestDB(t)
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(db.Path())
		if err != nil {
			t.Fatal(err)
		}
		cs := NewCases(db, newTestKeys(t))
		// Enough pages to pass SQLite's default autocheckpoint threshold
		// of 1,000 WAL pages, which commits would otherwise act on.
		for range 300 {
			mustCreateCase(t, cs, warning(alice, strings.Repeat("long reason ", 80)))
		}
		return db, st.Size()
	}
	t.Run("CommitsDoNotCheckpoint", func(t *testing.T) {
		pauseCheckpointer(t)
		db, before := grow(t)
		st, err := os.Stat(db.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != before {
			t.Fatalf("the database file went from %d to %d bytes: a commit checkpointed", before, st.Size())
		}
	})
	t.Run("BackgroundCheckpoint", func(t *testing.T) {
		db, before := grow(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := os.Stat(db.Path())
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > before {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the database file is still %d bytes 10 s after the commits: nothing checkpointed", st.Size())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestCheckpointBesideCheckpointer: SQLite answers a checkpoint that finds
// another one running with busy at once. Checkpoint (at shutdown) must not
// fail because the background checkpointer happened to be running.
func TestCheckpointBesideCheckpointer(t *testing.T) {
	ctx := context.Background()
	saved := checkpointInterval
	checkpointInterval = time.Millisecond
	t.Cleanup(func() { checkpointInterval = saved })
	db := newTestDB(t)
	cs := NewCases(db, newTestKeys(t))
	for i := range 100 {
		mustCreateCase(t, cs, warning(alice, strings.Repeat("x", 1000)))
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}
}
