package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRestoreRechecksSealOfCopy: between the owner's check of a backup and
// the restore (a passphrase prompt can sit there), the file may be swapped
// by whoever can write its folder. Restore checks its own copy with the
// keys again, so an edited backup (its seal broken) is refused there too.
func TestRestoreRechecksSealOfCopy(t *testing.T) {
	ctx := context.Background()
	db, k := newSealedDB(t)
	src := mustBackup(t, db, BackupOptions{Keys: k})
	res, err := Verify(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.CheckKeys(k); err != nil {
		t.Fatal(err)
	}

	// Meanwhile: src becomes an edited copy of itself.
	edited := filepath.Join(t.TempDir(), "edited.db")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, data, 0o600); err != nil {
		t.Fatal(err)
	}
	editBackup(t, edited)
	if err := os.Rename(edited, src); err != nil {
		t.Fatal(err)
	}

	live := filepath.Join(t.TempDir(), "bot.db")
	_, err = Restore(ctx, src, live, time.Now(), k)
	if !errors.Is(err, ErrSealBroken) {
		t.Fatalf("Restore of a backup edited after it was checked: got %v, want ErrSealBroken", err)
	}
}
