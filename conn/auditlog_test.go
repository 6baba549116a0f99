package conn

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
)

// TestAuditLogEntries: the Client asks for GUILD_MODERATION and hands each
// GUILD_AUDIT_LOG_ENTRY_CREATE to OnAuditLogEntry with its guild.
func TestAuditLogEntries(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	g := srv.AddGuild(discordtest.GuildOptions{})
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod"})
	target := g.AddMember(discordtest.MemberOptions{Username: "target"})
	c, err := New(Options{Token: srv.Token(), APIURL: srv.APIURL(), GatewayURL: srv.GatewayURL()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []discord.AuditLogEntry
	var guilds []snowflake.ID
	c.OnAuditLogEntry(func(guildID snowflake.ID, e discord.AuditLogEntry) {
		mu.Lock()
		defer mu.Unlock()
		got, guilds = append(got, e), append(guilds, guildID)
	})
	t.Cleanup(func() { c.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Open(ctx); err != nil {
		t.Fatal(err)
	}
	g.KickAs(mod, target, "spam")
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no audit-log entry within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	e := got[0]
	if guilds[0] != g.ID || e.UserID != mod.ID || e.TargetID == nil || *e.TargetID != target.ID ||
		e.ActionType != discord.AuditLogEventMemberKick || e.Reason == nil || *e.Reason != "spam" {
		t.Errorf("entry got=%+v in guild %s, want mod's kick of target with its reason", e, guilds[0])
	}
}
