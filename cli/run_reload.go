package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/alerts"
	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/bot"
	"github.com/modbot/bot/config"
)

// liveBot is what a reload changes in the running bot. *bot.Bot
// implements it.
type liveBot interface {
	SetLimits(bot.Limits)
	SetRetention(cases, afterLeave time.Duration)
	SetGuildIDs(ctx context.Context, ids []snowflake.ID) error
}

// registerTimeout bounds the registration of the commands with a new
// discord.guild_ids, a few REST calls per guild that Discord may rate
// limit.
const registerTimeout = time.Minute

// reloadKey carries, in the context of 'bot run', where its configuration
// came from, so that SIGHUP reads the same file, environment and flags.
type reloadKey struct{}

// reloadSource is what 'bot run' loaded its configuration from.
type reloadSource struct {
	path  string
	flags map[string]string
}

// withReload marks ctx as that of a 'bot run' that reloads on SIGHUP.
func withReload(ctx context.Context, path string, flags map[string]string) context.Context {
	return context.WithValue(ctx, reloadKey{}, reloadSource{path: path, flags: flags})
}

// liveRun holds what a running bot changes without a restart: the
// logger's handler, the alerts monitor, the backup schedule, and the bot's
// limits, retention and command registration.
type liveRun struct {
	e      *env
	log    *slog.Logger
	root   *swapRoot
	errs   *alerts.ErrorCounter
	alerts *alerts.Monitor

	// started is the configuration the process started with: what runs
	// for every setting a reload cannot change.
	started *config.Config

	mu    sync.Mutex     // guards cfg, sched and bot
	cfg   *config.Config // the last configuration applied
	sched *backups.Scheduler
	bot   liveBot // nil: the bot's settings need a restart
}

// liveLog wraps log so that a reload can replace its handler and the
// alerts can count its errors.
func (e *env) liveLog(cfg *config.Config, log *slog.Logger) (*slog.Logger, *liveRun) {
	root := &swapRoot{h: log.Handler()}
	errs := alerts.NewErrorCounter()
	l := slog.New(errs.Wrap(&swapHandler{root: root}))
	return l, &liveRun{e: e, log: l, root: root, errs: errs, started: cfg, cfg: cfg}
}

