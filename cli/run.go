package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/bot"
	"github.com/modbot/bot/config"
	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/health"
	"github.com/modbot/bot/logring"
	"github.com/modbot/bot/metrics"
	"github.com/modbot/bot/status"
	"github.com/modbot/bot/storage"
)

const runUsage = `
Usage: bot run [-c FILE] [--log-level LEVEL]

Connects to Discord with discord.token and serves the slash commands until
SIGINT or SIGTERM. It applies pending database migrations first, holds the
data directory's lock while it runs (a second 'bot run' or a 'bot restore'
on the same data is refused), and on a signal finishes the commands in
flight, closes the connection and the database within run.shutdown_timeout.

When http.listen is set (default 127.0.0.1:8081), it serves /healthz (the
process is alive) and /readyz (the database answers and the gateway is
connected) for 'bot health', Docker and systemd, the status page at /,
/metrics (Prometheus' text format; docs/grafana-dashboard.json and
docs/prometheus-alerts.yml read it), and the recent log as JSON lines at
/debug/logs. With http.token set, all but /healthz require it
(Authorization: Bearer TOKEN, or ?token= for the page and the log); on an
address other than loopback, 'bot run' refuses to start without one.

On SIGHUP it reads the configuration again and applies, without dropping
the gateway, the log level and format, alerts.*, the backup schedule, the
limits, the retention periods and discord.guild_ids; other changes are
logged as needing a restart. An invalid file changes nothing: the log names
the key and the line.
`

