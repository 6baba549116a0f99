// Package alerts tells the owner, through a Discord webhook
// (alerts.webhook_url), that the bot needs them: the gateway down longer
// than alerts.gateway_down_after, a failed or overdue backup, free disk
// below alerts.min_free_disk, more than alerts.error_burst errors in five
// minutes, or a failed verification of the records. A Monitor looks every
// CheckEvery, posts when a condition starts and again when it clears.
//
// A message names the condition, since when, and what to do; it never
// holds a member's data, an error text (which may quote a path or a
// reason) or a secret. A condition's firing is posted at most once per
// MinGap, so a flapping condition cannot flood the channel: one that holds
// again within the hour of its last firing post is posted when the hour is
// up, if it still holds. A clearing is posted at the next check, once for
// each firing that was posted, so the owner hears promptly that it is over;
// a flapping condition therefore makes at most one firing and one clearing
// message per hour.
package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// CheckEvery is how often a Monitor evaluates the conditions.
const CheckEvery = 15 * time.Second

// MinGap is the least time between two posts of one condition firing.
// Clearings are not held back by it.
const MinGap = time.Hour

// retryAfter is how long a Monitor waits before posting again after a post
// failed: soon enough to deliver the news, slow enough not to hammer a
// webhook that was deleted.
const retryAfter = time.Minute

// Condition names a state the owner is alerted to.
type Condition string

// The conditions, in the order they are checked and posted.
const (
	GatewayDown        Condition = "gateway down"
	BackupFailed       Condition = "backup failed"
	BackupOverdue      Condition = "backup overdue"
	DiskLow            Condition = "disk space low"
	ErrorBurst         Condition = "burst of errors"
	VerificationFailed Condition = "verification failed"
)

var conditions = []Condition{GatewayDown, BackupFailed, BackupOverdue, DiskLow, ErrorBurst, VerificationFailed}

// Settings are the alerts.* settings and the backup interval the overdue
// check measures against. A Monitor's settings change live (SetSettings).
type Settings struct {
	// WebhookURL receives the alerts; "" turns them off. Secret.
	WebhookURL string
	// GatewayDownAfter is how long the gateway may be down unalerted.
	GatewayDownAfter time.Duration
	// MinFreeDisk is the free space, in bytes, below which DiskLow holds.
	MinFreeDisk int64
	// ErrorBurst is how many errors within ErrorWindow make ErrorBurst.
	ErrorBurst int
	// BackupInterval is backup.interval; a last success older than twice
	// it is overdue. 0 means no schedule, and no overdue check.
	BackupInterval time.Duration
}

// Sources are what a Monitor reads. A nil field, or one that returns an
// error, leaves its conditions as they were: a check that cannot be made
// neither raises nor clears an alert.
type Sources struct {
	// GatewayUp reports whether the gateway connection is up.
	GatewayUp func() bool
	// Backup reports the last backup attempt and the last success; a zero
	// time means none. attemptOK is whether the last attempt succeeded.
	Backup func() (lastAttempt time.Time, attemptOK bool, lastSuccess time.Time, err error)
	// FreeDisk returns the bytes free in the data directory.
	FreeDisk func() (uint64, error)
	// Errors returns how many errors were logged within ErrorWindow.
	Errors func(now time.Time) int
	// Verification reports the last verification of keys, database or
	// audit chain: when, whether it passed, and what ran it; a zero time
	// means none was recorded.
	Verification func() (at time.Time, ok bool, by string, err error)
}

