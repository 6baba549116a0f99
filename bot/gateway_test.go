package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/rest"

	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/discordtest"
)

// Gateway opcodes as the fake records them.
const (
	opHeartbeat = 1
	opIdentify  = 2
	opResume    = 6
)

// countInbound counts the frames with op that the bot sent.
func countInbound(srv *discordtest.Server, op int) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == op {
			n++
		}
	}
	return n
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pingOK(t *testing.T, h *harness) {
	t.Helper()
	in := h.slash(h.member, "ping", nil)
	if !strings.HasPrefix(in.Content, "Pong!") {
		t.Fatalf("/ping got=%q, want a Pong", in.Content)
	}
}

// TestResumeAfterDrop: an interaction created while the connection is down
// is replayed on RESUME and answered.
func TestResumeAfterDrop(t *testing.T) {
	h := newHarness(t)
	h.srv.DropGateway()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pingOK(t, h)
	}()
	wg.Wait()
	waitUntil(t, "the bot resumed", func() bool { return countInbound(h.srv, opResume) == 1 })
	if n := countInbound(h.srv, opIdentify); n != 1 {
		t.Errorf("IDENTIFY count got=%d, want 1 (the session was resumed, not replaced)", n)
	}
	waitUntil(t, "the bot is ready again", h.bot.Ready)
	pingOK(t, h)
}

func TestReconnectRequest(t *testing.T) {
	h := newHarness(t)
	h.srv.SendReconnect()
	waitUntil(t, "the bot resumed", func() bool { return countInbound(h.srv, opResume) == 1 })
	waitUntil(t, "the bot is ready again", h.bot.Ready)
	pingOK(t, h)
}

// TestReidentifyAfterInvalidSession: a session Discord will not resume is
// replaced by a new IDENTIFY.
func TestReidentifyAfterInvalidSession(t *testing.T) {
	h := newHarness(t, withConnOptions(func(o *conn.Options) {
		o.InvalidSessionDelay = func() time.Duration { return 10 * time.Millisecond }
	}))
	h.srv.InvalidateSession(false)
	waitUntil(t, "the bot identified again", func() bool { return countInbound(h.srv, opIdentify) == 2 })
	waitUntil(t, "the bot is ready again", h.bot.Ready)
	if n := countInbound(h.srv, opResume); n != 0 {
		t.Errorf("RESUME count got=%d, want 0 after a non-resumable invalid session", n)
	}
	pingOK(t, h)
}

// TestZombieConnection: when heartbeats stop being acknowledged the bot
// reconnects and resumes, having sent at most one unanswered heartbeat (so
// it noticed within two heartbeat intervals).
func TestZombieConnection(t *testing.T) {
	const interval = 100 * time.Millisecond
	h := newHarness(t, withServerOptions(discordtest.WithHeartbeatInterval(interval)))
	waitUntil(t, "a heartbeat was acknowledged", func() bool { return countInbound(h.srv, opHeartbeat) >= 2 })
	h.srv.StopHeartbeatACKs(true)
	before := countInbound(h.srv, opHeartbeat)
	// At least once: with ACKs still stopped, a resumed session can go
	// zombie again before this poll looks, and resume a second time.
	waitUntil(t, "the bot reconnected", func() bool { return countInbound(h.srv, opResume) >= 1 })
	h.srv.StopHeartbeatACKs(false)
	// One heartbeat may have been in flight when ACKs stopped; the next one
	// goes unanswered; the tick after that reconnects instead of beating.
	var unanswered int
	for _, m := range h.srv.GatewayMessages() {
		if m.Inbound && m.Op == opResume {
			break
		}
		if m.Inbound && m.Op == opHeartbeat {
			unanswered++
		}
	}
	if unanswered-before > 2 {
		t.Errorf("heartbeats sent after ACKs stopped got=%d, want at most 2", unanswered-before)
	}
	waitUntil(t, "the bot is ready again", h.bot.Ready)
	pingOK(t, h)
}

func TestFatalCloseStopsRun(t *testing.T) {
	h := newHarness(t)
	h.srv.CloseGateway(4004, "Authentication failed.")
	select {
	case err := <-h.done:
		h.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "rejected the token") {
			t.Errorf("Run error got=%v, want one about the token", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after a fatal close code")
	}
}

// TestRateLimitRetried: a 429 with Retry-After is waited out and retried.
func TestRateLimitRetried(t *testing.T) {
	h := newHarness(t)
	// A limit of 0 answers the first call with 429 and Retry-After: 1.
	h.srv.RateLimit("GET", "/users/@me", 0, time.Second)
	if _, err := h.conn.Rest().GetCurrentUser("", rest.WithCtx(context.Background())); err != nil {
		t.Fatalf("the call failed instead of waiting out the 429: %v", err)
	}
	var statuses []int
	for _, req := range h.srv.RequestsTo("GET", "/users/@me") {
		statuses = append(statuses, req.Status)
	}
	if len(statuses) < 2 || statuses[0] != 429 || statuses[len(statuses)-1] != 200 {
		t.Errorf("statuses got=%v, want 429, then 200", statuses)
	}
	saw429 := false
	for _, s := range statuses {
		saw429 = saw429 || s == 429
	}
	if !saw429 {
		t.Errorf("statuses got=%v, want a 429 that was retried", statuses)
	}
}

// TestWrongToken: a token Discord refuses (close 4004) stops Run with an
// error that says what to do, instead of reconnecting forever.
func TestWrongToken(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	srv.AddGuild(discordtest.GuildOptions{})
	app, _, _ := strings.Cut(srv.Token(), ".")
	c, err := conn.New(conn.Options{
		Token:      app + ".wrong.secret",
		APIURL:     srv.APIURL(),
		GatewayURL: srv.GatewayURL(),
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Connection: c, Logger: testLogger(t), Stores: NewStores(openTestStorage(t))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = b.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "rejected the token") {
		t.Errorf("Run got=%v, want an error saying the token was rejected", err)
	}
	if n := countInbound(srv, opIdentify); n != 1 {
		t.Errorf("IDENTIFY count got=%d, want 1 (4004 is final)", n)
	}
}
