package conn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/rest"

	"github.com/modbot/bot/discordtest"
)

// newTestClient returns a Client of a fresh discordtest server; it does
// not connect the gateway, which REST calls do not need.
func newTestClient(t *testing.T) (*Client, *discordtest.Server) {
	t.Helper()
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGuild(discordtest.GuildOptions{})
	c, err := New(Options{Token: srv.Token(), APIURL: srv.APIURL(), GatewayURL: srv.GatewayURL(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c, srv
}

// TestDeadlineGuard covers disgo v0.18.15's rate limiter trap: a call whose
// deadline ends while its route's bucket is locked leaves the bucket locked
// for good. The Client's REST turns every deadline into a cancellation,
// which the limiter handles, so the route recovers. PlainClient shows the
// trap itself with disgo's own client, so that this test fails if the guard
// stops mattering (for example after a disgo upgrade fixes it).
func TestDeadlineGuard(t *testing.T) {
	short := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 100*time.Millisecond)
	}
	// later makes a call allowed 4 seconds (the limit resets after 2).
	later := func(r rest.Rest) error {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		_, err := r.GetCurrentUser("", rest.WithCtx(ctx))
		return err
	}
	exhaust := func(t *testing.T, r rest.Rest, srv *discordtest.Server) {
		srv.RateLimit("GET", "/users/@me", 1, 2*time.Second)
		if _, err := r.GetCurrentUser("", rest.WithCtx(context.Background())); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Client", func(t *testing.T) {
		c, srv := newTestClient(t)
		r := c.Rest()
		exhaust(t, r, srv)
		ctx, cancel := short()
		defer cancel()
		if _, err := r.GetCurrentUser("", rest.WithCtx(ctx)); err == nil {
			t.Fatal("the short call succeeded; want it cancelled while the bucket is exhausted")
		}
		if err := later(r); err != nil {
			t.Errorf("a normal call after the reset failed: %v", err)
		}
	})
	t.Run("PlainClient", func(t *testing.T) {
		_, srv := newTestClient(t)
		r := rest.New(rest.NewClient(srv.Token(), rest.WithURL(srv.APIURL())))
		exhaust(t, r, srv)
		ctx, cancel := short()
		defer cancel()
		if _, err := r.GetCurrentUser("", rest.WithCtx(ctx)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("short call error got=%v, want DeadlineExceeded", err)
		}
		if err := later(r); err == nil {
			t.Error("the route recovered after a plain deadline; the deadline guard may no longer be needed")
		}
	})
}

// TestCheckToken: a token Discord accepts names the bot; one it refuses
// says what to do.
func TestCheckToken(t *testing.T) {
	_, srv := newTestClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := CheckToken(ctx, srv.APIURL(), srv.Token()); err != nil {
		t.Errorf("a good token: %v", err)
	}
	if _, err := CheckToken(ctx, srv.APIURL(), "MTIz.wrong.secret"); err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("a wrong token got=%v, want an error saying it was rejected", err)
	}
}
