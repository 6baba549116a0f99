package storage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const (
	atkMember = "412345678901234711"
	atkOther  = "412345678901234712"
	atkMod    = "412345678901234799"
	atkGuildB = "999999999999999999"
)

// memberActions counts the scheduled_actions rows of userID under every
// index key the keyring enables.
func memberActions(t *testing.T, db *DB, c Cipher, guild, userID string) int {
	t.Helper()
	target, args := indexIn(`target_index`, userIndexes(c, userID))
	var n int
	if err := db.read.QueryRow(`SELECT count(*) FROM scheduled_actions WHERE guild_id = ? AND `+target,
		append([]any{guild}, args...)...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// timedBan makes a timed ban of target with its pending unban due at due.
func timedBan(t *testing.T, cs *Cases, sched *Schedule, guild, target string, created, due time.Time) ScheduledAction {
	t.Helper()
	c := mustCreateCase(t, cs, NewCase{GuildID: guild, Kind: CaseBan, TargetID: target, TargetName: "n",
		ModeratorID: atkMod, ModeratorName: "mod", Reason: "ban", Duration: due.Sub(created), ExpiresAt: due, CreatedAt: created})
	a, err := sched.Add(context.Background(), NewScheduledAction{GuildID: guild, Kind: ActionUnban, TargetID: target,
		DueAt: due, CaseNumber: c.Number}, created)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAttackKeptUnbanOutlivesIndexRotation: a pending unban kept by an
// erasure must be deleted once it has run. member_erasures holds a mark
// of the blind index under the index key of the time; after RotateIndex +
// Reindex the action carries the new index, whose marks never match, so
// the row (sealed target ID, index) stays forever.
func TestAttackKeptUnbanOutlivesIndexRotation(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs, sched := NewCases(db, k), NewSchedule(db, k)
	timedBan(t, cs, sched, testGuild, atkMember, t0, t0.Add(time.Hour))
	if _, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if err := k.RotateIndex(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reindex(ctx, k, 10, nil); err != nil {
		t.Fatal(err)
	}
	claimed, err := sched.ClaimDue(ctx, t0.Add(2*time.Hour), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue: %v, %d", err, len(claimed))
	}
	if err := sched.Complete(ctx, claimed[0].ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := memberActions(t, db, k, testGuild, atkMember); n != 0 {
		t.Errorf("the erased member's unban has run after an index-key rotation, yet %d row(s) of it remain", n)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("VerifyDatabase: %v", err)
	}
}

// TestAttackLaterUnbanOfReturningMemberDeleted: after an erasure the
// member comes back and gets a new timed ban. When that unban runs,
// deleteIfErased deletes it, although it postdates the erasure: the
// member's export then lacks a record the server still acts on (its
// case stays). Only actions pending at the erasure may go.
func TestAttackLaterUnbanOfReturningMemberDeleted(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs, sched := NewCases(db, k), NewSchedule(db, k)
	mustCreateCase(t, cs, warning(atkMember, "old"))
	if _, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(24 * time.Hour)
	timedBan(t, cs, sched, testGuild, atkMember, later, later.Add(time.Hour))
	claimed, err := sched.ClaimDue(ctx, later.Add(2*time.Hour), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue: %v, %d", err, len(claimed))
	}
	if err := sched.Complete(ctx, claimed[0].ID, later.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := cs.MemberRecords(ctx, testGuild, atkMember)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cases) != 1 || len(r.Scheduled) != 1 {
		t.Errorf("after returning: %d cases and %d scheduled actions, want 1 and 1 (the new ban's unban postdates the erasure)",
			len(r.Cases), len(r.Scheduled))
	}
}

// TestAttackEraseModeratorLeavesBlindIndex: the issue says a byte scan
// after erasure finds no blind index of the member. A member who also
// moderated others' cases keeps their blind index in moderator_index
// (same "user" domain as target_index), so the scan finds it.
func TestAttackEraseModeratorLeavesBlindIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openTestDB(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k := newTestKeys(t)
	cs := NewCases(db, k)
	mustCreateCase(t, cs, warning(atkMember, "about the member"))
	n := warning(atkOther, "by the member")
	n.ModeratorID = atkMember
	mustCreateCase(t, cs, n)
	if _, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, ix := range userIndexes(k, atkMember) {
		if bytes.Contains(file, ix) {
			t.Errorf("the erased member's blind index %d is still in the database file (moderator_index of another's case)", i)
		}
	}
}

// TestAttackEraseOtherGuildUntouched (holds today): erasing in one guild
// leaves the member's records, and their finished unban, in another.
func TestAttackEraseOtherGuildUntouched(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs, sched := NewCases(db, k), NewSchedule(db, k)
	mustCreateCase(t, cs, warning(atkMember, "A"))
	timedBan(t, cs, sched, atkGuildB, atkMember, t0, t0.Add(time.Hour))
	if _, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	claimed, err := sched.ClaimDue(ctx, t0.Add(2*time.Hour), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue: %v %d", err, len(claimed))
	}
	if err := sched.Complete(ctx, claimed[0].ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := cs.MemberRecords(ctx, atkGuildB, atkMember)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cases) != 1 || len(r.Scheduled) != 1 {
		t.Errorf("guild B: %d cases, %d actions; want 1, 1", len(r.Cases), len(r.Scheduled))
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("VerifyDatabase: %v", err)
	}
}

// TestAttackKeptUnbanEndings (holds today): whichever way a kept unban
// ends (fail for good, retry then done, cancel, requeue then done), its
// row goes and the records still verify.
func TestAttackKeptUnbanEndings(t *testing.T) {
	for _, how := range []string{"fail", "retry", "cancel", "requeue"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			db := newTestDB(t)
			k := newTestKeys(t)
			cs, sched := NewCases(db, k), NewSchedule(db, k)
			due := t0.Add(time.Hour)
			timedBan(t, cs, sched, testGuild, atkMember, t0, due)
			timedBan(t, cs, sched, testGuild, atkOther, t0, due)
			if _, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", t0.Add(time.Minute), nil); err != nil {
				t.Fatal(err)
			}
			run := func(at time.Time) ScheduledAction {
				claimed, err := sched.ClaimDue(ctx, at, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range claimed {
					if a.TargetID == atkMember {
						return a
					}
				}
				t.Fatalf("the member's unban was not claimed")
				return ScheduledAction{}
			}
			switch how {
			case "fail":
				if err := sched.Fail(ctx, run(due).ID, "gone", time.Time{}, due); err != nil {
					t.Fatal(err)
				}
			case "retry":
				a := run(due)
				if err := sched.Fail(ctx, a.ID, "503", due.Add(time.Minute), due); err != nil {
					t.Fatal(err)
				}
				if n := memberActions(t, db, k, testGuild, atkMember); n != 1 {
					t.Fatalf("a retried unban was deleted before it ran: %d rows", n)
				}
				if err := sched.Complete(ctx, run(due.Add(time.Minute)).ID, due.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			case "cancel":
				if _, err := sched.Cancel(ctx, testGuild, atkMember, ActionUnban, due); err != nil {
					t.Fatal(err)
				}
			case "requeue":
				run(due)
				if _, err := sched.RequeueStale(ctx, due.Add(time.Second), due.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
				if err := sched.Complete(ctx, run(due.Add(time.Second)).ID, due.Add(time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if n := memberActions(t, db, k, testGuild, atkMember); n != 0 {
				t.Errorf("%s: %d row(s) of the erased member's unban remain", how, n)
			}
			if n := memberActions(t, db, k, testGuild, atkOther); n != 1 {
				t.Errorf("%s: the other member's unban: %d rows, want 1", how, n)
			}
			if _, err := VerifyDatabase(ctx, db, k); err != nil {
				t.Errorf("VerifyDatabase: %v", err)
			}
		})
	}
}

// TestAttackReapplySparesLaterCases (holds today): re-applying an erasure
// erases nothing the member got after it.
func TestAttackReapplySparesLaterCases(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	mustCreateCase(t, cs, warning(atkMember, "old"))
	at := t0.Add(time.Minute)
	res, err := cs.EraseMember(ctx, testGuild, atkMember, "admin", at, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := warning(atkMember, "new")
	n.CreatedAt = at.Add(time.Millisecond)
	mustCreateCase(t, cs, n)
	for _, e := range res.Erasures {
		if got, err := cs.ReapplyErasure(ctx, e, "test"); err != nil || got != 0 {
			t.Errorf("ReapplyErasure: %d, %v; want 0", got, err)
		}
	}
	r, err := cs.MemberRecords(ctx, testGuild, atkMember)
	if err != nil || len(r.Cases) != 1 {
		t.Errorf("after re-applying: %d cases, %v; want the later one", len(r.Cases), err)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("VerifyDatabase: %v", err)
	}
}
