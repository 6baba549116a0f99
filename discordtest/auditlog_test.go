package discordtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/snowflake/v2"
)

// auditEvents returns the GUILD_AUDIT_LOG_ENTRY_CREATE payloads sent.
func auditEvents(srv *Server) []discord.AuditLogEntry {
	var out []discord.AuditLogEntry
	for _, m := range srv.GatewayMessages() {
		if !m.Inbound && m.T == "GUILD_AUDIT_LOG_ENTRY_CREATE" {
			var e discord.AuditLogEntry
			_ = json.Unmarshal(m.D, &e)
			out = append(out, e)
		}
	}
	return out
}

// TestAuditLogIntent: entries go only to sessions that asked for
// GUILD_MODERATION, in guilds where the bot has View Audit Log; a REST
// action names the bot, a manual one the moderator, with the reason.
func TestAuditLogIntent(t *testing.T) {
	t.Run("WithoutIntent", func(t *testing.T) {
		srv := newServer(t)
		g := srv.AddGuild(GuildOptions{})
		mod := g.AddMember(MemberOptions{Username: "mod"})
		target := g.AddMember(MemberOptions{Username: "target"})
		newBot(t, srv, nil)
		g.KickAs(mod, target, "spam")
		if len(g.AuditLog()) != 1 {
			t.Fatalf("audit log got=%d entries, want 1", len(g.AuditLog()))
		}
		if n := len(auditEvents(srv)); n != 0 {
			t.Errorf("entries sent to a session without GUILD_MODERATION: %d", n)
		}
	})
	t.Run("WithIntent", func(t *testing.T) {
		srv := newServer(t)
		g := srv.AddGuild(GuildOptions{})
		noLog := DefaultBotPermissions &^ discord.PermissionViewAuditLog
		hidden := srv.AddGuild(GuildOptions{Name: "Hidden", BotPermissions: &noLog})
		mod := g.AddMember(MemberOptions{Username: "mod"})
		target := g.AddMember(MemberOptions{Username: "target"})
		hiddenMod := hidden.AddMember(MemberOptions{Username: "mod"})
		client := newBot(t, srv, nil, gateway.WithIntents(gateway.IntentGuilds|gateway.IntentGuildModeration))
		hidden.BanAs(hiddenMod, hiddenMod.ID, "not sent")
		g.TimeoutAs(mod, target, time.Now().Add(time.Hour), "cool off")
		if err := client.Rest().AddBan(g.ID, target.ID, 0); err != nil {
			t.Fatal(err)
		}
		waitGateway(t, srv, "two entries", func([]GatewayMessage) bool { return len(auditEvents(srv)) >= 2 })
		got := auditEvents(srv)
		if len(got) != 2 {
			t.Fatalf("entries got=%d, want 2 (none from the guild without View Audit Log)", len(got))
		}
		if e := got[0]; e.UserID != mod.ID || e.ActionType != discord.AuditLogEventMemberUpdate || e.Reason == nil || *e.Reason != "cool off" ||
			len(e.Changes) != 1 || e.Changes[0].Key != discord.AuditLogChangeKeyCommunicationDisabledUntil {
			t.Errorf("manual timeout entry got=%+v", e)
		}
		if e := got[1]; e.UserID != srv.BotUserID() || e.ActionType != discord.AuditLogEventMemberBanAdd || *e.TargetID != target.ID {
			t.Errorf("the bot's ban entry got=%+v, want the bot as its user", e)
		}
	})
}

