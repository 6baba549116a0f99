package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
)

// TestHealthManualActionsPermission: where the bot may not read the audit
// log, 'bot health' warns, naming the server and the permission to grant,
// and stays healthy; with the permission it says nothing of it.
func TestHealthManualActionsPermission(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	perms := discordtest.DefaultBotPermissions &^ discord.PermissionViewAuditLog
	g := srv.AddGuild(discordtest.GuildOptions{Name: "No Audit Log", BotPermissions: &perms})
	addr := freePort(t)
	dir := initDir(t)
	environ := withEnv(fakeEnv(srv, g), "BOT_HTTP_LISTEN="+addr)
	r := startRun(t, dir, environ, srv, g)
	defer r.stop(t)
	e := testEnv(dir, environ, &bytes.Buffer{}, &bytes.Buffer{})
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := func() (check, []check) {
		// The guild arrives just after READY.
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, w := probeReady(context.Background(), cfg)
			if len(w) > 0 || time.Now().After(deadline) {
				return c, w
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c, warnings := probe()
	if c.Status != "ok" || len(warnings) != 1 {
		t.Fatalf("ready check got=%+v, warnings %+v; want ok with one warning", c, warnings)
	}
	w := warnings[0]
	if w.Status != "warn" || !strings.Contains(w.Detail, "No Audit Log") || !strings.Contains(w.Detail, "View Audit Log") {
		t.Errorf("warning got=%+v, want the server and View Audit Log", w)
	}
	checks := runHealthChecks(context.Background(), e, "", true)
	found := false
	for _, c := range checks {
		if c.Name == "audit log" && c.Status == "warn" {
			found = true
		}
	}
	if !found {
		t.Errorf("bot health got=%+v, want an audit log warning", checks)
	}

	g.BotRole().SetPermissions(discordtest.DefaultBotPermissions)
	g.BotRole().SendUpdate()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, w := probeReady(context.Background(), cfg); len(w) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the warning stayed after View Audit Log was granted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