func cmdRun(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("run")
	cfgPath := configFlag(flags)
	level := flags.String("log-level", "", "log level: debug, info, warn or error (default from log.level)")
	if err := parseFlags(e, flags, runUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	var over map[string]string
	if *level != "" {
		over = map[string]string{"log.level": *level}
	}
	cfg, err := e.loadConfig(*cfgPath, over)
	if err != nil {
		return err
	}
	if err := cfg.RequireToken(); err != nil {
		return err
	}
	log, ring, err := e.ringLogger(cfg)
	if err != nil {
		return err
	}
	return e.runBotRing(withReload(ctx, *cfgPath, over), cfg, log, ring)
}

// runBot is `bot run` after configuration for a logger without a ring of
// recent records: bot demo runs the bot with it.
func (e *env) runBot(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	return e.runBotRing(ctx, cfg, log, nil)
}

// runBotRing is `bot run` after configuration: it takes the lock, opens
// the data, runs the bot until ctx ends, then checkpoints and closes the
// database. ring, when not nil, holds log's recent records, for the status
// page and /debug/logs.
func (e *env) runBotRing(ctx context.Context, cfg *config.Config, log *slog.Logger, ring *logring.Ring) (err error) {
	ver := e.build.Version
	started := time.Now()
	if err := checkListen(cfg); err != nil {
		return err
	}
	log, liveRun := e.liveLog(cfg, log)
	if _, err := os.Stat(cfg.Storage.DataDir); err != nil {
		return fmt.Errorf("no data directory at %s: run 'bot init' first (or point storage.data_dir at your data)", cfg.Storage.DataDir)
	}
	lock, err := storage.Lock(cfg.Storage.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	live := datadir.DBPath(cfg)
	note := restoreNotice(e, live, datadir.KeysPath(cfg))
	in, err := datadir.Open(ctx, cfg, true)
	if err != nil && ctx.Err() != nil {
		// A stop asked for while the database was being opened is a
		// stop, not damage: nothing was changed, and the next start
		// opens it again.
		log.Info("stopped before start-up finished", slog.Any("reason", err))
		return nil
	}
	if err != nil {
		if note != "" {
			fmt.Fprint(e.stderr, note)
		}
		return err
	}
	if note != "" {
		// The database in place is whole, and the bot runs on it: the
		// interrupted restore is settled, and the notice says how to undo.
		fmt.Fprintf(e.stderr, "%sThe bot runs on the database in place.\n", note)
		if err := os.Remove(pendingPath(live)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", pendingPath(live), err)
		}
	}
	defer func() {
		// A clean stop leaves one self-contained database file.
		cerr := in.DB.Checkpoint(context.Background())
		if cerr != nil {
			log.Warn("could not checkpoint the database at shutdown; it is safe, the WAL is replayed at the next start", slog.Any("err", cerr))
		}
		if cerr := in.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the database: %w", cerr)
		}
		log.Info("stopped")
	}()
	guilds, err := guildIDs(cfg)
	if err != nil {
		return err
	}
	met := newMetrics(cfg, in.DB)
	gw := beginGateway(cfg, log)
	c, err := conn.New(conn.Options{
		Token:            cfg.Discord.Token,
		APIURL:           cfg.Discord.APIURL,
		GatewayURL:       cfg.Discord.GatewayURL,
		Logger:           log,
		Session:          gw.session(),
		KeepSession:      true,
		OnStartLimitWait: gw.waiting,
		IdentifyDelay:    gw.delay,
		OnReady:          gw.readied,
		Observer:         met,
	})
	if err != nil {
		return err
	}
	stopSaving := gw.keepSaving(c)
	defer func() {
		stopSaving()
		gw.end(c, err == nil)
	}()
	b, err := bot.New(bot.Options{
		Connection:      c,
		GuildIDs:        guilds,
		ShutdownTimeout: cfg.Run.ShutdownTimeout,
		Logger:          log,
		Version:         ver,
		Stores:          bot.NewStores(in.DB, in.Keys),
		Retention:       cfg.Retention.Cases,
		AfterLeave:      cfg.Retention.AfterLeave,
		Limits:          bot.Limits(cfg.Limits),
		Erased: func(_ context.Context, erased []storage.Erasure) error {
			return datadir.AddToLedger(in, erased)
		},
		Observer: met,
	})
	if err != nil {
		return err
	}
	gw.resumableWhen(b.Settled)
	if cfg.HTTP.Listen != "" {
		// The status page reads the gateway's latency and the commands
		// served from the bot's metrics.
		gatherer := met.Gatherer()
		sampler := status.NewSampler(gatherer)
		sampleCtx, stopSampling := context.WithCancel(ctx)
		defer stopSampling()
		go sampler.Run(sampleCtx, time.Minute)
		o := health.Options{Addr: cfg.HTTP.Listen, DB: in.DB, Bot: b, Log: log, Token: cfg.HTTP.Token, Metrics: met.Handler(),
			Page: &status.Source{
				Version:        ver,
				Started:        started,
				Checks:         pageChecks(cfg, in.DB),
				Connected:      b.Ready,
				Guilds:         func() int { return c.Caches().GuildsLen() },
				Gatherer:       gatherer,
				Commands:       sampler,
				Log:            ring,
				Backups:        func() (backups.Status, error) { return backups.ReadStatus(cfg) },
				BackupInterval: cfg.Backup.Interval,
				Keys:           in.Keys.Status,
				ErrorLog:       log,
			}}
		if ring != nil {
			o.Logs = ring
		}
		stop, err := health.Serve(o)
		if err != nil {
			return err
		}
		defer stop()
	}
	// The schedule runs even when backup.interval is off, idle, so that a
	// reload can turn it on.
	backupCtx, stopBackups := context.WithCancel(ctx)
	sched := backups.NewScheduler(cfg, in.DB, in.Keys, log)
	sched.Observer = met
	backupsDone := make(chan struct{})
	go func() {
		defer close(backupsDone)
		sched.Run(backupCtx)
	}()
	// Stop the schedule, and wait for a backup under way, before the
	// database closes.
	defer func() { stopBackups(); <-backupsDone }()
	defer liveRun.start(ctx, b, b.Ready, sched)()
	log.Info("starting", slog.String("version", ver), slog.String("data_dir", cfg.Storage.DataDir))
	err = b.Run(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// pageChecks returns the checks of 'bot health' that the status page runs
// at each refresh: those that read small files and ask the open database
// for nothing more than a ping. The database and keys checks, which open
// the installation a second time and read every page, stay in 'bot health'.
func pageChecks(cfg *config.Config, db health.Pinger) func(context.Context) []status.Check {
	return func(ctx context.Context) []status.Check {
		ping := check{"database", "ok", "answers"}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			ping = check{"database", "fail", err.Error()}
		}
		now := time.Now()
		var out []status.Check
		for _, c := range []check{ping, diskCheck(cfg), backupCheck(cfg), verificationCheck(cfg, now), gatewayCheck(cfg, now)} {
			out = append(out, status.Check(c))
		}
		return out
	}
}

// checkListen refuses an http.listen that other machines can reach while
// http.token is empty: the status page, /metrics and /debug/logs would
// show anyone the bot's servers, errors and keys.
func checkListen(cfg *config.Config) error {
	if cfg.HTTP.Listen == "" || strings.TrimSpace(cfg.HTTP.Token) != "" || isLoopback(cfg.HTTP.Listen) {
		return nil
	}
	return fmt.Errorf("http.listen is %s, which other machines can reach, and http.token is not set: "+
		"set BOT_HTTP_TOKEN (or http.token) so that the status page, /metrics, /readyz and /debug/logs require it, "+
		"or listen on 127.0.0.1", cfg.HTTP.Listen)
}

// isLoopback reports whether the host of addr is a loopback address or
// "localhost". An empty host listens on every interface, and any other
// name may resolve beyond the machine, so both count as reachable.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// newMetrics returns the bot's metrics, reading the database's size, the
// pending scheduled actions and the last backup's record at each scrape.
func newMetrics(cfg *config.Config, db *storage.DB) *metrics.Metrics {
	// Counting opens no sealed value, so the count needs no cipher.
	schedule := storage.NewSchedule(db, nil)
	return metrics.New(metrics.Sources{
		DBPath:           datadir.DBPath(cfg),
		ScheduledPending: schedule.Pending,
		LastBackup: func() (time.Time, time.Duration, error) {
			st, err := backups.ReadStatus(cfg)
			if err != nil || st.LastSuccess == nil {
				return time.Time{}, 0, err
			}
			return st.LastSuccess.At, time.Duration(st.LastSuccess.Took * float64(time.Second)), nil
		},
	})
}
