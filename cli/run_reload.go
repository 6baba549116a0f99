package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"

	"github.com/modbot/bot/alerts"
	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/config"
)

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
// logger's handler, the alerts monitor and the backup schedule.
type liveRun struct {
	e      *env
	log    *slog.Logger
	root   *swapRoot
	errs   *alerts.ErrorCounter
	alerts *alerts.Monitor

	mu    sync.Mutex // guards cfg and sched
	cfg   *config.Config
	sched *backups.Scheduler
}

// liveLog wraps log so that a reload can replace its handler and the
// alerts can count its errors.
func (e *env) liveLog(cfg *config.Config, log *slog.Logger) (*slog.Logger, *liveRun) {
	root := &swapRoot{h: log.Handler()}
	errs := alerts.NewErrorCounter()
	l := slog.New(errs.Wrap(&swapHandler{root: root}))
	return l, &liveRun{e: e, log: l, root: root, errs: errs, cfg: cfg}
}

// start runs the alerts monitor on gatewayUp and, for 'bot run', reloads
// the configuration on each SIGHUP, until the returned function is called.
func (lr *liveRun) start(ctx context.Context, gatewayUp func() bool, sched *backups.Scheduler) (stop func()) {
	lr.mu.Lock()
	cfg := lr.cfg
	lr.sched = sched
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
					lr.reload(src)
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// reload reads the configuration again and applies what can change live.
// An invalid configuration changes nothing; its error names the key and
// the line.
func (lr *liveRun) reload(src reloadSource) {
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
	var restart []string
	for _, r := range restartOnly {
		if !reflect.DeepEqual(r.get(prev), r.get(next)) {
			restart = append(restart, r.key)
		}
	}
	if b := next.Backup; b != prev.Backup {
		if lr.sched != nil {
			lr.sched.SetSchedule(b.Interval, b.Keep)
		} else if b.Interval > 0 {
			restart = append(restart, "backup.interval (scheduled backups were off at start)")
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
	{"discord.guild_ids", func(c *config.Config) any { return c.Discord.GuildIDs }},
	{"storage.data_dir", func(c *config.Config) any { return c.Storage.DataDir }},
	{"http.listen", func(c *config.Config) any { return c.HTTP.Listen }},
	{"http.token", func(c *config.Config) any { return c.HTTP.Token }},
	{"backup.dir", func(c *config.Config) any { return c.Backup.Dir }},
	{"keys", func(c *config.Config) any { return c.Keys }},
	{"retention", func(c *config.Config) any { return c.Retention }},
	{"limits", func(c *config.Config) any { return c.Limits }},
	{"run.shutdown_timeout", func(c *config.Config) any { return c.Run.ShutdownTimeout }},
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
