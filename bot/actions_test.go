package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// TestActionsRecorded runs each row of the actions table through the one
// action path against a recorded REST API: the Discord call the row names,
// with the reason and the moderator in Discord's audit log; the case kind
// it records; and its DM, sent before the action when the member may lose
// the last server they share with the bot.
func TestActionsRecorded(t *testing.T) {
	const (
		guild    = snowflake.ID(800000000000000000)
		owner    = guild + 1
		modRole  = guild + 2
		botRole  = guild + 3
		botID    = guild + 4
		targetID = guild + 5
		modID    = guild + 6
	)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	user := func() map[string]any { return map[string]any{"name": "user", "type": 6, "value": targetID.String()} }
	text := func(name, v string) map[string]any { return map[string]any{"name": name, "type": 3, "value": v} }
	tests := []struct {
		command  string
		opts     []map[string]any
		method   string
		kind     storage.CaseKind
		reply    string
		dmTitle  string // "" when no DM is sent
		dmBefore bool
	}{
		{"timeout", []map[string]any{user(), text("duration", "1h"), text("reason", "spam")}, "UpdateMember",
			storage.CaseTimeout, "Timed out", "You were timed out in Test Guild", false},
		{"kick", []map[string]any{user(), text("reason", "spam")}, "RemoveMember",
			storage.CaseKick, "Kicked", "You were kicked from Test Guild", true},
		{"ban", []map[string]any{user(), text("reason", "spam"), text("delete_messages", "1d")}, "AddBan",
			storage.CaseBan, "Banned", "You were banned from Test Guild", true},
		{"unban", []map[string]any{text("user", targetID.String()), text("reason", "spam")}, "DeleteBan",
			storage.CaseUnban, "Unbanned", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			db, kr := openTestStorage(t)
			stores := NewStores(db, kr)
			rec := &recordedREST{}
			h, caches := recordedHandlers(stores, rec, botID, func() time.Time { return now })
			caches.AddGuild(discord.Guild{ID: guild, Name: "Test Guild", OwnerID: owner})
			caches.AddRole(discord.Role{ID: guild, GuildID: guild, Name: "@everyone"})
			caches.AddRole(discord.Role{ID: modRole, GuildID: guild, Name: "Mods", Position: 5, Permissions: benchModPerms})
			caches.AddRole(discord.Role{ID: botRole, GuildID: guild, Name: "Bot", Position: 9})
			caches.SetSelfUser(discord.OAuth2User{User: discord.User{ID: botID, Username: "bot"}})
			caches.AddMember(discord.Member{GuildID: guild, User: discord.User{ID: botID}, RoleIDs: []snowflake.ID{botRole}})

			users := map[string]string{targetID.String(): "target"}
			if tt.command == "unban" {
				users = nil // a banned user is not in the server
			}
			in := slashInteraction(t, guild.String(), modID.String(), "mod", modRole, tt.command, tt.opts, users)
			e := &event{Interaction: in, ctx: context.Background(), rest: rec}
			if err := h.deferred(tt.command, h.handleAction(actionCommandOf(tt.command)))(e, in.SlashCommandInteractionData()); err != nil {
				t.Fatal(err)
			}

			replies := rec.called("UpdateInteractionResponse")
			if len(replies) != 1 {
				t.Fatalf("replies got=%d, want 1", len(replies))
			}
			if got := *replies[0].data.(discord.MessageUpdate).Content; !strings.HasPrefix(got, tt.reply) {
				t.Fatalf("reply got=%q, want it to start with %q", got, tt.reply)
			}
			calls := rec.called(tt.method)
			if len(calls) != 1 || calls[0].guild != guild || calls[0].user != targetID {
				t.Fatalf("%s calls got=%+v, want one on the target in the guild", tt.method, calls)
			}
			if want := "spam (by mod)"; calls[0].reason != want {
				t.Errorf("audit log reason got=%q, want %q", calls[0].reason, want)
			}
			cases, err := stores.Cases.ListForUser(context.Background(), guild.String(), targetID.String(), true, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(cases) != 1 || cases[0].Kind != tt.kind || cases[0].Reason != "spam" {
				t.Fatalf("cases got=%+v, want one %s", cases, tt.kind)
			}

			dms := rec.called("CreateDMChannel")
			if tt.dmTitle == "" {
				if len(dms) != 0 {
					t.Errorf("DMs got=%d, want none", len(dms))
				}
				return
			}
			msgs := rec.called("CreateMessage")
			if len(dms) != 1 || len(msgs) != 1 {
				t.Fatalf("DM channels got=%d, messages got=%d, want 1 each", len(dms), len(msgs))
			}
			if got := msgs[0].data.(discord.MessageCreate).Embeds[0].Title; got != tt.dmTitle {
				t.Errorf("DM title got=%q, want %q", got, tt.dmTitle)
			}
			before := callIndex(rec, "CreateDMChannel") < callIndex(rec, tt.method)
			if before != tt.dmBefore {
				t.Errorf("DM sent before the action got=%v, want %v", before, tt.dmBefore)
			}
		})
	}
}

// callIndex returns the position of the first call of method, or -1.
func callIndex(r *recordedREST, method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.calls {
		if c.method == method {
			return i
		}
	}
	return -1
}