// start runs the alerts monitor on gatewayUp and, for 'bot run', reloads
// the configuration on each SIGHUP into b and sched, until the returned
// function is called.
func (lr *liveRun) start(ctx context.Context, b liveBot, gatewayUp func() bool, sched *backups.Scheduler) (stop func()) {
	lr.mu.Lock()
	cfg := lr.cfg
	lr.sched, lr.bot = sched, b
	lr.mu.Unlock()
	lr.alerts = alerts.New(alerts.Options{Settings: alerts.SettingsFrom(cfg),
		Sources: alerts.DataSources(cfg, gatewayUp, lr.errs), Log: lr.log})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); lr.alerts.Run(ctx) }()
	if src, ok := ctx.Value(reloadKey{}).(reloadSource); ok {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer signal.Stop(hup)
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					lr.reload(ctx, src)
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// reload reads the configuration again and applies what can change live.
// An invalid configuration changes nothing; its error names the key and
// the line.
func (lr *liveRun) reload(ctx context.Context, src reloadSource) {
	lr.log.Info("SIGHUP: reloading the configuration")
	next, err := lr.e.loadConfig(src.path, src.flags)
	if err == nil {
		err = next.RequireToken()
	}
	var nl *slog.Logger
	if err == nil {
		nl, err = lr.e.reloadLogger(next)
	}
	if err != nil {
		lr.log.Error("the configuration was not reloaded; the bot keeps running with the one it had", slog.Any("err", err))
		return
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	prev := lr.cfg
	lr.root.set(nl.Handler())
	lr.alerts.SetSettings(alerts.SettingsFrom(next))
	// Against the start, not the last file read: a setting changed and
	// then changed back is the one running, and needs no restart.
	var restart []string
	for _, r := range restartOnly {
		if !reflect.DeepEqual(r.get(lr.started), r.get(next)) {
			restart = append(restart, r.key)
		}
	}
	restart = append(restart, lr.applyToBot(ctx, prev, next)...)
	if b := next.Backup; b != prev.Backup {
		if lr.sched != nil {
			lr.sched.SetSchedule(b.Interval, b.Keep)
		}
	}
	lr.cfg = next
	if len(restart) > 0 {
		lr.log.Warn("these settings changed but take effect only after a restart of 'bot run'", slog.Any("keys", restart))
	}
	lr.log.Info("configuration reloaded")
}

// restartOnly lists the settings a running bot cannot change, each with
// how to read it from a Config.
var restartOnly = []struct {
	key string
	get func(*config.Config) any
}{
	{"discord.token", func(c *config.Config) any { return c.Discord.Token }},
	{"discord.api_url", func(c *config.Config) any { return c.Discord.APIURL }},
	{"discord.gateway_url", func(c *config.Config) any { return c.Discord.GatewayURL }},
	{"storage.data_dir", func(c *config.Config) any { return c.Storage.DataDir }},
	{"http.listen", func(c *config.Config) any { return c.HTTP.Listen }},
	{"http.token", func(c *config.Config) any { return c.HTTP.Token }},
	{"backup.dir", func(c *config.Config) any { return c.Backup.Dir }},
	{"keys", func(c *config.Config) any { return c.Keys }},
	{"run.shutdown_timeout", func(c *config.Config) any { return c.Run.ShutdownTimeout }},
}

// applyToBot puts next's limits, retention and guild IDs in force in the
// bot, where they differ from prev's, and returns those it could not
// apply, which need a restart: without a bot, those that differ from the
// ones it started with. lr.mu is held. A registration that fails
// leaves prev's guild IDs in next, so that the next reload tries again.
func (lr *liveRun) applyToBot(ctx context.Context, prev, next *config.Config) (restart []string) {
	if lr.bot == nil {
		for _, r := range []struct {
			key     string
			changed bool
		}{
			{"discord.guild_ids", !slices.Equal(lr.started.Discord.GuildIDs, next.Discord.GuildIDs)},
			{"retention", lr.started.Retention != next.Retention},
			{"limits", lr.started.Limits != next.Limits},
		} {
			if r.changed {
				restart = append(restart, r.key)
			}
		}
		return restart
	}
	if next.Limits != prev.Limits {
		lr.bot.SetLimits(bot.Limits(next.Limits))
		lr.log.Info("applied the new limits")
	}
	if next.Retention != prev.Retention {
		lr.bot.SetRetention(next.Retention.Cases, next.Retention.AfterLeave)
		lr.log.Info("applied the new retention")
	}
	if !slices.Equal(prev.Discord.GuildIDs, next.Discord.GuildIDs) {
		ids, err := guildIDs(next)
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, registerTimeout)
			err = lr.bot.SetGuildIDs(rctx, ids)
			cancel()
		}
		if err != nil {
			lr.log.Error("the commands could not be registered for the new discord.guild_ids; the bot keeps the ones it had, and the next reload tries again",
				slog.Any("err", err))
			next.Discord.GuildIDs = prev.Discord.GuildIDs
		} else {
			lr.log.Info("registered the commands for the new discord.guild_ids", slog.Any("guild_ids", next.Discord.GuildIDs))
		}
	}
	return nil
}

// guildIDs returns cfg's discord.guild_ids as snowflakes.
func guildIDs(cfg *config.Config) ([]snowflake.ID, error) {
	ids := make([]snowflake.ID, 0, len(cfg.Discord.GuildIDs))
	for _, g := range cfg.Discord.GuildIDs {
		id, err := snowflake.Parse(g)
		if err != nil {
			return nil, fmt.Errorf("discord.guild_ids: %q is not a guild ID", g)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// swapRoot holds the handler that every logger derived from a liveLog
// writes through, replaced on reload.
type swapRoot struct {
	mu  sync.RWMutex
	h   slog.Handler
	gen int
}

func (r *swapRoot) set(h slog.Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h, r.gen = h, r.gen+1
}

func (r *swapRoot) get() (slog.Handler, int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.h, r.gen
}

// swapHandler writes through the root's current handler, with the
// attributes and groups given to it along the way applied again after
// each swap: loggers made with With before a reload keep their fields.
type swapHandler struct {
	root *swapRoot
	ops  []func(slog.Handler) slog.Handler

	mu     sync.Mutex
	gen    int
	cached slog.Handler
}

func (h *swapHandler) current() slog.Handler {
	rh, gen := h.root.get()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached == nil || h.gen != gen {
		for _, op := range h.ops {
			rh = op(rh)
		}
		h.cached, h.gen = rh, gen
	}
	return h.cached
}

// Enabled implements slog.Handler.
func (h *swapHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.current().Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *swapHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.current().Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *swapHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(attrs) })
}

// WithGroup implements slog.Handler.
func (h *swapHandler) WithGroup(name string) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *swapHandler) with(op func(slog.Handler) slog.Handler) slog.Handler {
	ops := append(append([]func(slog.Handler) slog.Handler(nil), h.ops...), op)
	return &swapHandler{root: h.root, ops: ops}
}
