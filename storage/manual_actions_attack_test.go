package storage

import (
	"context"
	"testing"
	"time"
)

// The record of a manual action through an erasure, a replay after it, a
// later action, a re-applied erasure and the guild's deletion: each step
// leaves records that verify, and the deletion leaves no row of the guild.
func TestManualActionsErasureAndDeparture(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	g := NewGuilds(db, k)
	r := NewRetention(db, k)
	const member, mod = "333333333333333333", "222222222222222222"
	n := NewCase{GuildID: testGuild, Kind: CaseBan, TargetID: member, TargetName: "raider",
		ModeratorID: mod, ModeratorName: "mod", Reason: "from the member menu", CreatedAt: t0}
	verify := func(step string) {
		t.Helper()
		if rep, err := VerifyDatabase(ctx, db, k); err != nil || rep.Unsealed {
			t.Fatalf("%s: VerifyDatabase %+v, %v", step, rep, err)
		}
	}
	count := func(table string) int {
		t.Helper()
		var c int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE guild_id = ?`, testGuild).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	if _, ok, err := cs.CreateManual(ctx, n, "900000000000000001"); err != nil || !ok {
		t.Fatalf("first manual ban: %v %v", ok, err)
	}
	s, err := g.Get(ctx, testGuild)
	if err != nil {
		t.Fatal(err)
	}
	s.IgnoreManualActions = true
	if err := g.Save(ctx, s, mod, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	verify("recorded")

	erasedAt := t0.Add(time.Hour)
	res, err := cs.EraseMember(ctx, testGuild, member, mod, erasedAt, nil)
	if err != nil || res.Cases != 1 {
		t.Fatalf("erase: %+v %v", res, err)
	}
	verify("erased")
	// A replay of the entry recorded before the erasure brings nothing back.
	if _, ok, err := cs.CreateManual(ctx, n, "900000000000000001"); err != nil || ok {
		t.Errorf("replay after the erasure: recorded=%v err=%v, want nothing recorded", ok, err)
	}
	// The member is back and banned again: a record of its own.
	later := n
	later.CreatedAt = erasedAt.Add(time.Hour)
	later.Reason = "again"
	c, ok, err := cs.CreateManual(ctx, later, "900000000000000002")
	if err != nil || !ok || c.Number != 2 {
		t.Fatalf("ban after the erasure: %+v %v %v, want case #2", c, ok, err)
	}
	verify("recorded after the erasure")
	for _, e := range res.Erasures {
		if _, err := cs.ReapplyErasure(ctx, e, mod); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := cs.Get(ctx, testGuild, 2); err != nil || got.Reason != "again" {
		t.Errorf("case #2 after the erasure was re-applied: %+v %v", got, err)
	}
	verify("re-applied")

	if err := r.RecordDeparture(ctx, testGuild, t0.Add(3*time.Hour), t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		if done, err = r.DeleteGuildBatch(ctx, testGuild, t0.Add(5*time.Hour), 1); err != nil {
			t.Fatal(err)
		}
		verify("a deletion batch")
	}
	for _, table := range []string{"cases", "guild_manual_actions", "erased_cases"} {
		if n := count(table); n != 0 {
			t.Errorf("%s: %d rows of the deleted guild left", table, n)
		}
	}
	// The erasure's mark and the entries' records stay, so that the bot,
	// added back within the week, records neither the old entry again nor
	// another from before the erasure still in Discord's audit log.
	for _, table := range []string{"manual_action_entries", "member_erasures"} {
		if n := count(table); n == 0 {
			t.Errorf("%s: none left after the guild's deletion, want them kept", table)
		}
	}
	if _, ok, err := cs.CreateManual(ctx, n, "900000000000000001"); err != nil || ok {
		t.Errorf("the old entry after the guild's deletion: recorded=%v err=%v, want nothing", ok, err)
	}
	if _, ok, err := cs.CreateManual(ctx, n, "900000000000000003"); err != nil || ok {
		t.Errorf("another entry from before the erasure after the guild's deletion: recorded=%v err=%v, want nothing", ok, err)
	}
	verify("after the guild's deletion")
}

// An entry of an action taken before the member's erasure, handled after
// it (a replay, or a burst that kept it waiting), would bring back a record
// the erasure removed: it is not recorded. One taken after the erasure is.
func TestManualActionBeforeErasure(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	const member, mod = "333333333333333333", "222222222222222222"
	mustCreateCase(t, cs, warning(member, "spam"))
	erasedAt := t0.Add(time.Hour)
	if _, err := cs.EraseMember(ctx, testGuild, member, mod, erasedAt, nil); err != nil {
		t.Fatal(err)
	}
	old := NewCase{GuildID: testGuild, Kind: CaseKick, TargetID: member, TargetName: "raider",
		ModeratorID: mod, ModeratorName: "mod", Reason: "before the erasure", CreatedAt: erasedAt.Add(-time.Minute)}
	if _, ok, err := cs.CreateManual(ctx, old, "900000000000000003"); err != nil || ok {
		t.Errorf("an action from before the erasure: recorded=%v err=%v, want nothing recorded", ok, err)
	}
	later := old
	later.CreatedAt, later.Reason = erasedAt.Add(time.Minute), "after the erasure"
	if _, ok, err := cs.CreateManual(ctx, later, "900000000000000004"); err != nil || !ok {
		t.Errorf("an action after the erasure: recorded=%v err=%v, want it recorded", ok, err)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Error(err)
	}
}
