package conn

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/rest"
)

// identifyWindow is the period in which Discord allows max_concurrency
// IDENTIFYs of one bot.
const identifyWindow = 5 * time.Second

// startLimit is the session_start_limit of GET /gateway/bot: how many
// IDENTIFYs the bot has left before reset (1000 a day for most bots; each
// one over gets the token reset by Discord), and how many it may send per
// identifyWindow.
type startLimit struct {
	remaining      int
	resetAfter     time.Duration
	maxConcurrency int
}

// fetchStartLimit asks Discord for the bot's session start limit.
func fetchStartLimit(ctx context.Context, r rest.Rest) (startLimit, error) {
	gb, err := r.GetGatewayBot(rest.WithCtx(ctx))
	if err != nil {
		return startLimit{}, err
	}
	l := gb.SessionStartLimit
	return startLimit{
		remaining:      l.Remaining,
		resetAfter:     time.Duration(l.ResetAfter) * time.Millisecond,
		maxConcurrency: max(l.MaxConcurrency, 1),
	}, nil
}

// identifyPermit waits until the bot may IDENTIFY: while Discord reports
// no session starts left, until they reset, and at least identifyWindow /
// max_concurrency after the previous IDENTIFY of this process. It returns
// early with an error when ctx ends or the gateway is closed. A failure to
// ask Discord is logged and the IDENTIFY goes ahead: Discord itself enforces
// the limit, and refusing to connect over a REST hiccup would be worse.
func (g *gatewayConn) identifyPermit(ctx context.Context) error {
	g.mu.Lock()
	delay := g.identifyDelay
	g.identifyDelay = 0
	g.mu.Unlock()
	if delay > 0 {
		until := time.Now().Add(delay)
		g.log.Error("the bot stopped without a clean shutdown several times in a row; waiting before identifying to spare Discord's daily limit of session starts. Look earlier in the log for why it stopped",
			slog.Duration("wait", delay))
		if g.onWait != nil {
			g.onWait(until, "restarting in a loop")
		}
		err := g.sleep(ctx, delay)
		if g.onWait != nil {
			g.onWait(time.Time{}, "")
		}
		if err != nil {
			return err
		}
	}
	if g.startLimit == nil {
		return nil
	}
	lim, err := g.startLimit(ctx)
	if err != nil {
		g.log.Warn("could not read the session start limit from Discord (GET /gateway/bot); identifying anyway", errAttr(err))
		lim = startLimit{remaining: 1, maxConcurrency: 1}
	}
	if lim.remaining <= 0 {
		until := time.Now().Add(lim.resetAfter)
		g.log.Error("Discord's limit of gateway session starts is used up; waiting for it to reset before connecting. Check the log for why the bot restarted or reconnected so often",
			slog.Time("until", until), slog.Duration("wait", lim.resetAfter.Round(time.Second)))
		if g.onWait != nil {
			g.onWait(until, "Discord's limit of gateway session starts is used up")
		}
		err := g.sleep(ctx, lim.resetAfter)
		if g.onWait != nil {
			g.onWait(time.Time{}, "")
		}
		if err != nil {
			return err
		}
	}
	g.mu.Lock()
	next := g.lastIdentify.Add(identifyWindow / time.Duration(lim.maxConcurrency))
	g.mu.Unlock()
	if wait := time.Until(next); wait > 0 {
		if err := g.sleep(ctx, wait); err != nil {
			return err
		}
	}
	return nil
}

// sleep waits for d, and returns an error if ctx ends or the gateway is
// closed first.
func (g *gatewayConn) sleep(ctx context.Context, d time.Duration) error {
	g.mu.Lock()
	done := g.done
	g.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return errGatewayClosed
	}
}

// Crash-loop policy: CrashBackoff counts the starts that did not end in a
// clean stop.
const (
	// CrashWindow is how far back starts count towards a crash loop;
	// older ones can be forgotten.
	CrashWindow = 10 * time.Minute
	// crashFree is how many such starts are let through without a pause.
	crashFree = 2
	// crashMaxWait caps the pause.
	crashMaxWait = 15 * time.Minute
)

// CrashBackoff returns how long a start should wait before connecting,
// given the times of the earlier starts that did not stop cleanly. A few
// restarts connect at once; from the third within ten minutes the pause
// doubles from 10 seconds up to 15 minutes, so that a bot that crashes
// just after connecting spends Discord's daily budget of session starts
// slowly enough for its owner to notice. The second value counts the
// starts in the window.
func CrashBackoff(unclean []time.Time, now time.Time) (time.Duration, int) {
	n := 0
	for _, t := range unclean {
		if now.Sub(t) < CrashWindow && !t.After(now) {
			n++
		}
	}
	if n <= crashFree {
		return 0, n
	}
	wait := 10 * time.Second << min(n-crashFree-1, 16)
	return min(wait, crashMaxWait), n
}

// failBackoff is the pause before reconnecting after n connections in a
// row that never became ready (no READY or RESUMED): none after a
// connection that worked, then 1s, 2s, 4s… up to 2 minutes.
func failBackoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(time.Second<<min(n-1, 8), 2*time.Minute)
}

// errGatewayClosed ends a wait that Close interrupted.
var errGatewayClosed = errors.New("gateway closed")
