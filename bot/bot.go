// Package bot is the moderation side of the bot: the command definitions,
// one routes table, the handlers, the permission rules, modlog and DM
// notices, and the scheduler that ends temporary bans.
//
// It does not hold the Discord connection. A Bot is given a Connection (the
// conn package provides one), receives interactions from it and answers
// through its REST client. Run connects, registers the commands, serves
// interactions until its context ends, and then shuts down gracefully: it
// stops taking new interactions, lets those in flight finish, and closes
// the connection, all within Options.ShutdownTimeout.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/disgo/cache"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// Connection is what the bot needs of its link to Discord. *conn.Client
// implements it.
type Connection interface {
	// OnInteraction sets the function that receives every interaction.
	OnInteraction(func(discord.Interaction))
	// OnGuildChange sets the function told, in order, that the bot is in
	// a guild (present) or has left it for good (not an outage).
	OnGuildChange(func(guildID snowflake.ID, present bool))
	// Open connects and returns once the gateway is READY.
	Open(ctx context.Context) error
	// Fatal receives the error that ended the connection for good.
	Fatal() <-chan error
	// Ready reports whether the gateway connection is up.
	Ready() bool
	// Close ends the connection.
	Close(ctx context.Context)
	// Rest returns the REST client; it tolerates contexts with deadlines.
	Rest() rest.Rest
	// Caches returns what the gateway reported about the bot's guilds.
	Caches() cache.Caches
	// ID returns the bot's user ID once connected.
	ID() snowflake.ID
	// ApplicationID returns the bot's application ID.
	ApplicationID() snowflake.ID
}

// Options configure a Bot. Connection and Stores are required; everything
// else has a default.
type Options struct {
	// Connection is the link to Discord.
	Connection Connection
	// GuildIDs, when set, registers the commands to these guilds only, which
	// takes effect at once; otherwise they are registered globally.
	GuildIDs []snowflake.ID
	// ShutdownTimeout bounds a graceful shutdown (default 10s).
	ShutdownTimeout time.Duration
	// Logger receives the bot's logs; it must redact the token.
	Logger *slog.Logger
	// Version is shown by /ping.
	Version string
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Stores is where the commands keep their records.
	Stores Stores
	// SchedulerInterval is how often the scheduler looks for due actions,
	// such as the end of a temporary ban, and for servers the bot left
	// whose records are due for deletion (default 5s). Adding an action
	// wakes it at once, so this bounds only how late an action can run.
	SchedulerInterval time.Duration
	// Retention is the operator's retention.cases: how long a case is kept
	// once it no longer counts; 0 keeps cases forever. A server may choose
	// a shorter period.
	Retention time.Duration
	// AfterLeave is the operator's retention.after_leave: how long a
	// server's records are kept after the bot left it; 0 keeps them.
	AfterLeave time.Duration
	// Limits bound how often commands may be used, how many are handled
	// at once, and how many bans and kicks a moderator may make in a
	// minute; zero fields take DefaultLimits.
	Limits Limits
	// Erased, if set, is given what an erasure ledger outside the database
	// needs, so that restoring an older backup erases the member again,
	// before the erasure commits; its error aborts the erasure, which the
	// admin is told.
	Erased func(ctx context.Context, erased []storage.Erasure) error
	// Observer, if set, is told of interactions, cases and failed DMs,
	// for metrics; nil tells no one.
	Observer Observer
}

