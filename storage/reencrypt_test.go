package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fillAllTables writes at least one value into every sealed column.
func fillAllTables(t *testing.T, db *DB, k Cipher) {
	t.Helper()
	ctx := context.Background()
	cs := NewCases(db, k)
	for i, target := range []string{alice, bob, alice} {
		n := warning(target, "reason of "+target)
		if i == 1 {
			n.MessageLink = "https://discord.com/channels/1/2/3"
		}
		mustCreateCase(t, cs, n)
	}
	if _, err := cs.Revoke(ctx, testGuild, 1, bob, "revoked", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.UpdateReason(ctx, testGuild, 2, alice, "edited", t0); err != nil {
		t.Fatal(err)
	}
	s := NewSchedule(db, k)
	a, err := s.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: alice, DueAt: t0, CaseNumber: 1}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDue(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, a.ID, "later", t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
}

// staleCount counts stored ciphertexts not under the primary key, but for
// the audit chain's head: every write that changes a sealed row reseals it.
func staleCount(t *testing.T, db *DB, k Cipher) int {
	t.Helper()
	tx, err := db.beginRead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	n := 0
	for _, st := range sealedTables {
		if st.name == "meta" {
			continue
		}
		rows, err := readSealedRows(context.Background(), tx, st, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for i, col := range st.columns {
				if r.values[i] != nil && st.ad(col, r.keys) != nil && k.NeedsReencrypt(r.values[i]) {
					n++
				}
			}
		}
	}
	return n
}

func TestReencrypt(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	fillAllTables(t, db, k)
	if n := staleCount(t, db, k); n != 0 {
		t.Fatalf("before rotation: %d stale values, want 0", n)
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	stale := staleCount(t, db, k)
	if stale < 20 {
		t.Fatalf("after rotation: %d stale values, want every sealed value (20 or more)", stale)
	}

	// A crash after the first batch: the context ends, the batch committed.
	crashCtx, crash := context.WithCancel(ctx)
	first, err := db.Reencrypt(crashCtx, k, 2, func(int) { crash() })
	if !errors.Is(err, context.Canceled) || first == 0 || first >= stale {
		t.Fatalf("interrupted run: got=%d, %v; want some progress and context.Canceled", first, err)
	}
	if left := staleCount(t, db, k); left != stale-first {
		t.Errorf("after interrupted run: %d stale, want %d", left, stale-first)
	}

	var reported int
	rest, err := db.Reencrypt(ctx, k, 2, func(done int) { reported = done })
	if err != nil || rest != stale-first || reported != rest {
		t.Fatalf("resumed run: got=%d (reported %d), %v; want %d", rest, reported, err, stale-first)
	}
	if left := staleCount(t, db, k); left != 0 {
		t.Errorf("after re-encryption: %d stale values, want 0", left)
	}
	if again, err := db.Reencrypt(ctx, k, 2, nil); err != nil || again != 0 {
		t.Errorf("third run: got=%d, %v; want 0", again, err)
	}

	// Every row still reads.
	cs := NewCases(db, k)
	if all, err := cs.AllForUser(ctx, alice); err != nil || len(all) != 2 || all[0].Revoked.Reason != "revoked" {
		t.Errorf("cases: got=%+v, %v", all, err)
	}
	if h, err := cs.History(ctx, testGuild, 2); err != nil || len(h) != 1 || h[0].OldReason != "reason of "+bob {
		t.Errorf("history: got=%+v, %v", h, err)
	}
	if a, err := NewSchedule(db, k).Get(ctx, 1); err != nil || a.TargetID != alice || a.LastError != "later" {
		t.Errorf("scheduled: got=%+v, %v", a, err)
	}
	if n, err := NewAudit(db, k).Verify(ctx); err != nil || n != 8 {
		t.Errorf("audit: got=%d, %v; want 8 entries intact (5 of cases, 3 of the scheduled action)", n, err)
	}
}
