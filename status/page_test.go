package status

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/logring"
)

// A member's name and a reason, which a log record may carry in its
// attributes but the page must never show.
const (
	privateName   = "xyzzy-member-name"
	privateReason = "xyzzy-private-reason"
)

var fixtureNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// fixture is a Source with something in every part of the page.
func fixture(t *testing.T) *Source {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: InteractionsMetric, Help: "interactions"}, []string{"command", "outcome"})
	lat := prometheus.NewGauge(prometheus.GaugeOpts{Name: LatencyMetric, Help: "latency"})
	reg.MustRegister(c, lat)
	lat.Set(0.042)
	s := NewSampler(reg)
	if err := s.Sample(fixtureNow.Add(-70 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("warn", "ok").Add(2)
	if err := s.Sample(fixtureNow.Add(-59 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("warn", "ok").Add(17)
	c.WithLabelValues("ban", "refused").Add(3)
	c.WithLabelValues("kick", "error").Add(1)

	ring := logring.New(100, 30)
	log := slog.New(ring.Wrap(slog.NewTextHandler(io.Discard, nil)))
	for i := range 25 {
		log.Info("filler")
		log.With("command", "warn", "user", privateName).Error("interaction failed",
			"error_id", "E"+string(rune('A'+i)), "reason", privateReason, slog.Any("err", errors.New("database is locked")))
	}
	return &Source{
		Version:   "v1.4.0",
		Started:   fixtureNow.Add(-(3*24 + 5) * time.Hour),
		Now:       func() time.Time { return fixtureNow },
		Connected: func() bool { return true },
		Guilds:    func() int { return 3 },
		Gatherer:  reg,
		Commands:  s,
		Log:       ring,
		Checks: func(context.Context) []Check {
			return []Check{{"database", "ok", "answers"}, {"disk", "warn", "412.0 MiB free in data: running low"}}
		},
		Backups: func() (backups.Status, error) {
			a := &backups.Attempt{At: fixtureNow.Add(-2 * time.Hour), Path: "/srv/bot/data/backups/bot-20260304T100000Z.db", OK: true, Scheduled: true}
			return backups.Status{LastAttempt: a, LastSuccess: a}, nil
		},
		BackupInterval: 24 * time.Hour,
		Keys: func() keys.Status {
			return keys.Status{MasterKey: true,
				AEAD: keys.KeysetStatus{ID: 1234, Keys: []keys.KeyStatus{{ID: 1, Status: "disabled"}, {ID: 1234, Status: "enabled", Primary: true}}},
				PRF:  keys.KeysetStatus{ID: 99, Keys: []keys.KeyStatus{{ID: 99, Status: "enabled", Primary: true}}}}
		},
	}
}

// wantOnPage is text each rendering of the fixture must show, and
// notOnPage what it must not.
var (
	wantOnPage = []string{
		"bot v1.4.0", "Healthy", "Up 3d 5h", "connected", "42 ms", "Servers", "3",
		"in the last hour", "17", "ok", "refused", "error",
		"database", "412.0 MiB free in data: running low",
		"2026-03-04 10:00:00 (2h 0m ago), bot-20260304T100000Z.db", "2026-03-05 10:00:00 (in 22h 0m)",
		"primary key 1234; 2 keys, 1 enabled", "encrypts the keysets on disk",
		"interaction failed", "EY", "EF", "(warn)",
	}
	notOnPage = []string{privateName, privateReason, "database is locked", "EE", "/srv/bot", "running for"}
)

func TestPage(t *testing.T) {
	srv := httptest.NewServer(fixture(t))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("got=%d %s, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, h := range []string{"Cache-Control", "Referrer-Policy", "Content-Security-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	for _, want := range append(wantOnPage, `<meta http-equiv="refresh" content="30">`, `name="viewport"`) {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Only the newest 20 errors: EF to EY of EA to EY.
	for _, not := range append(notOnPage, "<script") {
		if strings.Contains(body, not) {
			t.Errorf("page shows %q", not)
		}
	}
	if n := strings.Count(body, "interaction failed"); n != MaxErrors {
		t.Errorf("errors listed got=%d, want %d", n, MaxErrors)
	}
}

func TestPageUnknownsAndProblems(t *testing.T) {
	s := &Source{Version: "dev", Started: fixtureNow.Add(-90 * time.Second), Now: func() time.Time { return fixtureNow },
		Connected: func() bool { return false },
		Checks:    func(context.Context) []Check { return []Check{{"disk", "fail", "the database cannot grow"}} },
		Backups: func() (backups.Status, error) {
			return backups.Status{LastAttempt: &backups.Attempt{At: fixtureNow.Add(-time.Hour), Error: "disk full"}}, nil
		},
		BackupInterval: time.Hour,
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	for _, want := range []string{"Needs attention", "disconnected", "Up 1m", "Latency</dt><dd>unknown", "none yet", "due now",
		"failed: disk full", "none since the start"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestPageYoungBot checks that a bot younger than an hour still titles its
// commands with the last hour, and says how long it has run.
func TestPageYoungBot(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: InteractionsMetric, Help: "interactions"}, []string{"command", "outcome"})
	reg.MustRegister(c)
	sm := NewSampler(reg)
	started := fixtureNow.Add(-9 * time.Second)
	if err := sm.Sample(started); err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("warn", "ok").Add(4)
	s := &Source{Version: "dev", Started: started, Now: func() time.Time { return fixtureNow }, Commands: sm}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if want := "<h2>Commands <small>in the last hour (running for 9s)</small></h2>"; !strings.Contains(body, want) {
		t.Errorf("page lacks %q", want)
	}
	if strings.Contains(body, "since the start, ") || !strings.Contains(body, `<span class="num">4</span>ok`) {
		t.Errorf("page does not count the commands of the last hour:\n%s", body)
	}
}

func TestSpan(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {59 * time.Second, "59s"}, {61 * time.Second, "1m"}, {2*time.Hour + 5*time.Minute, "2h 5m"}, {50 * time.Hour, "2d 2h"},
	} {
		if got := span(tt.d); got != tt.want {
			t.Errorf("span(%v) got=%q, want %q", tt.d, got, tt.want)
		}
	}
}
