package storage

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// pausedCheckpointer keeps the background checkpointer of a database
// opened with it from running during a test.
var pausedCheckpointer = openOptions{checkpointInterval: time.Hour}

// TestCheckpointer: commits leave their pages in the WAL (no command pays
// for a checkpoint), and the background checkpointer copies them into the
// database file soon after.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	grow := func(t *testing.T, o openOptions) (*DB, int64) {
		db := newTestDBWith(t, o)
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
		db, before := grow(t, pausedCheckpointer)
		st, err := os.Stat(db.Path())
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != before {
			t.Fatalf("the database file went from %d to %d bytes: a commit checkpointed", before, st.Size())
		}
	})
	t.Run("BackgroundCheckpoint", func(t *testing.T) {
		db, before := grow(t, openOptions{})
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
	db := newTestDBWith(t, openOptions{checkpointInterval: time.Millisecond})
	cs := NewCases(db, newTestKeys(t))
	for i := range 100 {
		mustCreateCase(t, cs, warning(alice, strings.Repeat("x", 1000)))
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}
}