// Bot serves the moderation commands over a Connection. Its methods are
// safe for concurrent use.
type Bot struct {
	opts     Options
	log      *slog.Logger
	conn     Connection
	handlers *handlers
	router   *router
	limits   *limiter

	// backfillsPending counts the guilds whose audit log is to be read or
	// being read for actions taken outside the bot while it was away;
	// scheduled actions wait for them (scheduler.held).
	backfillsPending atomic.Int64
	// backfillCut is set when a shutdown stopped a backfill before it
	// recorded everything it read (see Settled).
	backfillCut atomic.Bool
	// baseCtx is the parent of every interaction's context; cancelled when a
	// graceful shutdown runs out of time.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	closing  atomic.Bool
	inflight sync.WaitGroup
	running  atomic.Int64 // interactions in flight, for tests and logs

	sched     *scheduler
	retain    *retainer
	retention *operatorRetention

	// regMu orders command registrations: the one at start and those of
	// SetGuildIDs.
	regMu    sync.Mutex
	guildIDs []snowflake.ID // where the commands are registered; none: globally
	synced   bool           // whether Run has registered them
}

// New builds a Bot on opts.Connection. It does not connect; Run does.
func New(opts Options) (*Bot, error) {
	if opts.Stores.Cases == nil || opts.Stores.Settings == nil || opts.Stores.Schedule == nil ||
		opts.Stores.Privacy == nil || opts.Stores.Modlog == nil {
		return nil, errors.New("bot.New: Options.Stores is incomplete")
	}
	if opts.Connection == nil {
		return nil, errors.New("bot.New: Options.Connection is required")
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.SchedulerInterval <= 0 {
		opts.SchedulerInterval = 5 * time.Second
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	opts.Stores.Cases = observedCases{CaseStore: opts.Stores.Cases, obs: opts.Observer}
	c := opts.Connection
	b := &Bot{opts: opts, log: opts.Logger, conn: c, guildIDs: slices.Clone(opts.GuildIDs)}
	b.baseCtx, b.cancelBase = context.WithCancel(context.Background())
	api := &discordAPI{rest: c.Rest(), cache: c.Caches(), botID: c.ID, log: opts.Logger, modlog: opts.Stores.Modlog, obs: opts.Observer}
	api.modlogQueue = newModlogQueue(opts.Stores.Modlog, modlogFlushAfter)
	b.sched = &scheduler{
		stores: opts.Stores, discord: api, now: opts.Now, log: opts.Logger,
		interval: opts.SchedulerInterval, wake: make(chan struct{}, 1),
	}
	b.retention = newOperatorRetention(opts.Retention, opts.AfterLeave)
	b.limits = newLimiter(opts.Limits, opts.Now, opts.Logger, opts.Stores.Settings)
	b.handlers = &handlers{
		stores: opts.Stores, discord: api, now: opts.Now, log: opts.Logger,
		version: opts.Version, nudge: b.sched.nudge,
		retention: b.retention, erased: opts.Erased, exports: newExportLimiter(),
		limits: b.limits,
	}
	if opts.Stores.Retention != nil {
		b.retain = &retainer{
			store: opts.Stores.Retention, now: opts.Now, log: opts.Logger,
			periods:  b.retention,
			interval: opts.SchedulerInterval, wake: make(chan struct{}, 1),
			forget: opts.Stores.forgetGuild,
		}
		c.OnGuildChange(b.retain.guildChanged)
	}
	b.router = newRouter(b.handlers.routes(), b.handlers)
	b.router.obs = opts.Observer
	c.OnInteraction(b.handleInteraction)
	if src, ok := c.(auditLogSource); ok {
		src.OnAuditLogEntry(b.handleAuditLogEntry)
		src.OnGuildReady(b.handleGuildReady)
		b.handlers.auditEntries = true
		b.sched.hold = b.backfilling
	}
	return b, nil
}

// Run connects to Discord, registers the commands and serves interactions
// until ctx is done, then shuts down gracefully. It returns nil after a clean
// shutdown.
func (b *Bot) Run(ctx context.Context) error {
	b.handlers.started = b.opts.Now()
	cmds := Definitions()
	names := make([]string, 0, len(cmds))
	for _, c := range cmds {
		if _, ok := c.Slash(); ok {
			names = append(names, "/"+c.Name())
		} else {
			names = append(names, c.Name()) // a context-menu entry
		}
	}
	b.log.Info("loaded command modules", slog.Int("count", len(names)), slog.Any("commands", names))

	// From here on, what the connection started (interactions, the
	// audit-log backfill of each guild) may be using the database, which
	// the caller closes once Run returns: every return waits for it.
	if err := b.conn.Open(ctx); err != nil {
		b.shutdown()
		return err
	}
	if err := b.syncCommands(ctx); err != nil {
		b.shutdown()
		return fmt.Errorf("register slash commands: %w", err)
	}
	b.log.Info("bot is ready", slog.String("user", b.conn.ID().String()))
	// Started only once the bot is ready: an overdue action from before a
	// restart runs at once, and its modlog post needs the connection.
	b.sched.start()
	if b.retain != nil {
		b.retain.start()
	}

	select {
	case <-ctx.Done():
		return b.shutdown()
	case err := <-b.conn.Fatal():
		b.shutdown()
		return err
	}
}

// Ready reports whether the gateway connection is up.
func (b *Bot) Ready() bool { return b.conn.Ready() }

// handleInteraction runs each interaction in its own goroutine so one slow
// command never holds up the gateway, and tracks it for graceful shutdown.
func (b *Bot) handleInteraction(i discord.Interaction) {
	if tooOldToAnswer(i.ID(), time.Now()) {
		// A resumed session replays the events a restart missed; an
		// interaction among them was either handled before the restart
		// or can no longer be acknowledged, and handling it now could
		// record a moderator's action twice.
		b.log.Info("ignored an interaction too old to answer (replayed after a restart?)",
			slog.String("interaction", i.ID().String()))
		return
	}
	e := &event{Interaction: i, ctx: b.baseCtx, rest: b.conn.Rest(), received: time.Now()}
	if b.closing.Load() {
		b.refuseWhileClosing(e)
		return
	}
	b.inflight.Add(1)
	b.running.Add(1)
	go func() {
		defer b.inflight.Done()
		defer b.running.Add(-1)
		b.limits.run(e, b.router.dispatch)
		b.router.finish(e)
	}()
}

func (b *Bot) refuseWhileClosing(e *event) {
	if e.Type() == discord.InteractionTypeAutocomplete {
		return
	}
	if err := e.reply("The bot is restarting; please try again in a minute.", true); err != nil {
		b.log.Debug("could not refuse an interaction during shutdown", errAttr(err))
	}
}

// staleInteraction is the age past which an interaction is not handled.
// Discord refuses the first answer after three seconds; the rest allows
// for a host clock somewhat ahead of Discord's.
const staleInteraction = 15 * time.Second

// tooOldToAnswer reports whether the interaction with id, which carries
// the time Discord made it, is older than staleInteraction at now.
func tooOldToAnswer(id snowflake.ID, now time.Time) bool {
	return now.Sub(id.Time()) > staleInteraction
}

// inflightCount returns how many interactions are being handled.
func (b *Bot) inflightCount() int64 { return b.running.Load() }

// shutdown stops taking interactions, waits for those in flight, and closes
// the connection, all within ShutdownTimeout.
func (b *Bot) shutdown() error {
	b.log.Info("shutting down", slog.Duration("timeout", b.opts.ShutdownTimeout))
	b.closing.Store(true)
	// The scheduler stops first: an action cut short stays claimed and is
	// requeued at the next start, so stopping loses nothing.
	b.sched.stop()
	// Every interaction has ended: the modlog posts they made are
	// recorded before the database closes.
	defer b.handlers.discord.modlogQueue.flush(context.Background())
	if b.retain != nil {
		b.retain.stop()
	}
	deadline := time.NewTimer(b.opts.ShutdownTimeout)
	defer deadline.Stop()

	done := make(chan struct{})
	go func() {
		b.inflight.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-deadline.C:
		err = fmt.Errorf("interactions still running after %s; they were cancelled", b.opts.ShutdownTimeout)
		b.cancelBase()
	}
	b.conn.Close(context.Background())
	b.cancelBase()
	return err
}