// Options configure a Monitor.
type Options struct {
	Settings Settings
	Sources  Sources
	// Poster delivers a message; nil means a WebhookPoster.
	Poster Poster
	// Log receives post failures and unreadable sources. Post failures
	// are warnings, not errors, so they do not count towards a burst.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Monitor evaluates the conditions and posts the changes. Its methods are
// safe for concurrent use.
type Monitor struct {
	src  Sources
	post Poster
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	set      Settings
	started  time.Time
	downFrom time.Time // when the gateway was first seen down; zero while up
	state    map[Condition]*state
}

// state is what the Monitor knows of one condition.
type state struct {
	active    bool      // holds at the last check
	since     time.Time // when it began to hold, or when it cleared
	detail    string    // what the message says of it, without personal data
	announced bool      // the last message posted said it holds
	fired     time.Time // when the last message saying it holds was posted
	failed    time.Time // when the last post failed
}

// New returns a Monitor; Run starts it.
func New(opts Options) *Monitor {
	m := &Monitor{src: opts.Sources, post: opts.Poster, log: opts.Log, now: opts.Now,
		set: opts.Settings, state: map[Condition]*state{}}
	if m.post == nil {
		m.post = WebhookPoster{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.log = m.log.With(slog.String("component", "alerts"))
	m.started = m.now()
	for _, c := range conditions {
		m.state[c] = &state{}
	}
	return m
}

// SetSettings replaces the settings; the next check uses them. A
// condition's state and its hour between firing messages carry over.
func (m *Monitor) SetSettings(s Settings) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set = s
}

// Run checks every CheckEvery, and once at the start, until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(CheckEvery)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check evaluates every condition once and posts what changed: a
// clearing at once, a firing as far as MinGap allows. Posts go out one at
// a time, in the order of the conditions.
func (m *Monitor) Check(ctx context.Context) {
	m.mu.Lock()
	set := m.set
	now := m.now()
	m.evaluateLocked(set, now)
	var due []Condition
	for _, c := range conditions {
		if set.WebhookURL != "" && m.state[c].due(now) {
			due = append(due, c)
		}
	}
	m.mu.Unlock()
	for _, c := range due {
		m.mu.Lock()
		st := *m.state[c]
		m.mu.Unlock()
		msg := Message(c, st.active, st.since, st.detail)
		status, err := m.post.Post(ctx, set.WebhookURL, msg)
		m.mu.Lock()
		if err != nil {
			m.state[c].failed = now
			m.mu.Unlock()
			m.log.Warn("could not post an alert to alerts.webhook_url; trying again in a minute",
				slog.String("condition", string(c)), slog.Int("status", status), slog.Any("err", err))
			continue
		}
		s := m.state[c]
		s.announced, s.failed = st.active, time.Time{}
		if st.active {
			s.fired = now
		}
		m.mu.Unlock()
		m.log.Info("alert posted", slog.String("condition", string(c)), slog.Bool("holds", st.active))
	}
}

// due reports whether a message about the condition is to be posted at
// now. Only a change from what was last posted counts, so a clearing
// follows only a firing that was posted; a firing waits for MinGap after
// the last one, and any post waits retryAfter after a failed one.
func (st *state) due(now time.Time) bool {
	if st.active == st.announced {
		return false
	}
	if !st.failed.IsZero() && now.Sub(st.failed) < retryAfter {
		return false
	}
	return !st.active || st.fired.IsZero() || now.Sub(st.fired) >= MinGap
}

// evaluateLocked brings every condition's state up to now.
func (m *Monitor) evaluateLocked(set Settings, now time.Time) {
	if f := m.src.GatewayUp; f != nil {
		if f() {
			m.downFrom = time.Time{}
			m.mark(GatewayDown, false, now, "")
		} else {
			if m.downFrom.IsZero() {
				m.downFrom = now
			}
			down := now.Sub(m.downFrom)
			m.markSince(GatewayDown, down >= set.GatewayDownAfter, m.downFrom, now,
				fmt.Sprintf("The bot has not been connected to Discord for %s (alerts.gateway_down_after is %s). "+
					"Check the host's network and run `bot health`; the bot's log says why the connection dropped.",
					down.Round(time.Second), set.GatewayDownAfter))
		}
	}
	if f := m.src.Backup; f != nil {
		attempt, ok, success, err := f()
		if err != nil {
			m.log.Warn("could not read the backup record for the alerts", slog.Any("err", err))
		} else {
			m.markSince(BackupFailed, !attempt.IsZero() && !ok, attempt, now,
				"The last backup, at "+stamp(attempt)+", failed. Run `bot backup` to see why, and `bot health`.")
			overdue := false
			if set.BackupInterval > 0 {
				last := success
				if last.IsZero() {
					last = m.started
				}
				overdue = now.Sub(last) > 2*set.BackupInterval
			}
			from := success
			if from.IsZero() {
				from = m.started
			}
			m.markSince(BackupOverdue, overdue, from, now,
				fmt.Sprintf("No backup has succeeded since %s, more than twice backup.interval (%s). "+
					"Run `bot backup` and `bot health`, and look for backup errors in the bot's log.", stamp(from), set.BackupInterval))
		}
	}
	if f := m.src.FreeDisk; f != nil {
		free, err := f()
		if err != nil {
			m.log.Warn("could not read the free disk space for the alerts", slog.Any("err", err))
		} else {
			m.mark(DiskLow, free < uint64(max(set.MinFreeDisk, 0)), now,
				fmt.Sprintf("The data directory's disk has %s free, below alerts.min_free_disk (%s). "+
					"Free some space (old backups in backup.dir, logs) or grow the disk before the database cannot write.",
					size(int64(free)), size(set.MinFreeDisk)))
		}
	}
	if f := m.src.Errors; f != nil && set.ErrorBurst > 0 {
		n := f(now)
		m.mark(ErrorBurst, n > set.ErrorBurst, now,
			fmt.Sprintf("The bot logged %d errors in the last five minutes, more than alerts.error_burst (%d). "+
				"Read the bot's log for what fails.", n, set.ErrorBurst))
	}
	if f := m.src.Verification; f != nil {
		at, ok, by, err := f()
		if err != nil {
			m.log.Warn("could not read the verification record for the alerts", slog.Any("err", err))
		} else {
			m.markSince(VerificationFailed, !at.IsZero() && !ok, at, now,
				"The verification by "+by+" at "+stamp(at)+" failed: the records, keys or audit chain do not match. "+
					"Run `bot audit verify` and `bot health`, and restore a good backup if records were changed outside the bot.")
		}
	}
}

// mark records whether c holds at now, taking now as the start of a new
// state.
func (m *Monitor) mark(c Condition, holds bool, now time.Time, detail string) {
	m.markSince(c, holds, now, now, detail)
}

// markSince records whether c holds; from is when it began to, if it
// does. A condition that clears records now as the time it cleared.
func (m *Monitor) markSince(c Condition, holds bool, from, now time.Time, detail string) {
	st := m.state[c]
	switch {
	case holds && !st.active:
		st.active, st.since = true, from
	case !holds && st.active:
		st.active, st.since = false, now
	}
	if holds {
		st.detail = detail
	}
}

// Message is the text posted for c: holds says whether it began or
// cleared, since when, and detail what it is and what to do.
func Message(c Condition, holds bool, since time.Time, detail string) string {
	if !holds {
		return fmt.Sprintf("✅ **bot: %s — cleared** at %s.", c, stamp(since))
	}
	return fmt.Sprintf("⚠️ **bot: %s** since %s.\n%s", c, stamp(since), detail)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// size formats a byte count for people.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
