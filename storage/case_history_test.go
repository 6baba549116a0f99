package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCasesUpdateReason(t *testing.T) {
	ctx := context.Background()
	cs := NewCases(newTestDB(t), newTestKeys(t))
	c := mustCreateCase(t, cs, warning(alice, "first"))
	t.Run("OK", func(t *testing.T) {
		for i, reason := range []string{"second", "third"} {
			got, err := cs.UpdateReason(ctx, testGuild, c.Number, bob, reason, t0.Add(time.Duration(i+1)*time.Minute))
			if err != nil || got.Reason != reason {
				t.Fatalf("got=%q, %v; want %q", got.Reason, err, reason)
			}
		}
		hist, err := cs.History(ctx, testGuild, c.Number)
		if err != nil {
			t.Fatal(err)
		}
		want := []ReasonChange{
			{Revision: 1, OldReason: "first", ChangedByID: bob, ChangedAt: t0.Add(time.Minute)},
			{Revision: 2, OldReason: "second", ChangedByID: bob, ChangedAt: t0.Add(2 * time.Minute)},
		}
		if len(hist) != len(want) {
			t.Fatalf("got=%+v, want %+v", hist, want)
		}
		for i := range want {
			if hist[i] != want[i] {
				t.Errorf("revision %d: got=%+v, want %+v", i+1, hist[i], want[i])
			}
		}
	})
	t.Run("NoHistory", func(t *testing.T) {
		other := mustCreateCase(t, cs, warning(bob, "x"))
		if hist, err := cs.History(ctx, testGuild, other.Number); err != nil || len(hist) != 0 {
			t.Errorf("got=%v, %v; want empty", hist, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := cs.UpdateReason(ctx, testGuild, 404, bob, "x", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateReason: got=%v, want ErrNotFound", err)
		}
		if _, err := cs.History(ctx, testGuild, 404); !errors.Is(err, ErrNotFound) {
			t.Errorf("History: got=%v, want ErrNotFound", err)
		}
	})
}
