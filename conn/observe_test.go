package conn

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// recordingObserver keeps what the connection reports, for the tests.
type recordingObserver struct {
	mu         sync.Mutex
	connected  []bool
	latencies  int
	reconnects []string
	requests   []string // "route status"
	limited    []string
}

func (o *recordingObserver) GatewayConnected(up bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.connected = append(o.connected, up)
}

func (o *recordingObserver) GatewayLatency(time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.latencies++
}

func (o *recordingObserver) Reconnected(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reconnects = append(o.reconnects, kind)
}

func (o *recordingObserver) RESTRequest(route string, status int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, route+" "+http.StatusText(status))
}

func (o *recordingObserver) RateLimited(scope string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.limited = append(o.limited, scope)
}

// waitFor polls cond, under o's lock, for up to 10 seconds.
func (o *recordingObserver) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		ok := cond()
		o.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestObserverREST: each response is reported under its route template,
// never the filled-in path, with its status; a 429 with its scope.
func TestObserverREST(t *testing.T) {
	r, lim, srv := newTestREST(t, 10*time.Second)
	obs := &recordingObserver{}
	lim.obs = obs
	g := srv.AddGuild(discordtest.GuildOptions{})
	srv.FailNext("GET", "/users/@me", http.StatusBadGateway, 1)
	if _, err := r.GetCurrentUser("", ctx10s(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetGuild(g.ID, false, ctx10s(t)); err != nil {
		t.Fatal(err)
	}
	srv.GlobalRateLimit(discordtest.GlobalLimit{For: 200 * time.Millisecond})
	if _, err := r.GetCurrentUser("", ctx10s(t)); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := []string{"GET /users/@me Bad Gateway", "GET /users/@me OK", "GET /guilds/{guild.id} OK",
		"GET /users/@me Too Many Requests", "GET /users/@me OK"}
	if !slices.Equal(obs.requests, want) {
		t.Errorf("requests got=%q, want %q", obs.requests, want)
	}
	for _, rq := range obs.requests {
		if strings.Contains(rq, g.ID.String()) {
			t.Errorf("route %q holds an ID", rq)
		}
	}
	if !slices.Equal(obs.limited, []string{"global"}) {
		t.Errorf("rate limits got=%q, want [global]", obs.limited)
	}
}

// TestObserverGateway: the session is reported up when ready, down when
// the connection drops, and a resume after the drop as a reconnect; the
// first session of the process is none.
func TestObserverGateway(t *testing.T) {
	srv := discordtest.NewServer(discordtest.WithHeartbeatInterval(100 * time.Millisecond))
	t.Cleanup(srv.Close)
	obs := &recordingObserver{}
	open(t, srv, Options{Observer: obs}, nil)
	obs.waitFor(t, "the session up", func() bool { return slices.Contains(obs.connected, true) })
	// Each acknowledged heartbeat reports its round trip.
	if err := srv.WaitHeartbeat(t.Context()); err != nil {
		t.Fatal(err)
	}
	obs.waitFor(t, "a heartbeat's latency", func() bool { return obs.latencies > 0 })
	obs.mu.Lock()
	if len(obs.reconnects) != 0 {
		t.Errorf("reconnects after the first session got=%q, want none", obs.reconnects)
	}
	obs.mu.Unlock()
	srv.DropGateway()
	obs.waitFor(t, "a resume", func() bool { return slices.Equal(obs.reconnects, []string{ReconnectResume}) })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if i := slices.Index(obs.connected, false); i < 0 || !slices.Contains(obs.connected[i:], true) {
		t.Errorf("connected got=%v, want down after the drop, then up", obs.connected)
	}
}
