package conn

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
)

// Gateway opcodes as discordtest records them.
const (
	opIdentify = 2
	opResume   = 6
)

func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("BOT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// sent counts the frames with op that the bot sent.
func sent(srv *discordtest.Server, op int) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == op {
			n++
		}
	}
	return n
}

// sentAt lists when the bot sent the frames with op.
func sentAt(srv *discordtest.Server, op int) []time.Time {
	var at []time.Time
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == op {
			at = append(at, m.Time)
		}
	}
	return at
}

// idLog keeps IDs a Client reported, safe for its goroutines.
type idLog struct {
	mu  sync.Mutex
	ids []snowflake.ID
}

func (r *idLog) addID(id snowflake.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *idLog) has(id snowflake.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.ids, id)
}

func (r *idLog) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// recorder keeps the IDs of the interactions a Client received.
type recorder struct{ idLog }

func (r *recorder) add(i discord.Interaction) { r.addID(i.ID()) }

// interaction is a minimal /ping as a direct message, enough for disgo to
// parse and pass on.
func interaction(srv *discordtest.Server, id string) map[string]any {
	return map[string]any{
		"id": id, "application_id": srv.ApplicationID().String(), "type": 2, "token": "tok-" + id, "version": 1,
		"user": map[string]any{"id": "400000000000000001", "username": "mod"},
		"data": map[string]any{"id": "500000000000000002", "name": "ping", "type": 1},
	}
}

