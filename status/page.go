// Package status renders the status page that 'bot run' serves at / on
// http.listen: what 'bot health' knows, the gateway, the commands of the
// last hour, the last errors, backups, keys and disk, on one server-rendered
// page that needs no JavaScript, refreshes itself and fits a phone.
//
// The page reads everything afresh at each request from a Source, which
// 'bot run' fills with its live objects and tests with fakes.
package status

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/logring"
)

// LatencyMetric is the gauge of the gateway's heartbeat round trip that the
// page shows.
const LatencyMetric = "bot_gateway_latency_seconds"

// MaxErrors is how many of the newest errors the page lists.
const MaxErrors = 20

// RefreshSeconds is how often the page reloads itself.
const RefreshSeconds = 30

// Check is one line of the health report, as 'bot health' prints it.
type Check struct {
	Name   string
	Status string // ok, warn, fail or skip
	Detail string
}

// Source is what the page shows. Each func is called at every request; a
// nil one leaves its part of the page marked unknown.
type Source struct {
	// Version is the bot's version, and Started when the process started.
	Version string
	Started time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Checks returns the health checks that are cheap enough to run at
	// every refresh.
	Checks func(ctx context.Context) []Check
	// Connected reports whether the gateway is up, and Guilds how many
	// servers the bot serves.
	Connected func() bool
	Guilds    func() int
	// Gatherer gives LatencyMetric; Commands counts the last hour's
	// commands from the same registry.
	Gatherer prometheus.Gatherer
	Commands *Sampler
	// Log holds the errors listed.
	Log *logring.Ring
	// Backups reads the backup record, and BackupInterval is
	// backup.interval (0: no scheduled backups).
	Backups        func() (backups.Status, error)
	BackupInterval time.Duration
	// Keys describes the keysets.
	Keys func() keys.Status
	// ErrorLog receives a failure to render the page.
	ErrorLog *slog.Logger
}

//go:embed page.html
var files embed.FS

var page = template.Must(template.ParseFS(files, "page.html"))

// ServeHTTP renders the page. The headers keep it out of caches and keep
// a token given in its URL from leaving in a Referer; the content security
// policy refuses any script, so the page works the same with JavaScript
// off.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := page.Execute(&b, s.view(r.Context())); err != nil {
		if s.ErrorLog != nil {
			s.ErrorLog.Error("status page failed", slog.Any("err", err))
		}
		http.Error(w, "the status page failed; the log says why", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b.Bytes())
}

// view is the page's data, every value already text.
type view struct {
	Refresh                int
	Version, Uptime, Now   string
	Healthy                bool
	Connected              string
	ConnectedOK            bool
	Latency, Guilds        string
	Commands               []count
	CommandsSince          string
	Checks                 []Check
	LastBackup, NextBackup string
	BackupProblem          string
	Keys                   []Check
	Errors                 []errorLine
}

type count struct {
	Outcome string
	N       string
}

type errorLine struct {
	Time, Message, ErrorID, Command string
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) view(ctx context.Context) view {
	now := s.now()
	v := view{Refresh: RefreshSeconds, Version: s.Version, Now: now.UTC().Format(time.DateTime) + " UTC",
		Uptime: span(now.Sub(s.Started)), Healthy: true,
		Connected: "unknown", Latency: "unknown", Guilds: "unknown"}
	if s.Connected != nil {
		v.ConnectedOK = s.Connected()
		v.Connected = "disconnected"
		if v.ConnectedOK {
			v.Connected = "connected"
		}
		v.Healthy = v.ConnectedOK
	}
	if s.Guilds != nil {
		v.Guilds = fmt.Sprint(s.Guilds())
	}
	if s.Gatherer != nil {
		if l, ok := gauge(s.Gatherer, LatencyMetric); ok {
			v.Latency = fmt.Sprintf("%d ms", time.Duration(l*float64(time.Second)).Milliseconds())
		}
	}
	v.Commands, v.CommandsSince = s.commands(now)
	if s.Checks != nil {
		v.Checks = s.Checks(ctx)
		for _, c := range v.Checks {
			v.Healthy = v.Healthy && c.Status != "fail"
		}
	}
	v.LastBackup, v.NextBackup, v.BackupProblem = s.backups(now)
	v.Keys = s.keys()
	if s.Log != nil {
		for _, e := range s.Log.Errors() {
			if len(v.Errors) == MaxErrors {
				break
			}
			// Only these fields: a message is a fixed text, and the
			// attributes that could describe a member are left out.
			v.Errors = append(v.Errors, errorLine{Time: e.Time.UTC().Format(time.DateTime), Message: e.Message,
				ErrorID: e.Attr("error_id"), Command: e.Attr("command")})
		}
	}
	return v
}