// TestGetAuditLog: GET audit-logs returns the guild's entries newest
// first, filtered by action type and paged with before and after, with
// the users they name, in the shape Discord's OpenAPI description gives;
// a bot without View Audit Log gets 403 50013.
func TestGetAuditLog(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	noLog := DefaultBotPermissions &^ discord.PermissionViewAuditLog
	hidden := srv.AddGuild(GuildOptions{Name: "Hidden", BotPermissions: &noLog})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	kicked := g.AddMember(MemberOptions{Username: "kicked"})
	timedOut := g.AddMember(MemberOptions{Username: "timedout"})
	banned := g.AddMember(MemberOptions{Username: "banned"})
	old := g.AddMember(MemberOptions{Username: "old"})
	client := newBot(t, srv, nil)

	g.AddAuditLogEntry(AuditLogEntry{ID: snowflake.New(time.Now().Add(-48 * time.Hour)), ActionType: discord.AuditLogEventMemberBanAdd,
		UserID: mod.ID, TargetID: &old.ID})
	g.KickAs(mod, kicked, "spam")
	g.TimeoutAs(mod, timedOut, time.Now().Add(time.Hour), "")
	g.BanAs(mod, banned.ID, "raid")
	log := g.AuditLog()
	if len(log) != 4 || log[0].TargetID == nil || *log[0].TargetID != old.ID {
		t.Fatalf("audit log got=%+v, want the older entry first of 4", log)
	}

	all, err := client.Rest().GetAuditLog(g.ID, 0, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []snowflake.ID
	for _, e := range all.AuditLogEntries {
		got = append(got, *e.TargetID)
	}
	if want := []snowflake.ID{banned.ID, timedOut.ID, kicked.ID, old.ID}; !slices.Equal(got, want) {
		t.Errorf("entries got targets %v, want %v (newest first)", got, want)
	}
	if e := all.AuditLogEntries[0]; e.UserID != mod.ID || e.Reason == nil || *e.Reason != "raid" {
		t.Errorf("ban entry got=%+v", e)
	}
	if e := all.AuditLogEntries[1]; e.Reason != nil || len(e.Changes) != 1 || e.Changes[0].Key != discord.AuditLogChangeKeyCommunicationDisabledUntil {
		t.Errorf("timeout entry got=%+v, want its change and no reason", e)
	}
	names := map[snowflake.ID]string{}
	for _, u := range all.Users {
		names[u.ID] = u.Username
	}
	if len(all.Users) != 5 || names[mod.ID] != "mod" || names[banned.ID] != "banned" {
		t.Errorf("users got=%v, want the moderator and the four targets once each", names)
	}
	sp, err := loadSpec(SpecPath())
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.RequestsTo("GET", "/guilds/{guild_id}/audit-logs")
	if err := sp.validateResponse("GET", "/guilds/{guild_id}/audit-logs", 200, reqs[len(reqs)-1].Response); err != nil {
		t.Errorf("the answer does not match the OpenAPI description: %v", err)
	}

	bans, err := client.Rest().GetAuditLog(g.ID, 0, discord.AuditLogEventMemberBanAdd, 0, 0, 1)
	if err != nil || len(bans.AuditLogEntries) != 1 || *bans.AuditLogEntries[0].TargetID != banned.ID {
		t.Fatalf("newest ban got=%+v, %v", bans, err)
	}
	next, err := client.Rest().GetAuditLog(g.ID, 0, discord.AuditLogEventMemberBanAdd, bans.AuditLogEntries[0].ID, 0, 1)
	if err != nil || len(next.AuditLogEntries) != 1 || *next.AuditLogEntries[0].TargetID != old.ID {
		t.Fatalf("the ban before it got=%+v, %v", next, err)
	}
	if len(next.Users) != 2 {
		t.Errorf("users of one entry got=%d, want its moderator and target", len(next.Users))
	}
	after, err := client.Rest().GetAuditLog(g.ID, 0, 0, 0, log[0].ID, 2)
	if err != nil || len(after.AuditLogEntries) != 2 || *after.AuditLogEntries[1].TargetID != kicked.ID {
		t.Fatalf("the two entries after the oldest got=%+v, %v", after, err)
	}
	expectNoViolations(t, srv)

	if _, err := client.Rest().GetAuditLog(hidden.ID, 0, 0, 0, 0, 0); restCode(err) != 50013 {
		t.Errorf("without View Audit Log got=%v, want 403 50013", err)
	}
	if _, err := client.Rest().GetAuditLog(g.ID, 0, 0, 0, 0, 101); restCode(err) != 50035 {
		t.Errorf("limit 101 got=%v, want 400 50035", err)
	}
	if vs := srv.Violations(); len(vs) != 1 || vs[0].Kind != ViolationSpec || !strings.Contains(vs[0].Detail, "limit") {
		t.Errorf("violations got=%v, want the limit", vs)
	}
}
