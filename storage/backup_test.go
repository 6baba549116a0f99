package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modbot/bot/keys"
)

// newSealedDB returns a migrated database with a key sentinel and one case,
// and its keys.
func newSealedDB(t *testing.T) (*DB, *keys.Keyring) {
	t.Helper()
	return newSealedDBWith(t, openOptions{})
}

// newSealedDBWith is newSealedDB with options.
func newSealedDBWith(t *testing.T, o openOptions) (*DB, *keys.Keyring) {
	t.Helper()
	db, k := newTestDBWith(t, o), newTestKeys(t)
	sentinel, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewMeta(db).SetSentinel(context.Background(), sentinel); err != nil {
		t.Fatal(err)
	}
	mustCreateCase(t, NewCases(db, k), warning("333333333333333333", "spam in #general"))
	return db, k
}

// mustBackup backs db up into a new directory and returns the file.
func mustBackup(t *testing.T, db *DB, opts BackupOptions) string {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "backups", "b.db")
	if _, err := db.BackupWithOptions(context.Background(), dest, opts); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return dest
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db, k := newSealedDB(t)

	t.Run("OK", func(t *testing.T) {
		var last, total int64
		dest := filepath.Join(t.TempDir(), "new", "b.db")
		res, err := db.BackupWithOptions(ctx, dest, BackupOptions{
			Progress: func(d, tot int64) { last, total = d, tot },
			Keys:     k,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Path != dest || !res.Sealed || res.SchemaVersion != LatestVersion() || res.CreatedAt.IsZero() {
			t.Errorf("result got=%+v, want a sealed backup at %s", res, dest)
		}
		if last == 0 || last != total {
			t.Errorf("progress ended at %d of %d, want all of it", last, total)
		}
		// One self-contained file, private, in rollback-journal mode.
		if got := listDir(t, filepath.Dir(dest)); len(got) != 1 {
			t.Errorf("backup directory holds %v, want only b.db", got)
		}
		st, _ := os.Stat(dest)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode got=%v, want 0600", st.Mode().Perm())
		}
		head := make([]byte, 20)
		f, _ := os.Open(dest)
		f.Read(head)
		f.Close()
		if head[18] != 1 || head[19] != 1 {
			t.Errorf("header says WAL mode (%d,%d), want rollback journal (1,1)", head[18], head[19])
		}
		if err := res.CheckKeys(k); err != nil {
			t.Errorf("CheckKeys: %v", err)
		}
	})
	t.Run("BackupFunc", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "b.db")
		if err := db.Backup(ctx, dest, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(ctx, dest); err != nil {
			t.Error(err)
		}
	})
	t.Run("ErrExist", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "b.db")
		os.WriteFile(dest, []byte("earlier"), 0o600)
		err := db.Backup(ctx, dest, nil)
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("got=%v, want fs.ErrExist", err)
		}
		if b, _ := os.ReadFile(dest); string(b) != "earlier" {
			t.Error("backup overwrote an existing file")
		}
	})
	t.Run("KeysBundle", func(t *testing.T) {
		res, err := Verify(ctx, mustBackup(t, db, BackupOptions{KeysBundle: []byte("sealed keys")}))
		if err != nil {
			t.Fatal(err)
		}
		if string(res.KeysBundle) != "sealed keys" {
			t.Errorf("bundle got=%q, want %q", res.KeysBundle, "sealed keys")
		}
	})
	t.Run("WrongKeysNotKept", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "b.db")
		_, err := db.BackupWithOptions(ctx, dest, BackupOptions{Keys: newTestKeys(t)})
		if !errors.Is(err, keys.ErrWrongKeys) {
			t.Errorf("got=%v, want keys.ErrWrongKeys", err)
		}
		if got := listDir(t, filepath.Dir(dest)); len(got) != 0 {
			t.Errorf("left %v behind", got)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		dest := filepath.Join(t.TempDir(), "b.db")
		if err := db.Backup(cctx, dest, nil); err == nil {
			t.Fatal("got nil, want an error")
		}
		if got := listDir(t, filepath.Dir(dest)); len(got) != 0 {
			t.Errorf("left %v behind", got)
		}
	})
	t.Run("CleansStaleTemps", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{".bot-backup-1.tmp", ".bot-backup-1.tmp-journal", "notes.tmp", ".bot-backup-x"} {
			os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
		}
		// A temporary file held by a backup in progress must survive.
		busy, err := createTemp(dir, backupTempPrefix)
		if err != nil {
			t.Fatal(err)
		}
		defer busy.discard()
		if err := db.Backup(ctx, filepath.Join(dir, "b.db"), nil); err != nil {
			t.Fatal(err)
		}
		got := listDir(t, dir)
		want := []string{".bot-backup-x", filepath.Base(busy.path), "b.db", "notes.tmp"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("directory got=%q, want %q", got, want)
		}
	})
}

