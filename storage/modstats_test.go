package storage

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOverview(t *testing.T) {
	ctx := context.Background()
	db, k := newTestDB(t), newTestKeys(t)
	cases := NewCases(db, k)
	const modA, modB = "300000000000000001", "300000000000000002"
	mk := func(kind CaseKind, target, mod string, points int, at time.Time) Case {
		return mustCreateCase(t, cases, NewCase{GuildID: testGuild, Kind: kind, TargetID: target, TargetName: "name-" + target,
			ModeratorID: mod, ModeratorName: "mod-" + mod, Reason: "r", Points: points, CreatedAt: at})
	}
	old := t0.Add(-60 * 24 * time.Hour)
	mk(CaseWarning, "400000000000000001", modA, 5, old) // outside the period, still active
	mk(CaseWarning, "400000000000000002", modA, 2, t0.Add(-time.Hour))
	mk(CaseWarning, "400000000000000002", modB, 1, t0.Add(-time.Hour))
	rev := mk(CaseWarning, "400000000000000003", modB, 9, t0.Add(-time.Hour))
	if _, err := cases.Revoke(ctx, testGuild, rev.Number, modA, "mistake", t0); err != nil {
		t.Fatal(err)
	}
	mk(CaseBan, "400000000000000004", modB, 0, t0.Add(-time.Minute))
	mk(CaseNote, "400000000000000004", modB, 0, t0.Add(-time.Minute))
	// Another guild's cases count for nothing here.
	mustCreateCase(t, cases, NewCase{GuildID: "999", Kind: CaseWarning, TargetID: "400000000000000009", TargetName: "x",
		ModeratorID: modA, ModeratorName: "a", Reason: "r", Points: 50, CreatedAt: t0})

	ov, err := NewStats(db, k).Overview(ctx, testGuild, t0.Add(-30*24*time.Hour), t0, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Total != 5 {
		t.Errorf("Total=%d, want 5", ov.Total)
	}
	if len(ov.Kinds) != 3 || ov.Kinds[0] != (KindCount{CaseWarning, 3}) {
		t.Errorf("Kinds=%v, want warning 3 first of 3 kinds", ov.Kinds)
	}
	wantTop := []MemberPoints{
		{UserID: "400000000000000001", Name: "name-400000000000000001", Points: 5},
		{UserID: "400000000000000002", Name: "name-400000000000000002", Points: 3},
	}
	if len(ov.TopPoints) != len(wantTop) || ov.TopPoints[0] != wantTop[0] || ov.TopPoints[1] != wantTop[1] {
		t.Errorf("TopPoints=%+v, want %+v", ov.TopPoints, wantTop)
	}
	if len(ov.Moderators) != 2 || ov.Moderators[0].ModeratorID != modB || ov.Moderators[0].Total != 4 ||
		ov.Moderators[0].ByKind[CaseWarning] != 2 || ov.Moderators[1].ModeratorID != modA || ov.Moderators[1].Total != 1 {
		t.Errorf("Moderators=%+v, want modB with 4 (2 warnings), then modA with 1", ov.Moderators)
	}
	if ov.Moderators[0].Name != "mod-"+modB {
		t.Errorf("moderator name=%q", ov.Moderators[0].Name)
	}

	ov, err = NewStats(db, k).Overview(ctx, testGuild, t0.Add(-30*24*time.Hour), t0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.TopPoints) != 1 || len(ov.Moderators) != 1 {
		t.Errorf("limits not applied: %d members, %d moderators", len(ov.TopPoints), len(ov.Moderators))
	}
}

// TestOverviewUsesIndexes checks the plans of the overview's queries: each
// reads an index that covers it, never the cases table, and groups in the
// index's order rather than sorting.
func TestOverviewUsesIndexes(t *testing.T) {
	db := newTestDB(t)
	for _, q := range []struct{ sql, index string }{
		{sqlOverviewByKind, "COVERING INDEX cases_by_kind"},
		{sqlOverviewPoints, "COVERING INDEX cases_by_target"},
	} {
		rows, err := db.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.sql, testGuild, 0, 5)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "\n"
		}
		rows.Close()
		if !strings.Contains(plan, q.index) || strings.Contains(plan, "SCAN") || strings.Contains(plan, "GROUP BY") {
			t.Errorf("plan of %q:\n%s\nwant %s", q.sql, plan, q.index)
		}
	}
}
