package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
)

// TestRestoreRoundTripThroughTheBot: what moderators see through the bot
// after a backup and restore is exactly what they saw before, even though
// more was recorded in between.
func TestRestoreRoundTripThroughTheBot(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	mods := g.AddRole("Mods", discord.PermissionModerateMembers, 5)
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{mods}})
	member := g.AddMember(discordtest.MemberOptions{Username: "member"})
	dir := initDir(t)
	environ := fakeEnv(srv, g)

	invoke := func(command string, opts discordtest.Options) *discordtest.Interaction {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in, err := srv.InvokeSlash(ctx, g, mod, command, opts)
		if err != nil {
			t.Fatalf("/%s: %v", command, err)
		}
		return in
	}
	history := func() string {
		t.Helper()
		in := invoke("warnings", discordtest.Options{"user": member, "all": true})
		b, err := json.Marshal(in.Embeds)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	r := startRun(t, dir, environ, srv, g)
	invoke("warn", discordtest.Options{"user": member, "reason": "first", "points": 2})
	invoke("warn", discordtest.Options{"user": member, "reason": "second"})
	invoke("note", discordtest.Options{"user": member, "text": "a note"})
	invoke("unwarn", discordtest.Options{"case": 1, "reason": "appeal"})
	before := history()
	r.stop(t)

	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := runCLI(t, dir, nil, "backup", backup); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}

	r = startRun(t, dir, environ, srv, g)
	invoke("warn", discordtest.Options{"user": member, "reason": "after the backup"})
	if history() == before {
		t.Fatal("the history did not change after the backup; the test would prove nothing")
	}
	r.stop(t)

	if code, out, errOut := runCLI(t, dir, nil, "restore", backup); code != exitOK {
		t.Fatalf("restore: exit %d: %s %s", code, out, errOut)
	}
	r = startRun(t, dir, environ, srv, g)
	defer r.stop(t)
	if after := history(); after != before {
		t.Errorf("history after restore differs:\nbefore: %s\nafter:  %s", before, after)
	}
	if !strings.Contains(before, "second") {
		t.Errorf("history %s lacks the second warning", before)
	}
}
