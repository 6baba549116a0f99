package bot

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// TestDispatchAnswersEverything sends the router interactions the
// bot has no route for, or that arrive where a command cannot run (a DM),
// and checks that each is answered once, without a panic: "not available"
// for what has no route, empty choices for an autocomplete.
func TestDispatchAnswersEverything(t *testing.T) {
	const guild = "800000000000000000"
	user := map[string]any{"id": "800000000000000009", "username": "someone", "discriminator": "0"}
	member := map[string]any{"user": user, "roles": []string{}, "joined_at": "2021-03-04T05:06:07Z", "permissions": "0"}
	base := func(typ int, data map[string]any, dm bool) map[string]any {
		p := map[string]any{"id": snowflake.New(time.Now()).String(), "type": typ, "application_id": "1",
			"token": "tok", "version": 1, "channel_id": guild, "locale": "en-US", "data": data}
		if dm {
			p["user"], p["context"] = user, discord.InteractionContextTypeBotDM
		} else {
			p["guild_id"], p["member"], p["context"] = guild, member, discord.InteractionContextTypeGuild
		}
		return p
	}
	slash := func(name string, opts ...map[string]any) map[string]any {
		return map[string]any{"id": "2", "name": name, "type": 1, "options": opts}
	}
	tests := []struct {
		name    string
		payload map[string]any
		answer  bool // Discord is answered with a callback
	}{
		{"UserCommand", base(2, map[string]any{"id": "2", "name": "Warn", "type": 2, "target_id": "800000000000000009",
			"resolved": map[string]any{"users": map[string]any{"800000000000000009": user}}}, false), true},
		{"MessageCommand", base(2, map[string]any{"id": "2", "name": "Report", "type": 3, "target_id": "800000000000000010",
			"resolved": map[string]any{"messages": map[string]any{"800000000000000010": map[string]any{
				"id": "800000000000000010", "channel_id": guild, "author": user, "content": "x", "timestamp": "2021-03-04T05:06:07Z"}}}}, false), true},
		{"UnknownSlash", base(2, slash("frobnicate"), false), true},
		{"SlashInDM", base(2, slash("warnings", map[string]any{"name": "user", "type": 6, "value": "800000000000000009"}), true), true},
		{"DeferredSlashInDM", base(2, slash("note", map[string]any{"name": "user", "type": 6, "value": "800000000000000009"},
			map[string]any{"name": "text", "type": 3, "value": "x"}), true), true},
		{"ModalSubmit", base(5, map[string]any{"custom_id": "/warnings-page/1/2/3/1", "components": []any{}}, false), true},
		{"SelectMenu", base(3, map[string]any{"custom_id": "/warnings-page/1/2/3/1", "component_type": 3, "values": []string{"a"}}, false), true},
		{"ButtonNoSlash", base(3, map[string]any{"custom_id": "warnings-page", "component_type": 2}, false), true},
		{"ButtonEmpty", base(3, map[string]any{"custom_id": "/", "component_type": 2}, false), true},
		{"AutocompleteUnrouted", base(4, slash("warn", map[string]any{"name": "reason", "type": 3, "value": "x", "focused": true}), false), true},
		{"AutocompleteUnwarnInDM", base(4, slash("unwarn", map[string]any{"name": "case", "type": 4, "value": "1", "focused": true}), true), true},
		{"AutocompleteUnwarnNoFocus", base(4, slash("unwarn", map[string]any{"name": "case", "type": 4, "value": "1"}), false), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, kr := openTestStorage(t)
			rec := &recordedREST{}
			h, caches := recordedHandlers(NewStores(db, kr), rec, 800000000000000004, time.Now)
			gid := snowflake.MustParse(guild)
			caches.AddGuild(discord.Guild{ID: gid, Name: "G", OwnerID: gid + 1})
			caches.AddRole(discord.Role{ID: gid, GuildID: gid, Name: "@everyone"})
			r := newRouter(h.routes(), h)
			raw, err := json.Marshal(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			in, err := discord.UnmarshalInteraction(raw)
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			r.dispatch(&event{Interaction: in, ctx: context.Background(), rest: rec})
			got := len(rec.called("CreateInteractionResponse"))
			if tt.answer && got != 1 {
				t.Errorf("callbacks got=%d, want 1 (calls %+v)", got, rec.calls)
			}
			for _, c := range rec.called("CreateInteractionResponse") {
				t.Logf("answer: %+v", c.data)
			}
			for _, c := range rec.called("UpdateInteractionResponse") {
				t.Logf("edit: %+v", *c.data.(discord.MessageUpdate).Content)
			}
		})
	}
}
