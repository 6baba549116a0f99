package storage

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBackupCarriesErasures: the sealed erasure ledger given to a backup
// comes back from Verify, counts as a backup-only row (removing it breaks
// the checksum's promise and is refused), and is gone from a restored
// database, zeroed rather than left in a free page.
func TestBackupCarriesErasures(t *testing.T) {
	ctx := context.Background()
	ledger := []byte("sealed-erasure-ledger-canary")
	db, k := newSealedDB(t)
	backup := mustBackup(t, db, BackupOptions{Erasures: ledger, Keys: k})

	res, err := Verify(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Erasures, ledger) {
		t.Errorf("erasures got=%q, want %q", res.Erasures, ledger)
	}
	if err := res.CheckKeys(k); err != nil {
		t.Errorf("seal: %v", err)
	}
	t.Run("NoneWithout", func(t *testing.T) {
		res, err := Verify(ctx, mustBackup(t, db, BackupOptions{}))
		if err != nil || res.Erasures != nil {
			t.Errorf("got=%q, %v; want no ledger", res.Erasures, err)
		}
	})

	dest := db.Path()
	db.Close()
	if _, err := Restore(ctx, backup, dest, time.Now(), k); err != nil {
		t.Fatal(err)
	}
	restored := openTestDB(t, dest)
	var n int
	if err := restored.read.QueryRow(`SELECT count(*) FROM meta WHERE key = ?`, metaBackupErasures).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d backup_erasures rows in the restored database (%v), want 0", n, err)
	}
	if err := restored.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, ledger) {
		t.Error("the restored database file still holds the backup's ledger bytes")
	}
}

// TestVerifyRefusesBackupWithoutChecksumButErasures: a bot backup whose
// checksum row was deleted is refused even when only the ledger row is
// left to show it came from bot backup.
func TestVerifyRefusesBackupWithoutChecksumButErasures(t *testing.T) {
	db, _ := newSealedDB(t)
	backup := mustBackup(t, db, BackupOptions{Erasures: []byte("ledger")})
	edit := openTestDB(t, backup)
	exec(t, edit, `DELETE FROM meta WHERE key IN ('backup_checksum', 'backup_created_at')`)
	edit.Close()
	_, err := Verify(context.Background(), backup)
	if err == nil || !strings.Contains(err.Error(), "checksum is missing") {
		t.Errorf("got=%v, want the missing checksum named", err)
	}
}
