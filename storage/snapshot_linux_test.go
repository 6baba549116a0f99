package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBackupKeepsLocks: closing any descriptor of a file drops all of the
// process's POSIX locks on it. A backup that opened and closed the live
// database file would take SQLite's locks away from the bot, and another
// process could then delete the WAL the bot is still committing to. The
// locks this process holds on the database file must be the same after a
// backup.
func TestBackupKeepsLocks(t *testing.T) {
	if _, err := os.Stat("/proc/locks"); err != nil {
		t.Skip("no /proc/locks")
	}
	ctx := context.Background()
	db, k := newSealedDB(t)
	cases := NewCases(db, k)
	// Hold a read transaction, as a running bot's readers do, so the
	// connection's lock on the file is certain to be there.
	tx, err := db.beginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM cases").Scan(&n); err != nil {
		t.Fatal(err)
	}
	before := fileLocks(t, db.Path())
	if before == 0 {
		t.Fatal("no lock of this process on the database file to begin with; the test proves nothing")
	}
	if err := db.Backup(ctx, filepath.Join(t.TempDir(), "b.db"), nil); err != nil {
		t.Fatal(err)
	}
	if after := fileLocks(t, db.Path()); after != before {
		t.Fatalf("this process held %d locks on the database file before the backup and %d after", before, after)
	}
	mustCreateCase(t, cases, warning(alice, "after the backup"))
}

// fileLocks counts the POSIX locks this process holds on path, from
// /proc/locks ("1: POSIX ADVISORY READ <pid> <maj>:<min>:<inode> ...").
func fileLocks(t *testing.T, path string) int {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := st.Sys().(*syscall.Stat_t).Ino
	raw, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Fatal(err)
	}
	pid, n := fmt.Sprint(os.Getpid()), 0
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "POSIX" || f[4] != pid {
			continue
		}
		if parts := strings.Split(f[5], ":"); len(parts) == 3 && parts[2] == fmt.Sprint(ino) {
			n++
		}
	}
	return n
}
