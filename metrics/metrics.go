// Package metrics holds the bot's Prometheus metrics and serves them in
// the text format on /metrics. It is the one home of client_golang: bot,
// conn and backups declare small observer interfaces of their own, which
// *Metrics implements, so no Prometheus type reaches them.
//
// Every label has a small, fixed set of values: a command is a route of
// the routes table, a REST route is Discord's route template, and never a
// user, guild or case, so the number of series stays bounded whatever the
// traffic.
package metrics

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are what the metrics read at scrape time, so that a figure is
// as fresh as the scrape and costs nothing between scrapes. A nil field
// leaves its metric out of the scrape's samples.
type Sources struct {
	// DBPath is the database file; its size and its WAL's (DBPath+"-wal")
	// are read from the file system.
	DBPath string
	// ScheduledPending counts the scheduled actions not yet run.
	ScheduledPending func(ctx context.Context) (int, error)
	// LastBackup returns when the last successful backup, manual or
	// scheduled, was made, and how long it took; a zero time when none is
	// recorded.
	LastBackup func() (at time.Time, took time.Duration, err error)
}

// sourceTimeout bounds a scrape's wait for the database, so that a locked
// database slows a scrape, not the scraper's whole schedule.
const sourceTimeout = 2 * time.Second

// interactionBuckets are the bounds of bot_interaction_duration_seconds:
// fine below a second, where most answers fall, and with 3 s, Discord's
// limit for the first answer, as a bound of its own.
var interactionBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10}

// Metrics is the bot's registry and its metrics. Its methods are safe for
// concurrent use; a nil *Metrics is not valid, use the observers' own
// no-op defaults instead.
type Metrics struct {
	reg *prometheus.Registry

	interactions        *prometheus.CounterVec
	interactionDuration *prometheus.HistogramVec
	gatewayConnected    prometheus.Gauge
	gatewayLatency      prometheus.Gauge
	reconnects          *prometheus.CounterVec
	restRequests        *prometheus.CounterVec
	rateLimited         *prometheus.CounterVec
	casesCreated        *prometheus.CounterVec
	dmFailures          *prometheus.CounterVec
	backupFailures      prometheus.Counter
}

// New returns the metrics, registered with the Go runtime and process
// collectors and with the scrape-time figures of src.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		interactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_interactions_total",
			Help: "Interactions handled, by route (top-level slash command, button or autocomplete) and outcome (ok, refused, error).",
		}, []string{"command", "outcome"}),
		interactionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bot_interaction_duration_seconds",
			Help:    "Time from receiving an interaction to its final reply.",
			Buckets: interactionBuckets,
		}, []string{"command"}),
		gatewayConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bot_gateway_connected",
			Help: "1 while the gateway session is ready, 0 otherwise.",
		}),
		gatewayLatency: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bot_gateway_latency_seconds",
			Help: "Round trip of the last gateway heartbeat.",
		}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_gateway_reconnects_total",
			Help: "Gateway sessions made ready again after the first, by kind (resume, identify).",
		}, []string{"kind"}),
		restRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_rest_requests_total",
			Help: "REST responses from Discord, by method and route template and HTTP status (error: no response).",
		}, []string{"route", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_rest_rate_limited_total",
			Help: "REST requests answered 429, by scope (global, user, shared).",
		}, []string{"scope"}),
		casesCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_cases_created_total",
			Help: "Cases recorded, by kind.",
		}, []string{"kind"}),
		dmFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bot_dm_failures_total",
			Help: "DMs to members that did not arrive, by reason (closed, timeout, error).",
		}, []string{"reason"}),
		backupFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bot_backup_failures_total",
			Help: "Scheduled backups that failed since the bot started.",
		}),
	}
	// The series whose labels come from a small known set start at zero,
	// so a scrape and a rate() see them before their first event: a query
	// for rate limits or DM failures then reads 0 rather than no data.
	for _, kind := range []string{"resume", "identify"} {
		m.reconnects.WithLabelValues(kind)
	}
	for _, scope := range []string{"global", "user", "shared"} {
		m.rateLimited.WithLabelValues(scope)
	}
	for _, reason := range []string{"closed", "timeout", "error"} {
		m.dmFailures.WithLabelValues(reason)
	}
	for _, kind := range []string{"warning", "note", "timeout", "untimeout", "kick", "ban", "unban"} {
		m.casesCreated.WithLabelValues(kind)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.interactions, m.interactionDuration, m.gatewayConnected, m.gatewayLatency, m.reconnects,
		m.restRequests, m.rateLimited, m.casesCreated, m.dmFailures, m.backupFailures,
		&sourceCollector{src: src},
	)
	return m
}

