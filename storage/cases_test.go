package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	alice = "412345678901234567"
	bob   = "498765432109876543"
	carol = "455555555555555555"
)

func TestCasesCreate(t *testing.T) {
	ctx := context.Background()
	cs := NewCases(newTestDB(t), newTestKeys(t))
	t.Run("OK", func(t *testing.T) {
		n := warning(alice, "spam")
		n.ExpiresAt = t0.Add(time.Hour)
		n.Duration = 90 * time.Minute
		got := mustCreateCase(t, cs, n)
		want := Case{
			GuildID: testGuild, Number: 1, Kind: CaseWarning, TargetID: alice, TargetName: "name-" + alice,
			ModeratorID: n.ModeratorID, ModeratorName: "mod", Reason: "spam", Points: 1,
			Duration: 90 * time.Minute, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		}
		if got != want {
			t.Errorf("got=%+v, want %+v", got, want)
		}
		if again, err := cs.Get(ctx, testGuild, 1); err != nil || again != want {
			t.Errorf("Get: got=%+v, %v; want %+v", again, err, want)
		}
	})
	t.Run("NumbersPerGuild", func(t *testing.T) {
		if c := mustCreateCase(t, cs, warning(bob, "")); c.Number != 2 {
			t.Errorf("second case of the guild: got=%d, want 2", c.Number)
		}
		other := warning(bob, "")
		other.GuildID = "999"
		if c := mustCreateCase(t, cs, other); c.Number != 1 {
			t.Errorf("first case of another guild: got=%d, want 1", c.Number)
		}
	})
	t.Run("Link", func(t *testing.T) {
		n := warning(alice, "escalation")
		n.Kind, n.Points, n.LinkedCase = CaseTimeout, 0, 1
		if c := mustCreateCase(t, cs, n); c.LinkedCase != 1 {
			t.Errorf("LinkedCase: got=%d, want 1", c.LinkedCase)
		}
	})
	for _, tt := range []struct {
		name   string
		edit   func(*NewCase)
		target error
	}{
		{"ErrInvalidKind", func(n *NewCase) { n.Kind = "smite" }, ErrInvalid},
		{"ErrInvalidNoGuild", func(n *NewCase) { n.GuildID = "" }, ErrInvalid},
		{"ErrInvalidNoTarget", func(n *NewCase) { n.TargetID = "" }, ErrInvalid},
		{"ErrInvalidNegativePoints", func(n *NewCase) { n.Points = -1 }, ErrInvalid},
		{"ErrNotFoundLink", func(n *NewCase) { n.LinkedCase = 404 }, ErrNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := warning(alice, "x")
			tt.edit(&n)
			if _, err := cs.Create(ctx, n); !errors.Is(err, tt.target) {
				t.Errorf("got=%v, want %v", err, tt.target)
			}
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := cs.Get(ctx, testGuild, 404); !errors.Is(err, ErrNotFound) {
			t.Errorf("got=%v, want ErrNotFound", err)
		}
	})
}

// TestCasesConcurrentNumbers creates cases from 20 goroutines at once: every
// number from 1 to 20 is handed out exactly once.
func TestCasesConcurrentNumbers(t *testing.T) {
	cs := NewCases(newTestDB(t), newTestKeys(t))
	const n = 20
	numbers := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := cs.Create(context.Background(), warning(alice, "concurrent"))
			if err != nil {
				t.Error(err)
				return
			}
			numbers <- c.Number
		})
	}
	wg.Wait()
	close(numbers)
	var got []int64
	for num := range numbers {
		got = append(got, num)
	}
	slices.Sort(got)
	for i, num := range got {
		if num != int64(i+1) {
			t.Fatalf("got=%v, want 1..%d each once", got, n)
		}
	}
	if len(got) != n {
		t.Fatalf("got %d numbers, want %d", len(got), n)
	}
}

