package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	ctx := context.Background()
	s := NewSchedule(newTestDB(t), newTestKeys(t))
	add := func(t *testing.T, target string, due time.Time) ScheduledAction {
		t.Helper()
		a, err := s.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: target, DueAt: due}, t0)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("AddAndGet", func(t *testing.T) {
		a := add(t, alice, t0.Add(time.Hour))
		got, err := s.Get(ctx, a.ID)
		if err != nil || got != a || got.TargetID != alice || got.State != StatePending || !got.DueAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("got=%+v, %v; want %+v", got, err, a)
		}
	})
	t.Run("AddReplacesPending", func(t *testing.T) {
		first := add(t, bob, t0.Add(time.Hour))
		second := add(t, bob, t0.Add(2*time.Hour))
		if got, _ := s.Get(ctx, first.ID); got.State != StateCancelled {
			t.Errorf("first: got state %q, want cancelled", got.State)
		}
		if second.State != StatePending {
			t.Errorf("second: got state %q, want pending", second.State)
		}
	})
	for _, tt := range []struct {
		name   string
		in     NewScheduledAction
		target error
	}{
		{"ErrInvalidKind", NewScheduledAction{GuildID: testGuild, Kind: "explode", TargetID: alice, DueAt: t0}, ErrInvalid},
		{"ErrInvalidNoTime", NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: alice}, ErrInvalid},
		{"ErrNotFoundCase", NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: "888", DueAt: t0, CaseNumber: 404}, ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Add(ctx, tt.in, t0); !errors.Is(err, tt.target) {
				t.Errorf("got=%v, want %v", err, tt.target)
			}
		})
	}
	t.Run("ClaimCompleteFail", func(t *testing.T) {
		// Pending now: alice at +1h, bob at +2h.
		claimed, err := s.ClaimDue(ctx, t0.Add(90*time.Minute), 10)
		if err != nil || len(claimed) != 1 || claimed[0].TargetID != alice || claimed[0].State != StateRunning || claimed[0].Attempts != 1 {
			t.Fatalf("got=%+v, %v; want alice's action running", claimed, err)
		}
		if again, _ := s.ClaimDue(ctx, t0.Add(90*time.Minute), 10); len(again) != 0 {
			t.Errorf("claimed twice: %+v", again)
		}
		if err := s.Fail(ctx, claimed[0].ID, "discord said 500", t0.Add(3*time.Hour), t0); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, claimed[0].ID)
		if got.State != StatePending || got.LastError != "discord said 500" || !got.DueAt.Equal(t0.Add(3*time.Hour)) {
			t.Errorf("after retryable failure: got=%+v", got)
		}
		claimed, err = s.ClaimDue(ctx, t0.Add(4*time.Hour), 10)
		if err != nil || len(claimed) != 2 || claimed[0].TargetID != bob || claimed[1].Attempts != 2 {
			t.Fatalf("got=%+v, %v; want bob's then alice's second attempt", claimed, err)
		}
		if err := s.Complete(ctx, claimed[0].ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := s.Fail(ctx, claimed[1].ID, "unknown ban", time.Time{}, t0); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			id   int64
			want ActionState
		}{{claimed[0].ID, StateDone}, {claimed[1].ID, StateFailed}} {
			if got, _ := s.Get(ctx, c.id); got.State != c.want {
				t.Errorf("action %d: got state %q, want %q", c.id, got.State, c.want)
			}
		}
		if err := s.Complete(ctx, claimed[0].ID, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("completing a done action: got=%v, want ErrNotFound", err)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		a := add(t, alice, t0.Add(time.Hour))
		n, err := s.Cancel(ctx, testGuild, alice, ActionUnban, t0)
		if err != nil || n != 1 {
			t.Errorf("got=%d, %v; want 1", n, err)
		}
		if got, _ := s.Get(ctx, a.ID); got.State != StateCancelled {
			t.Errorf("got state %q, want cancelled", got.State)
		}
		if n, err := s.Cancel(ctx, testGuild, alice, ActionUnban, t0); err != nil || n != 0 {
			t.Errorf("second cancel: got=%d, %v; want 0, nil", n, err)
		}
	})
	t.Run("RequeueStale", func(t *testing.T) {
		a := add(t, "777", t0)
		if _, err := s.ClaimDue(ctx, t0, 10); err != nil {
			t.Fatal(err)
		}
		n, err := s.RequeueStale(ctx, t0.Add(time.Minute), t0.Add(time.Minute))
		if err != nil || n != 1 {
			t.Errorf("got=%d, %v; want 1", n, err)
		}
		if got, _ := s.Get(ctx, a.ID); got.State != StatePending {
			t.Errorf("got state %q, want pending", got.State)
		}
	})
}

// TestScheduleClaimConcurrent claims from several goroutines: each due action
// is handed to exactly one of them.
func TestScheduleClaimConcurrent(t *testing.T) {
	ctx := context.Background()
	s := NewSchedule(newTestDB(t), newTestKeys(t))
	const n = 10
	for i := range n {
		if _, err := s.Add(ctx, NewScheduledAction{
			GuildID: testGuild, Kind: ActionUnban, TargetID: string(rune('a' + i)), DueAt: t0,
		}, t0); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for range 5 {
		wg.Go(func() {
			got, err := s.ClaimDue(ctx, t0, 3)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range got {
				seen[a.ID]++
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct actions, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("action %d claimed %d times", id, c)
		}
	}
}
