package privacy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

func TestBuild(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	r := storage.MemberRecords{GuildID: "1", UserID: "2", Cases: []storage.Case{
		{Number: 3, Kind: storage.CaseWarning, Reason: "spam", Points: 2, TargetName: "member", ModeratorID: "9",
			ModeratorName: "mod", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
			Revoked: &storage.Revocation{At: now, ByID: "9", Reason: "appeal"}},
		{Number: 5, Kind: storage.CaseNote, Reason: "watch", CreatedAt: now},
	}, History: map[int64][]storage.ReasonChange{3: {{Revision: 1, OldReason: "spam?", ChangedByID: "9", ChangedAt: now}}},
		Scheduled: []storage.ScheduledAction{{Kind: storage.ActionUnban, DueAt: now, State: storage.StatePending, CaseNumber: 3}}}

	for _, show := range []bool{false, true} {
		b, err := Build(r, Options{ShowModerators: show, Retention: 2 * 365 * 24 * time.Hour, Now: now}).JSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		cases, ok := doc["cases"].([]any)
		if !ok || len(cases) != 2 {
			t.Fatalf("cases: %v", doc["cases"])
		}
		first := cases[0].(map[string]any)
		for _, field := range []string{"number", "kind", "reason", "points", "created_at", "expires_at", "revoked_at", "reason_history"} {
			if _, ok := first[field]; !ok {
				t.Errorf("case without %q: %v", field, first)
			}
		}
		if h := first["reason_history"].([]any); len(h) != 1 {
			t.Errorf("reason_history: %v", h)
		}
		if second := cases[1].(map[string]any); second["expires_at"] != nil || second["revoked_at"] != nil {
			t.Errorf("a case that never expires and was not revoked: %v", second)
		}
		if got := strings.Contains(string(b), `"mod"`) || strings.Contains(string(b), `"9"`); got != show {
			t.Errorf("show moderators %v: moderator in the export: %v\n%s", show, got, b)
		}
		if !strings.Contains(string(b), "2 years after") {
			t.Errorf("the retention in force is not stated:\n%s", b)
		}
	}
}
