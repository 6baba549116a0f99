package bot

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdown: an interaction in flight when the signal comes is
// finished before Run returns, and one that arrives during the shutdown is
// told the bot is restarting instead of being dropped.
func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t)
	const callback = "/interactions/{interaction_id}/{interaction_token}/callback"
	// Hold the first /ping's answer in flight for a while.
	h.srv.Delay("POST", callback, 700*time.Millisecond)

	answered := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in, err := h.srv.InvokeSlash(ctx, h.guild, h.member, "ping", nil)
		if err != nil {
			answered <- "error: " + err.Error()
			return
		}
		answered <- in.Content
	}()
	waitUntil(t, "the /ping is in flight", func() bool { return h.bot.inflightCount() > 0 })

	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	waitUntil(t, "the bot is closing", h.bot.closing.Load)
	h.srv.Delay("POST", callback, 0)

	// A new interaction during shutdown gets a polite refusal.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	late, err := h.srv.InvokeSlash(ctx, h.guild, h.other, "ping", nil)
	if err != nil {
		t.Fatalf("interaction during shutdown: %v", err)
	}
	if !strings.Contains(late.Content, "restarting") {
		t.Errorf("late interaction got=%q, want the restarting notice", late.Content)
	}

	if err := <-stopped; err != nil {
		t.Errorf("Run returned %v after a graceful shutdown", err)
	}
	if got := <-answered; !strings.HasPrefix(got, "Pong!") {
		t.Errorf("in-flight /ping got=%q, want it answered before shutdown finished", got)
	}
}