// open connects a Client to srv with opts (Token, URLs and Logger filled
// in) and waits for it to be ready.
func open(t *testing.T, srv *discordtest.Server, opts Options, rec *recorder) *Client {
	t.Helper()
	opts.Token, opts.APIURL, opts.GatewayURL, opts.Logger = srv.Token(), srv.APIURL(), srv.GatewayURL(), testLog(t)
	if opts.InvalidSessionDelay == nil {
		opts.InvalidSessionDelay = func() time.Duration { return 10 * time.Millisecond }
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		c.OnInteraction(rec.add)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

// stopped connects a Client that keeps its session, closes it as 'bot run'
// does at shutdown, and returns the session it left.
func stopped(t *testing.T, srv *discordtest.Server) Session {
	t.Helper()
	c := open(t, srv, Options{KeepSession: true}, nil)
	c.Close(context.Background())
	s, ok := c.Session()
	if !ok {
		t.Fatal("no resumable session after Close with KeepSession")
	}
	return s
}

// TestRestartResumes: a new process given the saved session RESUMEs it
// (no second IDENTIFY) and gets the events sent while no process ran.
func TestRestartResumes(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGuild(discordtest.GuildOptions{})
	s := stopped(t, srv)
	if strings.Contains(s.ID+s.ResumeURL, srv.Token()) {
		t.Fatal("the saved session holds the token")
	}
	srv.Dispatch("INTERACTION_CREATE", interaction(srv, "700000000000000001"))

	rec := &recorder{}
	c := open(t, srv, Options{Session: &s}, rec)
	if n := sent(srv, opIdentify); n != 1 {
		t.Errorf("IDENTIFYs got=%d, want 1 (the restart resumes)", n)
	}
	if n := sent(srv, opResume); n != 1 {
		t.Errorf("RESUMEs got=%d, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !rec.has(700000000000000001) {
		if time.Now().After(deadline) {
			t.Fatal("the interaction sent while the bot was down was not replayed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c.ID() != srv.BotUserID() {
		t.Errorf("ID after resuming got=%s, want %s", c.ID(), srv.BotUserID())
	}
}

// TestRestartIdentifies: a saved session that cannot be resumed is not
// tried (too old, another bot) or, when Discord refuses it, gives way to
// IDENTIFY.
func TestRestartIdentifies(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Session)
		resumes int
	}{
		{"OlderThanWindow", func(s *Session) { s.SavedAt = s.SavedAt.Add(-ResumeWindow - time.Second) }, 0},
		{"AnotherBot", func(s *Session) { s.ApplicationID++ }, 0},
		// A session of an older build, without GUILD_MODERATION, would
		// keep its intents: no audit-log entries until the next IDENTIFY.
		{"OtherIntents", func(s *Session) { s.Intents = gateway.IntentGuilds }, 0},
		{"SavedBeforeIntents", func(s *Session) { s.Intents = 0 }, 0},
		// A session Discord no longer knows is answered INVALID_SESSION.
		{"RefusedByDiscord", func(s *Session) { s.ID = "fake-session-gone" }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := discordtest.NewServer()
			t.Cleanup(srv.Close)
			srv.AddGuild(discordtest.GuildOptions{})
			s := stopped(t, srv)
			tt.change(&s)
			before := sent(srv, opIdentify)
			open(t, srv, Options{Session: &s}, nil)
			if n := sent(srv, opIdentify) - before; n != 1 {
				t.Errorf("IDENTIFYs got=%d, want 1", n)
			}
			if n := sent(srv, opResume); n != tt.resumes {
				t.Errorf("RESUMEs got=%d, want %d", n, tt.resumes)
			}
		})
	}
}

// TestCloseCodes: 4007 and 4009 end the session, so the bot identifies
// again; 4004 and 4010 to 4014 stop it with advice, without another
// IDENTIFY.
func TestCloseCodes(t *testing.T) {
	tests := []struct {
		code   int
		advice string // empty: reconnects with a new session
	}{
		{4007, ""},
		{4009, ""},
		{4004, "copy it again"},
		{4010, "invalid shard"},
		{4011, "too many servers"},
		{4012, "API version"},
		{4013, "invalid intents"},
		{4014, "enable them"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			srv := discordtest.NewServer()
			t.Cleanup(srv.Close)
			srv.AddGuild(discordtest.GuildOptions{})
			// Several IDENTIFYs per window, so that the new one is not held.
			srv.SetSessionStartLimit(900, time.Hour, 16)
			c := open(t, srv, Options{}, nil)
			srv.CloseGatewayCode(tt.code)
			if tt.advice == "" {
				deadline := time.Now().Add(10 * time.Second)
				for sent(srv, opIdentify) < 2 || !c.Ready() {
					if time.Now().After(deadline) {
						t.Fatalf("no new IDENTIFY after close %d", tt.code)
					}
					time.Sleep(10 * time.Millisecond)
				}
				if n := sent(srv, opResume); n != 0 {
					t.Errorf("RESUMEs got=%d, want 0: the session ended", n)
				}
				return
			}
			select {
			case err := <-c.Fatal():
				if !strings.Contains(err.Error(), tt.advice) {
					t.Errorf("error got=%q, want advice containing %q", err, tt.advice)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("close %d did not stop the connection", tt.code)
			}
			time.Sleep(300 * time.Millisecond)
			if n := sent(srv, opIdentify) + sent(srv, opResume); n != 1 {
				t.Errorf("IDENTIFY and RESUME got=%d, want only the first IDENTIFY", n)
			}
		})
	}
}

// TestReadyNeverComes: when IDENTIFY gets no READY, the connection is
// tried again, with a longer pause each time, until READY comes.
func TestReadyNeverComes(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGuild(discordtest.GuildOptions{})
	srv.SetSessionStartLimit(900, time.Hour, 16)
	srv.WithholdReady(2)
	open(t, srv, Options{ReadyTimeout: 200 * time.Millisecond}, nil)
	at := sentAt(srv, opIdentify)
	if len(at) != 3 {
		t.Fatalf("IDENTIFYs got=%d, want 3 (2 unanswered)", len(at))
	}
	// Each gap is the ready timeout plus the backoff: 1s, then 2s.
	for i := 2; i < len(at); i++ {
		prev, gap := at[i-1].Sub(at[i-2]), at[i].Sub(at[i-1])
		if gap < prev+500*time.Millisecond {
			t.Errorf("gap before IDENTIFY %d got=%s after %s, want it to grow", i+1, gap, prev)
		}
	}
}

// TestStartLimitUsedUp: with no session starts left, the Client waits for
// the reset before it identifies, and says so.
func TestStartLimitUsedUp(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGuild(discordtest.GuildOptions{})
	const reset = 1500 * time.Millisecond
	srv.SetSessionStartLimit(0, reset, 1)
	var mu sync.Mutex
	var waits []time.Time
	start := time.Now()
	open(t, srv, Options{OnStartLimitWait: func(until time.Time, _ string) {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, until)
	}}, nil)
	if n := srv.OverLimitIdentifies(); n != 0 {
		t.Errorf("IDENTIFYs over the limit got=%d, want 0", n)
	}
	if at := sentAt(srv, opIdentify); len(at) != 1 || at[0].Sub(start) < reset-200*time.Millisecond {
		t.Errorf("IDENTIFY at %v after start, want one after about %s", at, reset)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 || waits[0].Sub(start) < reset-200*time.Millisecond || !waits[1].IsZero() {
		t.Errorf("OnStartLimitWait got=%v, want the reset time, then zero", waits)
	}
}

// TestCrashBackoff: the first restarts go ahead; from the third unclean
// start within CrashWindow the pause doubles, up to its cap.
func TestCrashBackoff(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, now.Add(-d))
		}
		return out
	}
	tests := []struct {
		name  string
		start []time.Time
		want  time.Duration
	}{
		{"None", nil, 0},
		{"Two", ago(time.Minute, 2*time.Minute), 0},
		{"Three", ago(time.Minute, 2*time.Minute, 3*time.Minute), 10 * time.Second},
		{"Four", ago(1*time.Minute, 2*time.Minute, 3*time.Minute, 4*time.Minute), 20 * time.Second},
		{"OldOnesForgotten", ago(time.Minute, CrashWindow+time.Second, CrashWindow+time.Minute), 0},
		{"Capped", ago(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22), crashMaxWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := CrashBackoff(tt.start, now); got != tt.want {
				t.Errorf("got=%s, want %s", got, tt.want)
			}
		})
	}
}

// TestIdentifyDelay: the crash-loop pause holds back an IDENTIFY, and is
// reported, but not a RESUME, which spends no session start.
func TestIdentifyDelay(t *testing.T) {
	const delay = 400 * time.Millisecond
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGuild(discordtest.GuildOptions{})
	s := stopped(t, srv)

	start := time.Now()
	open(t, srv, Options{Session: &s, IdentifyDelay: delay}, nil)
	if took := time.Since(start); took >= delay {
		t.Errorf("resuming took %s, want no crash-loop pause", took)
	}

	var why []string
	start = time.Now()
	open(t, srv, Options{IdentifyDelay: delay, OnStartLimitWait: func(_ time.Time, w string) { why = append(why, w) }}, nil)
	at := sentAt(srv, opIdentify)
	if got := at[len(at)-1].Sub(start); got < delay {
		t.Errorf("IDENTIFY after %s, want after the %s pause", got, delay)
	}
	if len(why) != 2 || !strings.Contains(why[0], "loop") {
		t.Errorf("OnStartLimitWait reasons got=%q, want the loop, then none", why)
	}
}
