package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/bot"
	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/metrics"
)

// The observers the rest of the bot declares are what Metrics implements.
var (
	_ bot.Observer     = (*metrics.Metrics)(nil)
	_ conn.Observer    = (*metrics.Metrics)(nil)
	_ backups.Observer = (*metrics.Metrics)(nil)
)

// value returns the value of the sample of name whose labels include
// labels, and whether there is one.
func value(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for k, v := range labels {
				if !hasLabel(s, k, v) {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue(), true
			case s.Gauge != nil:
				return s.Gauge.GetValue(), true
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabel(s *dto.Metric, k, v string) bool {
	for _, l := range s.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func TestObserverMethods(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	tests := []struct {
		name   string
		do     func()
		metric string
		labels map[string]string
		want   float64
	}{
		{"InteractionCount", func() { m.InteractionDone("warn", "refused", 20*time.Millisecond) },
			"bot_interactions_total", map[string]string{"command": "warn", "outcome": "refused"}, 1},
		{"InteractionDuration", func() { m.InteractionDone("/ban", "ok", time.Second) },
			"bot_interaction_duration_seconds", map[string]string{"command": "/ban"}, 1},
		{"CaseCreated", func() { m.CaseCreated("warning") }, "bot_cases_created_total", map[string]string{"kind": "warning"}, 1},
		{"DMFailed", func() { m.DMFailed("closed") }, "bot_dm_failures_total", map[string]string{"reason": "closed"}, 1},
		{"GatewayConnected", func() { m.GatewayConnected(true) }, "bot_gateway_connected", nil, 1},
		{"GatewayDisconnected", func() { m.GatewayConnected(false) }, "bot_gateway_connected", nil, 0},
		{"GatewayLatency", func() { m.GatewayLatency(250 * time.Millisecond) }, "bot_gateway_latency_seconds", nil, 0.25},
		{"Reconnected", func() { m.Reconnected("resume") }, "bot_gateway_reconnects_total", map[string]string{"kind": "resume"}, 1},
		{"RESTRequest", func() { m.RESTRequest("POST /channels/{channel.id}/messages", 200) },
			"bot_rest_requests_total", map[string]string{"route": "POST /channels/{channel.id}/messages", "status": "200"}, 1},
		{"RESTNoResponse", func() { m.RESTRequest("GET /gateway/bot", 0) },
			"bot_rest_requests_total", map[string]string{"route": "GET /gateway/bot", "status": "error"}, 1},
		{"RateLimited", func() { m.RateLimited("global") }, "bot_rest_rate_limited_total", map[string]string{"scope": "global"}, 1},
		{"BackupFailed", func() { m.BackupFailed() }, "bot_backup_failures_total", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			if got, ok := value(t, m, tt.metric, tt.labels); !ok || got != tt.want {
				t.Errorf("%s%v got=%v (present %v), want %v", tt.metric, tt.labels, got, ok, tt.want)
			}
		})
	}
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bot.db")
	if err := os.WriteFile(db, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db+"-wal", make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	m := metrics.New(metrics.Sources{
		DBPath:           db,
		ScheduledPending: func(context.Context) (int, error) { return 7, nil },
		LastBackup:       func() (time.Time, time.Duration, error) { return at, 3 * time.Second, nil },
	})
	for name, want := range map[string]float64{
		"bot_db_size_bytes":                         4096,
		"bot_wal_size_bytes":                        1000,
		"bot_scheduled_actions_pending":             7,
		"bot_backup_last_success_timestamp_seconds": 1_700_000_000,
		"bot_backup_last_duration_seconds":          3,
	} {
		if got, ok := value(t, m, name, nil); !ok || got != want {
			t.Errorf("%s got=%v (present %v), want %v", name, got, ok, want)
		}
	}
	// The WAL goes at a checkpoint; its size is then 0, not absent.
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	if got, ok := value(t, m, "bot_wal_size_bytes", nil); !ok || got != 0 {
		t.Errorf("bot_wal_size_bytes without a WAL got=%v (present %v), want 0", got, ok)
	}
}

func TestHandlerServesText(t *testing.T) {
	m := metrics.New(metrics.Sources{})
	m.CaseCreated("ban")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`bot_cases_created_total{kind="ban"} 1`, "go_goroutines ", "process_cpu_seconds_total "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type got=%q, want text/plain", ct)
	}
}

// BenchmarkScrape is one scrape of /metrics with every series present,
// as Prometheus makes it.
func BenchmarkScrape(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, "bot.db")
	if err := os.WriteFile(db, []byte("x"), 0o600); err != nil {
		b.Fatal(err)
	}
	m := metrics.New(metrics.Sources{
		DBPath:           db,
		ScheduledPending: func(context.Context) (int, error) { return 3, nil },
		LastBackup:       func() (time.Time, time.Duration, error) { return time.Now(), time.Second, nil },
	})
	fill(m)
	h := m.Handler()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// fill gives every metric of m a series with a typical spread of labels.
func fill(m *metrics.Metrics) {
	for _, c := range []string{"warn", "warnings", "ban", "kick", "timeout", "config", "warnings-page", "unwarn autocomplete"} {
		for _, o := range []string{"ok", "refused", "error"} {
			m.InteractionDone(c, o, 30*time.Millisecond)
		}
	}
	for _, k := range []string{"warning", "note", "timeout", "untimeout", "kick", "ban", "unban"} {
		m.CaseCreated(k)
	}
	for _, r := range []string{"closed", "timeout", "error"} {
		m.DMFailed(r)
	}
	m.GatewayConnected(true)
	m.GatewayLatency(40 * time.Millisecond)
	m.Reconnected("resume")
	m.Reconnected("identify")
	for _, r := range []string{"POST /interactions/{interaction.id}/{interaction.token}/callback", "POST /channels/{channel.id}/messages",
		"PUT /guilds/{guild.id}/bans/{user.id}", "PATCH /guilds/{guild.id}/members/{user.id}"} {
		for _, s := range []int{200, 204, 429, 500, 0} {
			m.RESTRequest(r, s)
		}
	}
	m.RateLimited("global")
	m.RateLimited("user")
	m.BackupFailed()
}

// TestFreshScrapeNamesEveryMetric scrapes a bot that has done nothing yet:
// every metric the bot documents must be there, those labelled by a known
// set at zero, so that dashboards and alert rules read 0, not "no data".
// The interaction metrics, labelled by route, appear with the first one.
func TestFreshScrapeNamesEveryMetric(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bot.db")
	if err := os.WriteFile(db, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Sources{
		DBPath:           db,
		ScheduledPending: func(context.Context) (int, error) { return 0, nil },
		LastBackup:       func() (time.Time, time.Duration, error) { return time.Now(), time.Second, nil },
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"bot_gateway_connected 0", "bot_gateway_latency_seconds 0",
		`bot_gateway_reconnects_total{kind="resume"} 0`, `bot_gateway_reconnects_total{kind="identify"} 0`,
		`bot_rest_rate_limited_total{scope="global"} 0`, `bot_rest_rate_limited_total{scope="user"} 0`,
		`bot_rest_rate_limited_total{scope="shared"} 0`,
		`bot_cases_created_total{kind="warning"} 0`, `bot_cases_created_total{kind="ban"} 0`,
		`bot_dm_failures_total{reason="closed"} 0`, `bot_dm_failures_total{reason="timeout"} 0`,
		`bot_dm_failures_total{reason="error"} 0`,
		"bot_scheduled_actions_pending 0", "bot_db_size_bytes 1", "bot_wal_size_bytes 0",
		"bot_backup_last_success_timestamp_seconds ", "bot_backup_last_duration_seconds 1",
		"bot_backup_failures_total 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("a fresh scrape lacks %q", want)
		}
	}
	m.InteractionDone("warn", "ok", time.Millisecond)
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`bot_interactions_total{command="warn",outcome="ok"} 1`, `bot_interaction_duration_seconds_count{command="warn"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("after one /warn the scrape lacks %q", want)
		}
	}
}
