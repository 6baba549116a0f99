package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"
)

// watchdog detects a zombie gateway connection: one that stays open but no
// longer acknowledges heartbeats. disgo records heartbeat ACKs but never acts
// on their absence, so without this the bot would look connected while
// receiving nothing.
//
// disgo does not expose the heartbeat interval, so the watchdog learns it from
// the spacing of the ACKs (heartbeats are sent on a fixed ticker). A
// connection is declared dead when no ACK has arrived for one and a half
// intervals after the last one, that is, when the next heartbeat went
// unanswered: detection happens within two heartbeat intervals. Until the
// first ACK has been seen the interval is unknown and nothing is declared.
type watchdog struct {
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	since    time.Time     // when the current connection became ready
	lastAck  time.Time     // the latest ACK, zero if none on this connection
	interval time.Duration // learnt heartbeat interval, zero if unknown
	isDead   bool
	kick     chan struct{}
}

func newWatchdog(log *slog.Logger, now func() time.Time) *watchdog {
	return &watchdog{log: log, now: now, kick: make(chan struct{}, 1)}
}

// reset starts watching a new connection.
func (w *watchdog) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.since = w.now()
	w.lastAck = time.Time{}
	w.isDead = false
}

func (w *watchdog) onResumed(e *events.Resumed) { w.reset() }

func (w *watchdog) onAck(e *events.HeartbeatAck) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	prev := w.lastAck
	if prev.IsZero() {
		// The first heartbeat goes out one interval after HELLO, which
		// arrives just before READY.
		prev = w.since
	}
	if gap := now.Sub(prev); gap > 0 {
		w.interval = gap
	}
	w.lastAck = now
	w.isDead = false
}

// overdue reports whether the connection has missed a heartbeat ACK.
func (w *watchdog) overdue() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.interval <= 0 || w.isDead || w.since.IsZero() {
		return false
	}
	ref, allowance := w.lastAck, w.interval*3/2
	if ref.IsZero() {
		// A new connection sends its first heartbeat one interval after HELLO.
		ref, allowance = w.since, w.interval*5/2
	}
	if w.now().Sub(ref) > allowance {
		w.isDead = true
		return true
	}
	return false
}

func (w *watchdog) dead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isDead
}

func (w *watchdog) checkEvery() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.interval <= 0 {
		return time.Second
	}
	return max(min(w.interval/8, time.Second), 10*time.Millisecond)
}

// run checks the connection until ctx is done and reconnects a dead one.
// Closing with a non-1000 code keeps the session, so disgo resumes it and
// Discord replays what the bot missed.
func (w *watchdog) run(ctx context.Context, gw gateway.Gateway) {
	for {
		t := time.NewTimer(w.checkEvery())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !w.overdue() {
			continue
		}
		w.log.Warn("gateway stopped acknowledging heartbeats; reconnecting")
		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		gw.CloseWithCode(closeCtx, websocket.CloseServiceRestart, "heartbeat not acknowledged")
		cancel()
		w.reset()
		if err := gw.Open(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("could not reconnect to the gateway", slog.Any("err", err))
		}
	}
}