func TestCasesQueries(t *testing.T) {
	ctx := context.Background()
	cs := NewCases(newTestDB(t), newTestKeys(t))
	expired := warning(alice, "old")
	expired.ExpiresAt = t0.Add(-time.Minute)
	mustCreateCase(t, cs, expired)                        // 1: expired
	mustCreateCase(t, cs, warning(alice, "a"))            // 2: active
	mustCreateCase(t, cs, warning(bob, "b"))              // 3: another user
	revoked := mustCreateCase(t, cs, warning(alice, "r")) // 4: revoked below
	three := warning(alice, "big")
	three.Points = 3
	mustCreateCase(t, cs, three) // 5: active, 3 points
	elsewhere := warning(alice, "elsewhere")
	elsewhere.GuildID = "999"
	mustCreateCase(t, cs, elsewhere)
	if _, err := cs.Revoke(ctx, testGuild, revoked.Number, bob, "mistake", t0); err != nil {
		t.Fatal(err)
	}

	numbers := func(list []Case) []int64 {
		var out []int64
		for _, c := range list {
			out = append(out, c.Number)
		}
		return out
	}
	t.Run("ListForUser", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			inactive bool
			want     []int64
		}{
			{"Active", false, []int64{2, 5}},
			{"All", true, []int64{1, 2, 4, 5}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := cs.ListForUser(ctx, testGuild, alice, tt.inactive, t0)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(numbers(got), tt.want) {
					t.Errorf("got=%v, want %v", numbers(got), tt.want)
				}
			})
		}
	})
	t.Run("ActivePoints", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			at   time.Time
			want int
		}{
			{"Now", t0, 4},
			{"BeforeExpiry", t0.Add(-2 * time.Minute), 5},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if got, err := cs.ActivePoints(ctx, testGuild, alice, tt.at); err != nil || got != tt.want {
					t.Errorf("got=%d, %v; want %d", got, err, tt.want)
				}
			})
		}
	})
	t.Run("RecentActive", func(t *testing.T) {
		got, err := cs.RecentActive(ctx, testGuild, 2, t0)
		if err != nil || !slices.Equal(numbers(got), []int64{5, 3}) {
			t.Errorf("got=%v, %v; want [5 3]", numbers(got), err)
		}
	})
	t.Run("AllForUser", func(t *testing.T) {
		got, err := cs.AllForUser(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 || got[0].GuildID != testGuild || got[4].GuildID != "999" {
			t.Errorf("got %d cases %+v, want 4 in %s then 1 in 999", len(got), got, testGuild)
		}
	})
}

