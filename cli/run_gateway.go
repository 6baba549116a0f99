package cli

import (
	"errors"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/datadir"
)

// sessionSaveEvery is how often 'bot run' looks whether the gateway
// session moved on, and saves it if so: a crash then leaves one recent
// enough to resume, whose replay repeats at most this much of what the
// bot had already handled.
const sessionSaveEvery = time.Second

// settleRetry is how soon a session that could not be saved yet, because
// its guilds were still arriving, is looked at again.
const settleRetry = 20 * time.Millisecond

// gatewayRun keeps, for one 'bot run', the files through which a restart
// resumes the gateway session and a crash loop slows down.
type gatewayRun struct {
	cfg   *config.Config
	log   *slog.Logger
	start time.Time
	delay time.Duration // before identifying, for a crash loop
	ready chan struct{} // a session became ready: save it now
	// settled, once set, reports whether the bot has what a restart that
	// resumes would not get again (bot.Bot.Settled).
	settled atomic.Pointer[func() bool]

	mu     sync.Mutex // guards starts and the file
	starts datadir.GatewayStarts
}

// resumableWhen makes the session saved only while settled reports true.
func (g *gatewayRun) resumableWhen(settled func() bool) { g.settled.Store(&settled) }

// resumable reports whether the session may be saved for a restart to
// resume: not before the bot exists, nor while a new session's guilds
// arrive and their audit logs are read.
func (g *gatewayRun) resumable() bool {
	f := g.settled.Load()
	return f != nil && (*f)()
}

// beginGateway records this start and works out, from the recent starts
// that did not stop cleanly, the crash-loop pause conn waits before it
// identifies (a resume costs Discord's budget nothing and goes ahead).
func beginGateway(cfg *config.Config, log *slog.Logger) *gatewayRun {
	g := &gatewayRun{cfg: cfg, log: log, start: time.Now().UTC(), ready: make(chan struct{}, 1)}
	st, err := datadir.LoadStarts(cfg)
	if err != nil {
		log.Warn("could not read the record of recent starts; starting without it", slog.Any("err", err))
	}
	kept := st.Unclean[:0]
	for _, t := range st.Unclean {
		if g.start.Sub(t) < conn.CrashWindow {
			kept = append(kept, t)
		}
	}
	g.delay, _ = conn.CrashBackoff(kept, g.start)
	g.starts = datadir.GatewayStarts{Unclean: append(kept, g.start)}
	g.save()
	return g
}

// session returns the saved gateway session, or nil.
func (g *gatewayRun) session() *conn.Session {
	var s conn.Session
	if err := datadir.LoadSession(g.cfg, &s); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			g.log.Warn("could not read the saved gateway session; identifying instead", slog.Any("err", err))
		}
		return nil
	}
	return &s
}

// readied is conn's OnReady: it has the session saved at once.
func (g *gatewayRun) readied() {
	select {
	case g.ready <- struct{}{}:
	default:
	}
}

// waiting records in the starts file what the bot waits for (conn's
// OnStartLimitWait).
func (g *gatewayRun) waiting(until time.Time, why string) {
	g.mu.Lock()
	g.starts.WaitUntil, g.starts.WaitReason = until, why
	g.mu.Unlock()
	g.save()
}

func (g *gatewayRun) save() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := datadir.SaveStarts(g.cfg, g.starts); err != nil {
		g.log.Warn("could not record this start; the crash-loop backoff and 'bot health' will not see it", slog.Any("err", err))
	}
}

// keepSaving saves c's session every sessionSaveEvery until the returned
// function is called.
func (g *gatewayRun) keepSaving(c *conn.Client) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last conn.Session
		t := time.NewTicker(sessionSaveEvery)
		defer t.Stop()
		// A session not yet resumable (its guilds still arriving) is
		// looked at again soon: it should be on disk before a crash.
		retry := time.NewTimer(time.Hour)
		retry.Stop()
		defer retry.Stop()
		for {
			select {
			case <-done:
				return
			case <-g.ready:
			case <-t.C:
			case <-retry.C:
			}
			s, ok := c.Session()
			if !ok || (s.ID == last.ID && s.Seq == last.Seq) {
				continue
			}
			if !g.resumable() {
				retry.Reset(settleRetry)
				continue
			}
			g.saveSession(s)
			last = s
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (g *gatewayRun) saveSession(s conn.Session) {
	if err := datadir.SaveSession(g.cfg, s); err != nil {
		g.log.Warn("could not save the gateway session; a restart will identify instead of resuming", slog.Any("err", err))
	}
}

// end saves the session c left resumable (or removes a stale one, or one
// whose audit logs were not all read), and after a clean stop forgets this
// start, which then counts towards no crash loop.
func (g *gatewayRun) end(c *conn.Client, clean bool) {
	if s, ok := c.Session(); ok && g.resumable() {
		g.saveSession(s)
	} else if err := datadir.RemoveSession(g.cfg); err != nil {
		g.log.Warn("could not remove the saved gateway session", slog.Any("err", err))
	}
	if !clean {
		return
	}
	g.mu.Lock()
	kept := g.starts.Unclean[:0]
	for _, t := range g.starts.Unclean {
		if !t.Equal(g.start) {
			kept = append(kept, t)
		}
	}
	g.starts.Unclean = kept
	g.mu.Unlock()
	g.save()
}
