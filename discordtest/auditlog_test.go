package discordtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/gateway"
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
