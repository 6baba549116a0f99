package storage

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modbot/bot/keys"
)

// sealSentinel stores a sentinel sealed by k, as init does.
func sealSentinel(t *testing.T, db *DB, k *keys.Keyring) {
	t.Helper()
	s, err := k.NewSentinel()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewMeta(db).SetSentinel(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestSealedKeyUsage: an old encryption key is in use until reencrypt has
// moved every value and the sentinel; then it can be retired, and the data
// still reads.
func TestSealedKeyUsage(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	sealSentinel(t, db, k)
	fillAllTables(t, db, k)
	oldID := k.PrimaryKeyID(keys.PurposeAEAD)
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	u, err := db.SealedKeyUsage(ctx, k, oldID)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"cases", "case_history", "scheduled_actions", "audit_log", "meta"} {
		if u.Tables[table] == 0 {
			t.Errorf("usage got=%v, want values in %s", u, table)
		}
	}
	if !u.Sentinel || !strings.Contains(u.String(), "and the key sentinel") {
		t.Errorf("usage got=%v, want the sentinel named", u)
	}

	if _, err := db.Reencrypt(ctx, k, 3, nil); err != nil {
		t.Fatal(err)
	}
	if u, err = db.SealedKeyUsage(ctx, k, oldID); err != nil || u.Total() != 0 || !u.Sentinel {
		t.Fatalf("after reencrypt: got=%v, %v; want only the sentinel", u, err)
	}
	if changed, err := NewMeta(db).ResealSentinel(ctx, k); err != nil || !changed {
		t.Fatalf("ResealSentinel: changed=%v, %v", changed, err)
	}
	if u, err = db.SealedKeyUsage(ctx, k, oldID); err != nil || u.InUse() {
		t.Fatalf("after resealing the sentinel: got=%v, %v; want nothing", u, err)
	}
	if err := k.Retire(oldID); err != nil {
		t.Fatal(err)
	}
	if err := CheckKeys(ctx, db, k, "test"); err != nil {
		t.Errorf("sentinel after retiring: %v", err)
	}
	if all, err := NewCases(db, k).AllForUser(ctx, alice); err != nil || len(all) != 2 {
		t.Errorf("cases after retiring: got=%d, %v", len(all), err)
	}
	if n, err := NewAudit(db, k).Verify(ctx); err != nil || n == 0 {
		t.Errorf("audit after retiring: %d, %v", n, err)
	}
}

// TestRetiredKeyValue: a value still sealed under a retired key fails to
// open with ErrTampered and an error naming the key, never garbage.
func TestRetiredKeyValue(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	oldID := k.PrimaryKeyID(keys.PurposeAEAD)
	mustCreateCase(t, NewCases(db, k), warning(alice, "under the old key"))
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := k.Retire(oldID); err != nil {
		t.Fatal(err)
	}
	c, err := NewCases(db, k).Get(ctx, testGuild, 1)
	if err == nil {
		t.Fatalf("a case under a retired key opened: %+v", c)
	}
	if !errors.Is(err, ErrTampered) || !errors.Is(err, keys.ErrDecrypt) ||
		!strings.Contains(err.Error(), "key "+strconv.Itoa(int(oldID))) || !strings.Contains(err.Error(), "retired") {
		t.Errorf("err=%v, want ErrTampered naming retired key %d", err, oldID)
	}
}

// TestReindex: after the index keys rotate, every lookup keeps finding
// rows made under the old key, before, during and after a re-index that
// is interrupted and resumed; then the old key is in use by nothing and
// can be retired.
func TestReindex(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	dir := filepath.Join(t.TempDir(), "keys")
	k, err := keys.Create(keys.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sealSentinel(t, db, k)
	fillAllTables(t, db, k) // alice: cases 1 and 3 (1 revoked), a pending unban
	oldID := k.PrimaryKeyID(keys.PurposePRF)
	if err := k.RotateIndex(); err != nil {
		t.Fatal(err)
	}
	// A case made after the rotation carries the new key's index.
	mustCreateCase(t, NewCases(db, k), warning(alice, "after the rotation"))

	lookups := func(t *testing.T, k Cipher, stage string) {
		t.Helper()
		cs := NewCases(db, k)
		if all, err := cs.AllForUser(ctx, alice); err != nil || len(all) != 3 {
			t.Errorf("%s: AllForUser got=%d cases, %v; want 3", stage, len(all), err)
		}
		if l, err := cs.ListForUser(ctx, testGuild, alice, false, t0); err != nil || len(l) != 2 {
			t.Errorf("%s: ListForUser got=%d, %v; want 2 active", stage, len(l), err)
		}
		if p, err := cs.ActivePoints(ctx, testGuild, alice, t0); err != nil || p != 2 {
			t.Errorf("%s: ActivePoints got=%d, %v; want 2", stage, p, err)
		}
		if n, err := NewAudit(db, k).Verify(ctx); err != nil || n == 0 {
			t.Errorf("%s: audit Verify got=%d, %v", stage, n, err)
		}
		if err := CheckKeys(ctx, db, k.(SentinelChecker), dir); err != nil {
			t.Errorf("%s: sentinel: %v", stage, err)
		}
	}
	lookups(t, k, "after rotation")
	u, err := db.IndexKeyUsage(ctx, k, oldID)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"cases", "scheduled_actions", "audit_log"} {
		if u.Tables[table] == 0 {
			t.Errorf("usage got=%v, want indexes in %s", u, table)
		}
	}
	if !u.Sentinel {
		t.Errorf("usage got=%v, want the sentinel", u)
	}

	// A crash after the first batch: lookups work on the half-done state.
	crashCtx, crash := context.WithCancel(ctx)
	first, err := db.Reindex(crashCtx, k, 1, func(int) { crash() })
	if !errors.Is(err, context.Canceled) || first == 0 {
		t.Fatalf("interrupted run: got=%d, %v; want some progress and context.Canceled", first, err)
	}
	lookups(t, k, "half re-indexed")
	// A new pending unban replaces the old one even though their indexes
	// were made with different keys.
	s := NewSchedule(db, k)
	if n, err := s.Cancel(ctx, testGuild, alice, ActionUnban, t0); err != nil || n != 1 {
		t.Errorf("Cancel across keys: got=%d, %v; want 1", n, err)
	}

	rest, err := db.Reindex(ctx, k, 2, nil)
	if err != nil || rest == 0 {
		t.Fatalf("resumed run: got=%d, %v", rest, err)
	}
	if again, err := db.Reindex(ctx, k, 2, nil); err != nil || again != 0 {
		t.Errorf("third run: got=%d, %v; want 0", again, err)
	}
	if u, err = db.IndexKeyUsage(ctx, k, oldID); err != nil || u.Total() != 0 || !u.Sentinel {
		t.Fatalf("after re-index: got=%v, %v; want only the sentinel", u, err)
	}
	if _, err := NewMeta(db).ResealSentinel(ctx, k); err != nil {
		t.Fatal(err)
	}
	if u, err = db.IndexKeyUsage(ctx, k, oldID); err != nil || u.InUse() {
		t.Fatalf("after resealing: got=%v, %v; want nothing", u, err)
	}
	if err := k.Retire(oldID); err != nil {
		t.Fatal(err)
	}
	reloaded, err := keys.Load(keys.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reloaded.BlindIndexes("user", []byte(alice))); n != 1 {
		t.Fatalf("after retiring: %d index keys enabled, want 1", n)
	}
	lookups(t, reloaded, "after retiring the old key")
}

// TestReindexRefusesBrokenChain: re-keying must not re-sign an audit log
// that was edited, so Reindex stops at a chain that does not verify.
func TestReindexRefusesBrokenChain(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	fillAllTables(t, db, k)
	if err := k.RotateIndex(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE audit_log SET action = 'edited' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Reindex(ctx, k, 10, nil)
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "audit log entry 2") || !strings.Contains(err.Error(), "bot audit verify") {
		t.Fatalf("err=%v, want ErrTampered naming entry 2", err)
	}
	if _, err := NewAudit(db, k).Verify(ctx); err == nil {
		t.Error("the edited chain verifies after Reindex: it was re-signed")
	}
}

// TestReindexRefusesTruncatedChain: deleting the newest entries leaves a
// chain that verifies link by link; the sealed head still names them, and
// Reindex refuses rather than reseal a head over the shorter chain.
func TestReindexRefusesTruncatedChain(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	fillAllTables(t, db, k)
	if err := k.RotateIndex(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reindex(ctx, k, 10, nil); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err=%v, want ErrTampered naming the missing entry", err)
	}
	if _, err := NewAudit(db, k).Verify(ctx); err == nil {
		t.Error("the truncated chain verifies after Reindex: its head was resealed")
	}
}
