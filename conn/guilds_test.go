package conn

import (
	"context"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// readyGuilds counts the guilds a Client reported to OnGuildReady.
type readyGuilds struct{ idLog }

// openWithReady connects a Client with opts that reports to r, and waits
// until it is ready.
func openWithReady(t *testing.T, srv *discordtest.Server, opts Options, r *readyGuilds) *Client {
	t.Helper()
	opts.Token, opts.APIURL, opts.GatewayURL, opts.Logger = srv.Token(), srv.APIURL(), srv.GatewayURL(), testLog(t)
	opts.InvalidSessionDelay = func() time.Duration { return 10 * time.Millisecond }
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.OnGuildReady(r.addID)
	t.Cleanup(func() { c.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGuildReadyOnNewSession: OnGuildReady hears of each guild after every
// IDENTIFY (the first, and one after Discord invalidated the session), and
// of none after a RESUME, within the process or by the next one.
func TestGuildReadyOnNewSession(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	g := srv.AddGuild(discordtest.GuildOptions{})
	r := &readyGuilds{}
	c := openWithReady(t, srv, Options{KeepSession: true}, r)
	waitFor(t, "the guild after READY", func() bool { return r.count() == 1 })
	if r.ids[0] != g.ID {
		t.Errorf("guild got=%s, want %s", r.ids[0], g.ID)
	}

	srv.SendReconnect()
	waitFor(t, "a RESUME", func() bool { return sent(srv, opResume) == 1 && c.Ready() })
	srv.InvalidateSession(false)
	waitFor(t, "a second IDENTIFY", func() bool { return sent(srv, opIdentify) == 2 })
	waitFor(t, "the guild after the second READY", func() bool { return r.count() == 2 })

	c.Close(context.Background())
	s, ok := c.Session()
	if !ok {
		t.Fatal("no resumable session after Close with KeepSession")
	}
	next := &readyGuilds{}
	c2 := openWithReady(t, srv, Options{Session: &s}, next)
	waitFor(t, "the next process resumed", func() bool { return sent(srv, opResume) == 2 && c2.Ready() })
	// A round trip through the gateway: a GUILD_CREATE would have come
	// before the answer.
	const opHeartbeat = 1
	beats := sent(srv, opHeartbeat)
	srv.RequestHeartbeat()
	waitFor(t, "a heartbeat", func() bool { return sent(srv, opHeartbeat) > beats })
	if n := r.count() + next.count(); n != 2 {
		t.Errorf("guilds reported got=%d, want 2 (none after a RESUME)", n)
	}
}