// TestCreateWithPoints checks that the sum it returns is ActivePoints just
// before the new case, and that concurrent cases of one member each see
// all the others that committed before them: sorted, the sums are 0, 1, 2...
func TestCreateWithPoints(t *testing.T) {
	ctx := context.Background()
	cs := NewCases(newTestDB(t), newTestKeys(t))
	expired := warning(alice, "old")
	expired.ExpiresAt = t0.Add(-time.Minute)
	mustCreateCase(t, cs, expired)
	mustCreateCase(t, cs, warning(bob, "another member"))
	elsewhere := warning(alice, "another guild")
	elsewhere.GuildID = "999"
	mustCreateCase(t, cs, elsewhere)
	revoked := mustCreateCase(t, cs, warning(alice, "revoked"))
	if _, err := cs.Revoke(ctx, testGuild, revoked.Number, bob, "mistake", t0); err != nil {
		t.Fatal(err)
	}
	three := warning(alice, "counts")
	three.Points = 3
	mustCreateCase(t, cs, three)

	n := warning(alice, "new")
	n.Points = 2
	c, before, err := cs.CreateWithPoints(ctx, n)
	if err != nil || before != 3 || c.Points != 2 || c.Number != 5 {
		t.Fatalf("got case #%d with %d points, before=%d, %v; want #5, 2 points, before=3", c.Number, c.Points, before, err)
	}
	// At a time before the first warning expired, it counts too.
	early := warning(alice, "early")
	early.CreatedAt = t0.Add(-2 * time.Minute)
	if _, before, err := cs.CreateWithPoints(ctx, early); err != nil || before != 6 {
		t.Fatalf("before=%d, %v; want 6 (1 + 3 + 2)", before, err)
	}

	const workers = 8
	befores := make([]int, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			var err error
			_, befores[i], err = cs.CreateWithPoints(ctx, warning(carol, fmt.Sprint("concurrent ", i)))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	slices.Sort(befores)
	for i, b := range befores {
		if b != i {
			t.Fatalf("sorted sums before each concurrent warning: %v, want 0 to %d", befores, workers-1)
		}
	}
}

func TestCasesRevoke(t *testing.T) {
	ctx := context.Background()
	cs := NewCases(newTestDB(t), newTestKeys(t))
	c := mustCreateCase(t, cs, warning(alice, "spam"))
	t.Run("OK", func(t *testing.T) {
		got, err := cs.Revoke(ctx, testGuild, c.Number, bob, "appeal accepted", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := Revocation{At: t0.Add(time.Hour), ByID: bob, Reason: "appeal accepted"}
		if got.Revoked == nil || *got.Revoked != want || got.Active(t0) {
			t.Errorf("got=%+v, want revoked %+v", got.Revoked, want)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		if _, err := cs.Revoke(ctx, testGuild, c.Number, bob, "again", t0); !errors.Is(err, ErrConflict) {
			t.Errorf("got=%v, want ErrConflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := cs.Revoke(ctx, testGuild, 404, bob, "", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("got=%v, want ErrNotFound", err)
		}
	})
}

func TestEraseMember(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	w := mustCreateCase(t, cs, warning(alice, "spam"))
	if _, err := cs.UpdateReason(ctx, testGuild, w.Number, bob, "spam, edited", t0); err != nil {
		t.Fatal(err)
	}
	kept := warning(bob, "linked to alice's case")
	kept.LinkedCase = w.Number
	keptCase := mustCreateCase(t, cs, kept)
	sched := NewSchedule(db, k)
	unban, err := sched.Add(ctx, NewScheduledAction{
		GuildID: testGuild, Kind: ActionUnban, TargetID: alice, DueAt: t0, CaseNumber: w.Number,
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := cs.PreviewErase(ctx, testGuild, alice); err != nil || p.Total() != 1 || p.Cases[CaseWarning] != 1 ||
		p.History != 1 || p.KeptUnbans != 1 {
		t.Errorf("preview: %+v, %v", p, err)
	}

	r, err := cs.EraseMember(ctx, testGuild, alice, "cli", t0, nil)
	if err != nil || r.Cases != 1 || r.History != 1 || r.KeptUnbans != 1 {
		t.Fatalf("got=%+v, %v; want 1 case and its history erased, the pending unban kept", r, err)
	}
	if got, err := cs.AllForUser(ctx, alice); err != nil || len(got) != 0 {
		t.Errorf("AllForUser after delete: got=%v, %v", got, err)
	}
	got, err := cs.Get(ctx, testGuild, keptCase.Number)
	if err != nil || got.LinkedCase != 0 {
		t.Errorf("other user's case: got=%+v, %v; want kept with no link", got, err)
	}
	var left int
	if err := db.read.QueryRow(`SELECT count(*) FROM case_history`).Scan(&left); err != nil || left != 0 {
		t.Errorf("history rows left: %d (%v)", left, err)
	}
	// The timed ban still ends: its unban runs, and is then deleted.
	if a, err := sched.Get(ctx, unban.ID); err != nil || a.TargetID != alice || a.State != StatePending {
		t.Fatalf("the pending unban after the erasure: %+v, %v", a, err)
	}
	claimed, err := sched.ClaimDue(ctx, t0, 5)
	if err != nil || len(claimed) != 1 || claimed[0].TargetID != alice {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	if err := sched.Complete(ctx, unban.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.Get(ctx, unban.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the unban after it ran: %v, want it deleted", err)
	}
	if next := mustCreateCase(t, cs, warning(bob, "after")); next.Number != 3 {
		t.Errorf("number after deletion: got=%d, want 3 (numbers are never reused)", next.Number)
	}
	// The guild's newest cases are the erased user's: their numbers are
	// still never handed out again, in this guild or another.
	mustCreateCase(t, cs, warning(carol, "four"))
	elsewhere := warning(carol, "in another guild")
	elsewhere.GuildID = "999"
	mustCreateCase(t, cs, elsewhere) // #1 there
	if _, err := cs.EraseMember(ctx, "", carol, "cli", t0, nil); err != nil {
		t.Fatal(err)
	}
	if next := mustCreateCase(t, cs, warning(bob, "after the newest were erased")); next.Number != 5 {
		t.Errorf("number after erasing the newest case: got=%d, want 5", next.Number)
	}
	other := warning(bob, "other guild")
	other.GuildID = "999"
	if next := mustCreateCase(t, cs, other); next.Number != 2 {
		t.Errorf("number in the other guild after erasing its only case: got=%d, want 2", next.Number)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("records after erasures: %v", err)
	}
}

// TestCreateReturnsWhatGetReads: Create builds its result from its input
// instead of reading the row back, so the two must agree field by field.
func TestCreateReturnsWhatGetReads(t *testing.T) {
	db, k := newTestDB(t), newTestKeys(t)
	cases := NewCases(db, k)
	ctx := context.Background()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
	first, err := cases.Create(ctx, NewCase{GuildID: testGuild, Kind: CaseWarning, TargetID: "412345678901234567",
		TargetName: "t", ModeratorID: "412345678901234568", ModeratorName: "m", Reason: "r", Points: 2, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []NewCase{
		{GuildID: testGuild, Kind: CaseBan, TargetID: "412345678901234567", TargetName: "target", ModeratorID: "412345678901234568",
			ModeratorName: "mod", Reason: "because", Duration: 90*time.Minute + 1234567, CreatedAt: at,
			ExpiresAt: at.Add(time.Hour + 1), LinkedCase: first.Number},
		{GuildID: testGuild, Kind: CaseNote, TargetID: "412345678901234567", ModeratorID: "412345678901234568", Reason: "n"},
	} {
		got, err := cases.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cases.Get(ctx, testGuild, got.Number)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Create returned\n%+v\nGet reads\n%+v", got, want)
		}
	}
}