// Handler serves the registry in Prometheus' text format. A figure that
// cannot be read is left out of the scrape, which still answers, rather
// than failing it whole.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer returns the registry, for tests and tools that read the
// metrics without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// InteractionDone counts one interaction and its time to the final reply.
func (m *Metrics) InteractionDone(command, outcome string, d time.Duration) {
	m.interactions.WithLabelValues(command, outcome).Inc()
	m.interactionDuration.WithLabelValues(command).Observe(d.Seconds())
}

// CaseCreated counts a case of kind.
func (m *Metrics) CaseCreated(kind string) { m.casesCreated.WithLabelValues(kind).Inc() }

// DMFailed counts a DM that did not arrive.
func (m *Metrics) DMFailed(reason string) { m.dmFailures.WithLabelValues(reason).Inc() }

// GatewayConnected records whether the gateway session is ready.
func (m *Metrics) GatewayConnected(up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.gatewayConnected.Set(v)
}

// GatewayLatency records a heartbeat's round trip.
func (m *Metrics) GatewayLatency(d time.Duration) { m.gatewayLatency.Set(d.Seconds()) }

// Reconnected counts a session made ready again, by kind: resume or identify.
func (m *Metrics) Reconnected(kind string) { m.reconnects.WithLabelValues(kind).Inc() }

// RESTRequest counts a REST response; route is the method and Discord's
// route template, status 0 means no response arrived.
func (m *Metrics) RESTRequest(route string, status int) {
	s := "error"
	if status > 0 {
		s = strconv.Itoa(status)
	}
	m.restRequests.WithLabelValues(route, s).Inc()
}

// RateLimited counts a 429 of scope.
func (m *Metrics) RateLimited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }

// BackupFailed counts a scheduled backup that failed.
func (m *Metrics) BackupFailed() { m.backupFailures.Inc() }

// sourceCollector reads the Sources at each scrape.
type sourceCollector struct{ src Sources }

var (
	dbSizeDesc = prometheus.NewDesc("bot_db_size_bytes",
		"Size of the database file.", nil, nil)
	walSizeDesc = prometheus.NewDesc("bot_wal_size_bytes",
		"Size of the database's write-ahead log (0 when there is none).", nil, nil)
	pendingDesc = prometheus.NewDesc("bot_scheduled_actions_pending",
		"Scheduled actions (such as the end of a timed ban) not yet run.", nil, nil)
	backupAtDesc = prometheus.NewDesc("bot_backup_last_success_timestamp_seconds",
		"When the last successful backup, manual or scheduled, was made (Unix time; 0: none recorded).", nil, nil)
	backupTookDesc = prometheus.NewDesc("bot_backup_last_duration_seconds",
		"How long the last successful backup took.", nil, nil)
)

// Describe sends the descriptions of the scrape-time metrics.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbSizeDesc, walSizeDesc, pendingDesc, backupAtDesc, backupTookDesc} {
		ch <- d
	}
}

// Collect reads each source; one that fails is left out of this scrape.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	if p := c.src.DBPath; p != "" {
		if fi, err := os.Stat(p); err == nil {
			gauge(dbSizeDesc, float64(fi.Size()))
		}
		wal := 0.0
		if fi, err := os.Stat(p + "-wal"); err == nil {
			wal = float64(fi.Size())
		}
		gauge(walSizeDesc, wal)
	}
	if f := c.src.ScheduledPending; f != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		n, err := f(ctx)
		cancel()
		if err == nil {
			gauge(pendingDesc, float64(n))
		}
	}
	if f := c.src.LastBackup; f != nil {
		if at, took, err := f(); err == nil {
			ts := 0.0
			if !at.IsZero() {
				ts = float64(at.UnixNano()) / 1e9
			}
			gauge(backupAtDesc, ts)
			gauge(backupTookDesc, took.Seconds())
		}
	}
}
