package storage

import (
	"context"
	"testing"
	"time"
)

// An erased member is in no part of the overview: not among the members
// with points, not in the counts by kind. A moderator who was erased keeps
// the cases they made, which are other members' records.
func TestOverviewAfterErasure(t *testing.T) {
	ctx := context.Background()
	db, k := newTestDB(t), newTestKeys(t)
	cases := NewCases(db, k)
	const erased, kept, mod = "400000000000000001", "400000000000000002", "300000000000000001"
	for _, target := range []string{erased, erased, kept} {
		mustCreateCase(t, cases, NewCase{GuildID: testGuild, Kind: CaseWarning, TargetID: target, TargetName: "name-" + target,
			ModeratorID: mod, ModeratorName: "mod", Reason: "r", Points: 3, CreatedAt: t0.Add(-time.Hour)})
	}
	mustCreateCase(t, cases, NewCase{GuildID: testGuild, Kind: CaseKick, TargetID: kept, TargetName: "name-" + kept,
		ModeratorID: erased, ModeratorName: "erased-mod", Reason: "r", CreatedAt: t0.Add(-time.Hour)})
	if _, err := cases.EraseMember(ctx, testGuild, erased, mod, t0.Add(-time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	ov, err := NewStats(db, k).Overview(ctx, testGuild, t0.Add(-24*time.Hour), t0, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Total != 2 {
		t.Errorf("Total=%d, want 2: the erased member's cases are gone", ov.Total)
	}
	if len(ov.TopPoints) != 1 || ov.TopPoints[0].UserID != kept {
		t.Errorf("TopPoints=%+v, want only the member kept", ov.TopPoints)
	}
	var asMod bool
	for _, m := range ov.Moderators {
		asMod = asMod || m.ModeratorID == erased
	}
	if !asMod {
		t.Errorf("Moderators=%+v, want the erased member's kick as a moderator kept", ov.Moderators)
	}
}