// commands lists the last hour's commands by outcome, the three the bot
// reports always and in their order, then any other.
func (s *Source) commands(now time.Time) ([]count, string) {
	if s.Commands == nil {
		return nil, "unknown"
	}
	n, _, err := s.Commands.LastHour(now)
	if err != nil {
		return nil, "unknown: " + err.Error()
	}
	var out []count
	for _, o := range []string{"ok", "refused", "error"} {
		out = append(out, count{o, fmt.Sprint(n[o])})
		delete(n, o)
	}
	for _, o := range slices.Sorted(maps.Keys(n)) {
		out = append(out, count{o, fmt.Sprint(n[o])})
	}
	// A bot younger than the window has served all its commands within
	// the last hour; saying how long it has run tells why the counts are
	// low without changing what they are.
	title := "in the last hour"
	if up := now.Sub(s.Started); !s.Started.IsZero() && up < window {
		title += " (running for " + span(up) + ")"
	}
	return out, title
}

func (s *Source) backups(now time.Time) (last, next, problem string) {
	last, next = "unknown", "unknown"
	if s.Backups == nil {
		return
	}
	st, err := s.Backups()
	if err != nil {
		return last, next, err.Error()
	}
	last = "none yet"
	if a := st.LastSuccess; a != nil {
		last = fmt.Sprintf("%s (%s ago), %s", a.At.UTC().Format(time.DateTime), span(now.Sub(a.At)), filepath.Base(a.Path))
	}
	if a := st.LastAttempt; a != nil && !a.OK {
		problem = fmt.Sprintf("the backup of %s failed: %s", a.At.UTC().Format(time.DateTime), a.Error)
	}
	if s.BackupInterval <= 0 {
		return last, "none scheduled (backup.interval is off)", problem
	}
	// As the scheduler does: one interval after the last backup, or soon
	// after the start when none is recorded.
	due := s.Started.Add(min(s.BackupInterval, backups.DefaultStartDelay))
	if a := cmp.Or(st.LastAttempt, st.LastSuccess); a != nil {
		due = a.At.Add(s.BackupInterval)
	}
	if !due.After(now) {
		return last, "due now", problem
	}
	return last, fmt.Sprintf("%s (in %s)", due.UTC().Format(time.DateTime), span(due.Sub(now))), problem
}

func (s *Source) keys() []Check {
	if s.Keys == nil {
		return nil
	}
	st := s.Keys()
	master := Check{"master key", "warn", "none: the keysets are in clear on disk (mode 0600)"}
	if st.MasterKey {
		master = Check{"master key", "ok", "encrypts the keysets on disk"}
	}
	return []Check{keyset("encryption", st.AEAD), keyset("blind index", st.PRF), master}
}

func keyset(name string, k keys.KeysetStatus) Check {
	enabled := 0
	for _, key := range k.Keys {
		if key.Status == "enabled" {
			enabled++
		}
	}
	noun := "keys"
	if len(k.Keys) == 1 {
		noun = "key"
	}
	return Check{name, "ok", fmt.Sprintf("primary key %d; %d %s, %d enabled", k.ID, len(k.Keys), noun, enabled)}
}

// gauge returns the value of the first gauge named name in g.
func gauge(g prometheus.Gatherer, name string) (float64, bool) {
	families, err := g.Gather()
	if err != nil {
		return 0, false
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// span writes d for people: the two largest of days, hours, minutes, and
// seconds under a minute.
func span(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	days, h, m := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
