package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestCreateManual(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	n := NewCase{GuildID: testGuild, Kind: CaseBan, TargetID: "333333333333333333", TargetName: "raider",
		ModeratorID: "222222222222222222", ModeratorName: "mod", Reason: "from the member menu", CreatedAt: t0}

	// Deliveries of one entry at once, as a replay racing the original:
	// exactly one records it.
	var wg sync.WaitGroup
	recorded := make(chan Case, 4)
	for range 4 {
		wg.Go(func() {
			c, ok, err := cs.CreateManual(ctx, n, "999999999999999999")
			if err != nil {
				t.Error(err)
			}
			if ok {
				recorded <- c
			}
		})
	}
	wg.Wait()
	close(recorded)
	var got []Case
	for c := range recorded {
		got = append(got, c)
	}
	if len(got) != 1 || got[0].Number != 1 || got[0].Reason != "from the member menu" {
		t.Fatalf("recorded got=%+v, want case #1 once", got)
	}
	// Another guild's entry of the same ID is its own.
	other := n
	other.GuildID = "555555555555555555"
	if _, ok, err := cs.CreateManual(ctx, other, "999999999999999999"); err != nil || !ok {
		t.Errorf("the same entry ID in another guild: recorded=%v err=%v", ok, err)
	}
	if _, _, err := cs.CreateManual(ctx, n, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("no entry ID got err=%v, want ErrInvalid", err)
	}
	if _, err := VerifyRecords(ctx, db, k); err != nil {
		t.Errorf("VerifyRecords: %v", err)
	}

	// The switch: no row while on, sealed while off.
	g := NewGuilds(db, k)
	s, err := g.Get(ctx, testGuild)
	if err != nil || s.IgnoreManualActions {
		t.Fatalf("default got=%+v (%v), want manual actions on", s, err)
	}
	s.IgnoreManualActions = true
	if err := g.Save(ctx, s, "222222222222222222", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s, err = g.Get(ctx, testGuild); err != nil || !s.IgnoreManualActions {
		t.Errorf("after turning off got=%+v (%v)", s, err)
	}
	if _, err := VerifyRecords(ctx, db, k); err != nil {
		t.Errorf("VerifyRecords with the switch off: %v", err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE guild_manual_actions SET enabled = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyRecords(ctx, db, k); !errors.Is(err, ErrRecordAltered) {
		t.Errorf("VerifyRecords after an edit of the switch got err=%v, want ErrRecordAltered", err)
	}
}

// TestPruneManualEntries checks that the replay guard's records older than
// the cut go, sealed as every deletion is, and the newer ones stay and
// still catch a replay.
func TestPruneManualEntries(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	n := NewCase{GuildID: testGuild, Kind: CaseKick, TargetID: "333333333333333333", TargetName: "raider",
		ModeratorID: "222222222222222222", ModeratorName: "mod", Reason: "from the member menu"}
	old, recent := n, n
	old.CreatedAt, recent.CreatedAt = t0, t0.Add(10*24*time.Hour)
	for _, c := range []struct {
		n     NewCase
		entry string
	}{{old, "900000000000000001"}, {old, "900000000000000002"}, {recent, "900000000000000003"}} {
		if _, ok, err := cs.CreateManual(ctx, c.n, c.entry); err != nil || !ok {
			t.Fatalf("entry %s: recorded=%v err=%v", c.entry, ok, err)
		}
	}
	r := NewRetention(db, k)
	got, err := r.PruneManualEntries(ctx, t0.Add(ManualEntryKeep))
	if err != nil || got != 2 {
		t.Fatalf("pruned %d (%v), want the 2 older records", got, err)
	}
	if got, err := r.PruneManualEntries(ctx, t0.Add(ManualEntryKeep)); err != nil || got != 0 {
		t.Errorf("a second prune deleted %d (%v), want none", got, err)
	}
	if _, ok, err := cs.CreateManual(ctx, recent, "900000000000000003"); err != nil || ok {
		t.Errorf("a replay of the kept entry: recorded=%v err=%v, want nothing recorded", ok, err)
	}
	if _, err := VerifyRecords(ctx, db, k); err != nil {
		t.Errorf("VerifyRecords after the prune: %v", err)
	}
}
