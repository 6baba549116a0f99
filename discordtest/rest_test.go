package discordtest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/json"
)

func TestSpecValidation(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})
	client := newBot(t, srv, nil) // registers testCommands: disgo's bodies pass
	expectNoViolations(t, srv)

	bad := json.RawMessage(`[{"type":1,"name":"ban","description":42}]`)
	err := client.Rest().Do(rest.SetGlobalCommands.Compile(nil, srv.ApplicationID()), bad, nil)
	if restCode(err) != 50035 {
		t.Fatalf("got=%v, want 50035", err)
	}
	vs := srv.Violations()
	if len(vs) != 1 || vs[0].Kind != ViolationSpec || !strings.Contains(vs[0].Detail, "description") {
		t.Fatalf("violations got=%v", vs)
	}
	// The rejected registration changed nothing.
	if got := len(srv.Commands(0)); got != len(testCommands) {
		t.Errorf("commands got=%d, want %d", got, len(testCommands))
	}
}

func TestSpecAcceptsDigitStrings(t *testing.T) {
	sp, err := loadSpec(SpecPath())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		ok                       bool
	}{
		{"OK", "PUT", "/guilds/{guild_id}/bans/{user_id}", `{"delete_message_seconds":86400}`, true},
		{"OKDigitString", "PUT", "/guilds/{guild_id}/bans/{user_id}", `{"delete_message_seconds":"86400"}`, true},
		{"ErrWord", "PUT", "/guilds/{guild_id}/bans/{user_id}", `{"delete_message_seconds":"a day"}`, false},
		{"ErrType", "POST", "/channels/{channel_id}/messages", `{"content":5}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sp.validate(tt.method, tt.path, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("got=%v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRateLimitRetry(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	ch := g.Channels()[0]
	client := newBot(t, srv, nil)
	srv.RateLimit("POST", "/channels/{channel_id}/messages", 0, time.Second)
	start := time.Now()
	_, err := client.Rest().CreateMessage(ch.ID, discord.MessageCreate{Content: "hi", AllowedMentions: &discord.AllowedMentions{}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %s, want about 1s", d)
	}
	reqs := srv.RequestsTo("POST", "/channels/{channel_id}/messages")
	if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 {
		t.Fatalf("requests got=%v", reqs)
	}
	if len(srv.Messages(ch.ID)) != 1 {
		t.Errorf("messages got=%d, want 1", len(srv.Messages(ch.ID)))
	}
	expectNoViolations(t, srv)
}

func TestFailNext(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	client := newBot(t, srv, nil)
	srv.FailNext("GET", "/guilds/{guild_id}", 502, 1)
	if _, err := client.Rest().GetGuild(g.ID, false); err == nil {
		t.Fatal("want an error")
	}
	if _, err := client.Rest().GetGuild(g.ID, false); err != nil {
		t.Fatal(err)
	}
}

func TestKick(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	target := g.AddMember(MemberOptions{Username: "spammer"})
	admin := g.AddRole("admins", discord.PermissionAdministrator, 50) // above the bot's role (10)
	boss := g.AddMember(MemberOptions{Username: "boss", Roles: []*Role{admin}})
	client := newBot(t, srv, nil)

	if err := client.Rest().RemoveMember(g.ID, target.ID, rest.WithReason("spam & abuse + more")); err != nil {
		t.Fatal(err)
	}
	if target.InGuild() {
		t.Fatal("kicked member still in the guild")
	}
	if reqs := srv.RequestsTo("DELETE", "/guilds/{guild_id}/members/{user_id}"); reqs[0].AuditLogReason != "spam & abuse + more" {
		t.Errorf("reason got=%q", reqs[0].AuditLogReason)
	}
	if _, err := client.Rest().GetMember(g.ID, target.ID); restCode(err) != 10007 {
		t.Fatalf("GetMember after kick got=%v, want 10007", err)
	}
	if err := client.Rest().RemoveMember(g.ID, boss.ID); restCode(err) != 50013 {
		t.Fatalf("kick above the bot got=%v, want 50013", err)
	}
	if err := client.Rest().RemoveMember(g.ID, g.OwnerID()); restCode(err) != 50013 {
		t.Fatalf("kick owner got=%v, want 50013", err)
	}
	expectNoViolations(t, srv)
}

func TestBanUnban(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	target := g.AddMember(MemberOptions{Username: "spammer"})
	client := newBot(t, srv, nil)

	if err := client.Rest().AddBan(g.ID, target.ID, 24*time.Hour, rest.WithReason("raid")); err != nil {
		t.Fatal(err)
	}
	if reason, ok := g.Banned(target.ID); !ok || reason != "raid" || target.InGuild() {
		t.Fatalf("Banned got=%q %v, in guild %v", reason, ok, target.InGuild())
	}
	ban, err := client.Rest().GetBan(g.ID, target.ID)
	if err != nil || ban.User.ID != target.ID {
		t.Fatalf("GetBan got=%v %v", ban, err)
	}
	if err := client.Rest().DeleteBan(g.ID, target.ID); err != nil {
		t.Fatal(err)
	}
	if err := client.Rest().DeleteBan(g.ID, target.ID); restCode(err) != 10026 {
		t.Fatalf("second unban got=%v, want 10026", err)
	}
	expectNoViolations(t, srv)
}

func TestTimeout(t *testing.T) {
	srv := newServer(t)
	noMod := discord.PermissionViewChannel | discord.PermissionSendMessages
	g := srv.AddGuild(GuildOptions{})
	weak := srv.AddGuild(GuildOptions{BotPermissions: &noMod})
	target := g.AddMember(MemberOptions{Username: "spammer"})
	other := weak.AddMember(MemberOptions{ID: target.ID})
	client := newBot(t, srv, nil)

	until := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := client.Rest().UpdateMember(g.ID, target.ID, discord.MemberUpdate{CommunicationDisabledUntil: json.NewNullablePtr(until)}); err != nil {
		t.Fatal(err)
	}
	if got, ok := target.TimedOutUntil(); !ok || !got.Equal(until) {
		t.Fatalf("TimedOutUntil got=%v %v, want %v", got, ok, until)
	}
	if _, err := client.Rest().UpdateMember(g.ID, target.ID, discord.MemberUpdate{CommunicationDisabledUntil: json.NullPtr[time.Time]()}); err != nil {
		t.Fatal(err)
	}
	if _, ok := target.TimedOutUntil(); ok {
		t.Fatal("timeout not cleared")
	}
	if _, err := client.Rest().UpdateMember(weak.ID, other.ID, discord.MemberUpdate{CommunicationDisabledUntil: json.NewNullablePtr(until)}); restCode(err) != 50013 {
		t.Fatalf("timeout without Moderate Members got=%v, want 50013", err)
	}
	expectNoViolations(t, srv)
}

func TestDMs(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	open := g.AddMember(MemberOptions{Username: "open"})
	closed := g.AddMember(MemberOptions{Username: "closed"})
	closed.CloseDMs()
	client := newBot(t, srv, nil)
	none := &discord.AllowedMentions{}

	dm, err := client.Rest().CreateDMChannel(open.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Rest().CreateMessage(dm.ID(), discord.MessageCreate{Content: "you were warned", AllowedMentions: none}); err != nil {
		t.Fatal(err)
	}
	if got := srv.DMs(open.ID); len(got) != 1 || got[0].Content != "you were warned" {
		t.Fatalf("DMs got=%v", got)
	}
	dm2, err := client.Rest().CreateDMChannel(closed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Rest().CreateMessage(dm2.ID(), discord.MessageCreate{Content: "x", AllowedMentions: none}); restCode(err) != 50007 {
		t.Fatalf("DM to closed DMs got=%v, want 50007", err)
	}
	gone := g.AddTextChannel("old")
	gone.Delete()
	if _, err := client.Rest().CreateMessage(gone.ID, discord.MessageCreate{Content: "x", AllowedMentions: none}); restCode(err) != 10003 {
		t.Fatalf("deleted channel got=%v, want 10003", err)
	}
	expectNoViolations(t, srv)
}

func TestPings(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	ch := g.Channels()[0]
	client := newBot(t, srv, nil)

	if _, err := client.Rest().CreateMessage(ch.ID, discord.MessageCreate{Content: "reason: @everyone"}); err != nil {
		t.Fatal(err)
	}
	pings := srv.Pings()
	if len(pings) != 1 || pings[0].Mentions[0] != "@everyone" {
		t.Fatalf("pings got=%v, want one @everyone", pings)
	}
	msg := discord.MessageCreate{Content: "reason: @everyone <@1> <@&2>", AllowedMentions: &discord.AllowedMentions{}}
	if _, err := client.Rest().CreateMessage(ch.ID, msg); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Pings()); got != 1 {
		t.Fatalf("pings got=%d, want still 1", got)
	}
}

func TestMessageLimits(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	ch := g.Channels()[0]
	client := newBot(t, srv, nil)
	none := &discord.AllowedMentions{}
	fields := make([]discord.EmbedField, 26)
	for i := range fields {
		fields[i] = discord.EmbedField{Name: "n", Value: "v"}
	}
	tests := []struct {
		name string
		msg  discord.MessageCreate
	}{
		{"ErrContent", discord.MessageCreate{Content: strings.Repeat("a", 2001), AllowedMentions: none}},
		{"ErrFields", discord.MessageCreate{Embeds: []discord.Embed{{Fields: fields}}, AllowedMentions: none}},
		{"ErrEmbedTotal", discord.MessageCreate{Embeds: []discord.Embed{{Description: strings.Repeat("a", 4000)}, {Description: strings.Repeat("a", 2001)}}, AllowedMentions: none}},
		{"ErrEmbeds", discord.MessageCreate{Embeds: make([]discord.Embed, 11), AllowedMentions: none}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Violations())
			if _, err := client.Rest().CreateMessage(ch.ID, tt.msg); restCode(err) != 50035 {
				t.Fatalf("got=%v, want 50035", err)
			}
			if len(srv.Violations()) != before+1 {
				t.Fatal("no violation recorded")
			}
		})
	}
}

func TestUnknownRouteAndAuth(t *testing.T) {
	srv := newServer(t)
	resp, err := http.Post(srv.APIURL()+"/users/@me/channels", "application/json", bytes.NewReader([]byte(`{"recipient_id":"1"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no token got=%d, want 401", resp.StatusCode)
	}
	resp, err = http.Get(srv.APIURL() + "/nothing/here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown route got=%d, want 404", resp.StatusCode)
	}
	kinds := map[ViolationKind]bool{}
	for _, v := range srv.Violations() {
		kinds[v.Kind] = true
	}
	if !kinds[ViolationAuth] || !kinds[ViolationUnknownRoute] {
		t.Fatalf("violations got=%v", srv.Violations())
	}
}

func TestFileUpload(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	m := g.AddMember(MemberOptions{Username: "member"})
	client := newBot(t, srv, nil)
	dm, err := client.Rest().CreateDMChannel(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := client.Rest().CreateMessage(dm.ID(), discord.MessageCreate{
		Files:           []*discord.File{discord.NewFile("export.json", "", bytes.NewReader([]byte(`{"warnings":[]}`)))},
		AllowedMentions: &discord.AllowedMentions{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Attachments) != 1 || msg.Attachments[0].Filename != "export.json" {
		t.Fatalf("attachments got=%+v", msg.Attachments)
	}
	dms := srv.DMs(m.ID)
	if len(dms) != 1 || len(dms[0].Files) != 1 || string(dms[0].Files[0].Data) != `{"warnings":[]}` {
		t.Fatalf("DMs got=%+v", dms)
	}
	expectNoViolations(t, srv)
}
