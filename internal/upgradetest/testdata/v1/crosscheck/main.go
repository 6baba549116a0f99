// Command crosscheck reads the v1 data set with the schema-1 bot's own
// code and compares what it reads with expected.json. It builds only
// inside a checkout of commit 4cb6743 (the last with schema version 1),
// which is why it lives under testdata, out of this module's build:
//
//	git worktree add /tmp/v1 4cb6743
//	cp -r internal/upgradetest/testdata/v1/crosscheck /tmp/v1/
//	cp -r internal/upgradetest/testdata/v1 /tmp/v1data && chmod 600 /tmp/v1data/data/keys/*
//	(cd /tmp/v1 && go run ./crosscheck /tmp/v1data)
//	git worktree remove --force /tmp/v1
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

type obj = map[string]any

func main() {
	ctx := context.Background()
	dir := os.Args[1]
	var exp obj
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	must(err)
	must(json.Unmarshal(b, &exp))
	k, err := keys.Load(keys.Options{Dir: filepath.Join(dir, "data", "keys")})
	must(err)
	db, err := storage.Open(ctx, filepath.Join(dir, "data", "bot.db"))
	must(err)
	defer db.Close()
	must(storage.CheckKeys(ctx, db, k, "keys"))
	n, err := storage.NewAudit(db, k).Verify(ctx)
	must(err)
	fmt.Printf("audit chain intact: %d entries\n", n)

	got := obj{}
	ver, err := db.SchemaVersion(ctx)
	must(err)
	got["schema_version"] = ver
	created, err := storage.NewMeta(db).CreatedAt(ctx)
	must(err)
	got["created_at"] = created
	cases := storage.NewCases(db, k)
	highest := map[string]int64{}
	for _, key := range []string{"cases", "erased_cases"} {
		for _, c := range exp[key].([]any) {
			g := c.(obj)["guild_id"].(string)
			highest[g] = max(highest[g], int64(c.(obj)["number"].(float64)))
		}
	}
	var guilds, all []obj
	for _, eg := range exp["guilds"].([]any) {
		id := eg.(obj)["guild_id"].(string)
		s, err := storage.NewGuilds(db, k).Get(ctx, id)
		must(err)
		var rules []obj
		for _, r := range s.Escalations {
			rules = append(rules, obj{"points": r.Points, "action": r.Action, "duration_ms": r.Duration.Milliseconds()})
		}
		guilds = append(guilds, obj{"guild_id": id, "saved": !s.UpdatedAt.IsZero(), "modlog_channel_id": s.ModlogChannelID,
			"dm_enabled": s.DMEnabled, "warning_expiry_ms": s.WarningExpiry.Milliseconds(),
			"show_moderator_names": s.ShowModeratorNames, "moderator_role_ids": s.ModeratorRoleIDs,
			"escalations": rules, "updated_at": orNil(s.UpdatedAt)})
		for num := int64(1); num <= highest[id]+5; num++ {
			c, err := cases.Get(ctx, id, num)
			if err != nil {
				continue
			}
			h, err := cases.History(ctx, id, num)
			must(err)
			var hist []obj
			for _, x := range h {
				hist = append(hist, obj{"revision": x.Revision, "old_reason": x.OldReason, "changed_by_id": x.ChangedByID, "changed_at": x.ChangedAt})
			}
			var rev any
			if c.Revoked != nil {
				rev = obj{"at": c.Revoked.At, "by_id": c.Revoked.ByID, "reason": c.Revoked.Reason}
			}
			all = append(all, obj{"guild_id": c.GuildID, "number": c.Number, "kind": c.Kind, "target_id": c.TargetID,
				"target_name": c.TargetName, "moderator_id": c.ModeratorID, "moderator_name": c.ModeratorName,
				"reason": c.Reason, "points": c.Points, "duration_ms": c.Duration.Milliseconds(), "created_at": c.CreatedAt,
				"expires_at": orNil(c.ExpiresAt), "revoked": rev, "linked_case": c.LinkedCase, "history": hist})
		}
	}
	got["guilds"], got["cases"] = guilds, all
	var acts []obj
	for id := int64(1); id <= 20; id++ {
		a, err := storage.NewSchedule(db, k).Get(ctx, id)
		if err != nil {
			continue
		}
		acts = append(acts, obj{"id": a.ID, "guild_id": a.GuildID, "kind": a.Kind, "target_id": a.TargetID,
			"due_at": a.DueAt, "state": a.State, "attempts": a.Attempts, "last_error": a.LastError,
			"case_number": a.CaseNumber, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt})
	}
	got["scheduled_actions"] = acts
	entries, err := storage.NewAudit(db, k).List(ctx, 0, 1000)
	must(err)
	var audit []obj
	for _, e := range entries {
		audit = append(audit, obj{"seq": e.Seq, "at": e.At, "guild_id": e.GuildID, "actor_id": e.ActorID, "action": e.Action, "details": e.Details})
	}
	got["audit_log"] = audit
	var points []obj
	for _, p := range exp["active_points"].([]any) {
		m := p.(obj)
		at, err := time.Parse(time.RFC3339Nano, m["at"].(string))
		must(err)
		n, err := cases.ActivePoints(ctx, m["guild_id"].(string), m["user_id"].(string), at)
		must(err)
		points = append(points, obj{"guild_id": m["guild_id"], "user_id": m["user_id"], "at": at, "points": n})
	}
	got["active_points"] = points
	for _, u := range exp["erased_members"].([]any) {
		cs, err := cases.AllForUser(ctx, u.(string))
		must(err)
		if len(cs) != 0 {
			fail("erased member %s still has %d cases", u, len(cs))
		}
	}
	ok := true
	for key, v := range got {
		if canon(v) != canon(exp[key]) {
			ok = false
			fmt.Printf("%s differs:\nread:     %s\nexpected: %s\n", key, canon(v), canon(exp[key]))
		}
	}
	if !ok {
		os.Exit(1)
	}
	fmt.Println("the schema-1 code reads exactly expected.json")
}

// canon is v as JSON after a round trip, so that both sides compare alike.
func canon(v any) string {
	b, err := json.Marshal(v)
	must(err)
	var x any
	must(json.Unmarshal(b, &x))
	b, err = json.Marshal(x)
	must(err)
	return string(b)
}

func orNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crosscheck: "+format+"\n", args...)
	os.Exit(1)
}
