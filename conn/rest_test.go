package conn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/internal/resterr"
)

// newTestREST returns the REST client New builds, with a short timeout
// and backoff, against a fresh discordtest server.
func newTestREST(t *testing.T, timeout time.Duration) (rest.Rest, *limiter, *discordtest.Server) {
	t.Helper()
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	log := slog.New(slog.DiscardHandler)
	c, lim := newRESTClient(restConfig{token: srv.Token(), apiURL: srv.APIURL(), log: log, quiet: log,
		timeout: timeout, backoff: 20 * time.Millisecond})
	t.Cleanup(func() { c.Close(context.Background()) })
	return rest.New(c), lim, srv
}

func ctx10s(t *testing.T) rest.RequestOpt {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return rest.WithCtx(ctx)
}

// TestGlobalRateLimit: after a global 429, whichever form it takes, every
// route waits out the limit: Discord sees exactly one refused request, and
// both calls, on different routes, succeed once it is over.
func TestGlobalRateLimit(t *testing.T) {
	const limit = time.Second
	tests := []struct {
		name  string
		limit discordtest.GlobalLimit
	}{
		{"Discord", discordtest.GlobalLimit{For: limit}},
		{"DiscordNoRetryAfter", discordtest.GlobalLimit{For: limit, NoRetryAfter: true}},
		{"Cloudflare", discordtest.GlobalLimit{For: limit, Cloudflare: true}},
		{"CloudflareNoRetryAfter", discordtest.GlobalLimit{For: limit, Cloudflare: true, NoRetryAfter: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, lim, srv := newTestREST(t, 10*time.Second)
			lim.pauseMu.Lock()
			lim.pauseNext = 1500 * time.Millisecond // the default pause, shortened
			lim.pauseMu.Unlock()
			g := srv.AddGuild(discordtest.GuildOptions{})
			srv.GlobalRateLimit(tt.limit)
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Go(func() { _, errs[0] = r.GetCurrentUser("", ctx10s(t)) })
			time.Sleep(100 * time.Millisecond) // the first call meets the limit
			wg.Go(func() { _, errs[1] = r.GetGuild(g.ID, false, ctx10s(t)) })
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("got=%v, want both calls to succeed after the limit", err)
			}
			if n := len(srv.GlobalLimited()); n != 1 {
				t.Errorf("requests refused by the global limit got=%d, want 1", n)
			}
			for _, rq := range srv.Requests() {
				if rq.Status == http.StatusOK && rq.Time.Sub(start) < limit {
					t.Errorf("%s %s sent %v into a global limit of %v", rq.Method, rq.Path, rq.Time.Sub(start), limit)
				}
			}
		})
	}
}

// TestServerErrorRetry: a burst of 5xx is ridden out for a repeatable
// request, a longer one ends in the error after a bounded number of
// tries, and a POST, which may have taken effect, is sent once.
func TestServerErrorRetry(t *testing.T) {
	t.Run("BurstGET", func(t *testing.T) {
		r, _, srv := newTestREST(t, 10*time.Second)
		srv.FailNext("GET", "/users/@me", http.StatusBadGateway, 1)
		srv.FailNext("GET", "/users/@me", http.StatusServiceUnavailable, 1)
		srv.FailNext("GET", "/users/@me", http.StatusInternalServerError, 1)
		if _, err := r.GetCurrentUser("", ctx10s(t)); err != nil {
			t.Fatalf("got=%v, want success after the burst", err)
		}
		if n := len(srv.RequestsTo("GET", "/users/@me")); n != 4 {
			t.Errorf("requests got=%d, want 4", n)
		}
	})
	t.Run("LongOutage", func(t *testing.T) {
		r, _, srv := newTestREST(t, 10*time.Second)
		srv.FailNext("GET", "/users/@me", http.StatusServiceUnavailable, 100)
		_, err := r.GetCurrentUser("", ctx10s(t))
		if resterr.Status(err) != http.StatusServiceUnavailable {
			t.Fatalf("got=%v, want the 503", err)
		}
		if n := len(srv.RequestsTo("GET", "/users/@me")); n != 1+serverErrorRetries {
			t.Errorf("requests got=%d, want %d", n, 1+serverErrorRetries)
		}
	})
	t.Run("POSTOnce", func(t *testing.T) {
		r, _, srv := newTestREST(t, 10*time.Second)
		u := srv.AddGuild(discordtest.GuildOptions{}).AddMember(discordtest.MemberOptions{Username: "member"})
		srv.FailNext("POST", "/users/@me/channels", http.StatusInternalServerError, 1)
		_, err := r.CreateDMChannel(u.ID, ctx10s(t))
		if resterr.Status(err) != http.StatusInternalServerError {
			t.Fatalf("got=%v, want the 500", err)
		}
		if n := len(srv.RequestsTo("POST", "/users/@me/channels")); n != 1 {
			t.Errorf("requests got=%d, want 1: a POST may have taken effect", n)
		}
	})
}

// TestHungRequest: a request the server never answers fails at the
// transport's timeout, and its route works again at once.
func TestHungRequest(t *testing.T) {
	r, _, srv := newTestREST(t, 300*time.Millisecond)
	srv.Delay("GET", "/users/@me", time.Minute)
	start := time.Now()
	if _, err := r.GetCurrentUser("", ctx10s(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got=%v, want the timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v, want about the 300 ms timeout", took)
	}
	srv.Delay("GET", "/users/@me", 0)
	if _, err := r.GetCurrentUser("", ctx10s(t)); err != nil {
		t.Fatalf("the route after a hung call: %v", err)
	}
}

// TestTokenBucketsForgotten: the buckets of interaction tokens go once
// their requests are done, whatever the answer; one that Discord says is
// exhausted stays until its reset, and meanwhile its requests wait.
func TestTokenBucketsForgotten(t *testing.T) {
	r, lim, srv := newTestREST(t, 10*time.Second)
	for i := range 50 {
		token := fmt.Sprintf("made-up-interaction-token-%d", i)
		_ = r.CreateInteractionResponse(snowflake.ID(1000+i), token, discord.InteractionResponse{Type: discord.InteractionResponseTypeDeferredCreateMessage}, ctx10s(t))
		_, _ = r.CreateFollowupMessage(srv.ApplicationID(), token, discord.MessageCreate{Content: "x"}, ctx10s(t))
	}
	if n := lim.tokenBuckets(); n != 0 {
		t.Errorf("token buckets after the calls got=%d, want 0", n)
	}

	srv.RateLimit("POST", "/webhooks/{webhook_id}/{webhook_token}", 1, time.Second)
	start := time.Now()
	for range 2 {
		_, _ = r.CreateFollowupMessage(srv.ApplicationID(), "one-token-for-two", discord.MessageCreate{Content: "x"}, ctx10s(t))
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("two follow-ups on an exhausted bucket took %v, want the second to wait for the reset", took)
	}
	for _, rq := range srv.RequestsTo("POST", "/webhooks/{webhook_id}/{webhook_token}") {
		if rq.Status == http.StatusTooManyRequests {
			t.Errorf("a follow-up was sent into its exhausted bucket")
		}
	}
	if n := lim.tokenBuckets(); n != 0 {
		t.Errorf("token buckets after the reset got=%d, want 0", n)
	}
}