// TestBackupWhileWriting backs up while another connection commits: each
// backup must be a consistent state, with case numbers 1..n and no gap.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db, k := newSealedDB(t)
	cases := NewCases(db, k)
	db.backupChunk = 4096 // many chunks, with commits between them
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := cases.Create(ctx, warning("444444444444444444", strings.Repeat("x", 2000))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 5 {
		dest := filepath.Join(t.TempDir(), fmt.Sprintf("b%d.db", i))
		if err := db.Backup(ctx, dest, nil); err != nil {
			t.Fatal(err)
		}
		b, err := Open(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		var n, maxNumber int64
		if err := b.read.QueryRow(`SELECT count(*), max(number) FROM cases`).Scan(&n, &maxNumber); err != nil {
			t.Fatal(err)
		}
		b.Close()
		t.Logf("backup %d: %d cases", i, n)
		if n != maxNumber {
			t.Errorf("backup %d holds %d cases numbered up to %d, want a consistent snapshot", i, n, maxNumber)
		}
	}
	close(stop)
	wg.Wait()
}

// TestVerifyWritesNothing checks that verifying leaves the file and its
// directory exactly as they were, for a backup and for a WAL-mode copy.
func TestVerifyWritesNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := newSealedDB(t)
	backup := mustBackup(t, db, BackupOptions{})
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	walCopy := filepath.Join(t.TempDir(), "copy.db")
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(walCopy, raw, 0o600)
	for _, path := range []string{backup, walCopy} {
		before, _ := os.ReadFile(path)
		stBefore, _ := os.Stat(path)
		res, err := Verify(ctx, path)
		if err != nil {
			t.Fatalf("Verify(%s): %v", path, err)
		}
		if want := path == backup; res.Checksummed != want {
			t.Errorf("%s: Checksummed got=%v, want %v", path, res.Checksummed, want)
		}
		after, _ := os.ReadFile(path)
		stAfter, _ := os.Stat(path)
		if string(after) != string(before) || !stAfter.ModTime().Equal(stBefore.ModTime()) {
			t.Errorf("%s: Verify changed the file", path)
		}
		if got := listDir(t, filepath.Dir(path)); len(got) != 1 {
			t.Errorf("%s: directory holds %v after Verify, want the file only", path, got)
		}
	}
}

// TestBackupSnapshotIsExact: the snapshot copies the database file while
// the bot commits and checkpoints, then rewrites the pages the log holds.
// The backup must hold exactly the state when it began: the cases in the
// log then (not yet in the file) included, the ones committed during the
// copy left out, even when a checkpoint copies frames into the file that
// is being read.
func TestBackupSnapshotIsExact(t *testing.T) {
	ctx := context.Background()
	// The frames must stay in the log until the test checkpoints. The
	// database holds one case already.
	db, k := newSealedDBWith(t, pausedCheckpointer)
	cases := NewCases(db, k)
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// These 30 are in the log only when the backup begins.
	for range 30 {
		if _, err := cases.Create(ctx, warning("444444444444444444", strings.Repeat("x", 2000))); err != nil {
			t.Fatal(err)
		}
	}
	db.backupChunk = 4096
	var last, pages int64
	restarts, steps, checkpointed := 0, 0, 0
	dest := filepath.Join(t.TempDir(), "b.db")
	err := db.Backup(ctx, dest, func(done, total int64) {
		steps++
		pages = total / 4096
		if done < last {
			restarts++
		}
		last = done
		// A commit by "the bot" between every two chunks, and a
		// checkpoint, which may copy frames the backup sees into the file.
		if _, err := cases.Create(ctx, warning("444444444444444444", "between steps")); err != nil {
			t.Error(err)
		}
		var busy, frames, copied int
		if err := db.write.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
			t.Error(err)
		}
		checkpointed = max(checkpointed, copied)
	})
	if err != nil {
		t.Fatal(err)
	}
	if restarts != 0 || int64(steps) > pages+1 {
		t.Errorf("the copy went back (%d times) or took %d steps for %d pages, want one pass", restarts, steps, pages)
	}
	if steps < 10 {
		t.Fatalf("only %d steps; the test needs a copy of many chunks", steps)
	}
	if checkpointed == 0 {
		t.Fatal("no checkpoint copied a frame during the backup; the test proves nothing")
	}
	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var n int64
	if err := b.read.QueryRow(`SELECT count(*) FROM cases`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 31 {
		t.Errorf("the backup holds %d cases, want the 31 there when it began", n)
	}
}
