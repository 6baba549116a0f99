// Package bot runs the Discord side of the moderation bot: the disgo client,
// the command definitions and their handlers, permission checks, and the
// modlog and DM notices.
//
// A Bot is built with New and driven by Run, which connects to the gateway,
// registers the commands, serves interactions until its context ends, and then
// shuts down gracefully: it stops taking new interactions, lets those in flight
// finish, and closes the gateway, all within Options.ShutdownTimeout.
package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/disgo"
	disgobot "github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/cache"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/handlers"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// Options configure a Bot. Token is required; everything else has a default.
type Options struct {
	// Token is the bot token from the Discord developer portal.
	Token string
	// APIURL overrides Discord's REST base URL (https://discord.com/api/v10),
	// for a REST proxy or a local fake such as discordtest.
	APIURL string
	// GatewayURL overrides the gateway URL that Discord returns from GET /gateway.
	GatewayURL string
	// GuildIDs, when set, registers the commands to these guilds only, which
	// takes effect at once; otherwise they are registered globally.
	GuildIDs []snowflake.ID
	// ShutdownTimeout bounds a graceful shutdown (default 10s).
	ShutdownTimeout time.Duration
	// ReadyTimeout bounds the wait for the gateway's READY at start (default 30s).
	ReadyTimeout time.Duration
	// Logger receives the bot's logs and disgo's; it must redact the token.
	Logger *slog.Logger
	// Version is shown by /ping.
	Version string
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Stores is where the commands keep their records.
	Stores Stores
	// SchedulerInterval is how often the scheduler looks for due actions,
	// such as the end of a temporary ban (default 5s). Adding an action
	// wakes it at once, so this bounds only how late an action can run.
	SchedulerInterval time.Duration
}

// Bot is a connected moderation bot. Its methods are safe for concurrent use.
type Bot struct {
	opts     Options
	log      *slog.Logger
	client   disgobot.Client
	mux      *handler.Mux
	commands []Command
	started  time.Time

	// baseCtx is the parent of every interaction's context; cancelled when a
	// graceful shutdown runs out of time.
	baseCtx    context.Context
	cancelBase context.CancelFunc

	closing  atomic.Bool
	inflight sync.WaitGroup
	running  atomic.Int64 // interactions in flight, for tests and logs
	ready    chan struct{}
	readyOne sync.Once
	gw       *gatewayConn

	// settingsLocks holds a *sync.Mutex per guild ID. A settings change
	// reads, edits and saves the whole settings row; without the lock two
	// admins adding moderator roles at once would each save a list missing
	// the other's role. One process serves a database (storage locks the
	// data directory), so a lock in memory is enough.
	settingsLocks sync.Map

	// sched carries out scheduled actions; started by Run.
	sched *scheduler
}

// infoAndAbove drops debug records. It wraps the logger given to disgo,
// whose REST client logs every request and response body at debug level:
// those bodies hold decrypted reasons and names (DMs, modlog posts), which
// must never reach a log, whatever log.level says.
type infoAndAbove struct{ slog.Handler }

func (h infoAndAbove) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo && h.Handler.Enabled(ctx, l)
}

func (h infoAndAbove) WithAttrs(a []slog.Attr) slog.Handler {
	return infoAndAbove{h.Handler.WithAttrs(a)}
}

func (h infoAndAbove) WithGroup(name string) slog.Handler {
	return infoAndAbove{h.Handler.WithGroup(name)}
}

// restTimeout bounds one REST request, from sending it to the end of its
// response body, so that a hung connection cannot hold a command forever.
const restTimeout = 20 * time.Second

// closingTransport bounds each request by timeout and closes its response
// body once it has been read to the end. disgo v0.18.15 reads bodies but
// never closes them. http.Client's own Timeout stops its timer only on
// Close, so each request's timer, context and goroutine stayed alive for the
// full 20 s: at a few hundred interactions a second, 100 MB of heap. Here
// the request's context is cancelled at the end of its body instead.
type closingTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t closingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &closeAtEOF{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// closeAtEOF closes the body it wraps, and cancels its request's context,
// when a read reaches its end.
type closeAtEOF struct {
	io.ReadCloser
	cancel context.CancelFunc
	closed bool
}

func (c *closeAtEOF) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if err == io.EOF && !c.closed {
		c.Close()
	}
	return n, err
}

func (c *closeAtEOF) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// New builds a Bot and its disgo client. It does not connect; Run does.
func New(opts Options) (*Bot, error) {
	if opts.Stores.Cases == nil || opts.Stores.Settings == nil || opts.Stores.Schedule == nil {
		return nil, errors.New("bot.New: Options.Stores is incomplete")
	}
	if opts.Token == "" {
		return nil, errors.New("no Discord token: set discord.token in the config file or BOT_DISCORD_TOKEN")
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
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
	b := &Bot{
		opts:  opts,
		log:   opts.Logger,
		mux:   handler.New(),
		ready: make(chan struct{}),
	}
	b.baseCtx, b.cancelBase = context.WithCancel(context.Background())
	b.sched = newScheduler(b)
	b.commands = b.loadCommands()
	b.routes()

	restOpts := []rest.ConfigOpt{
		// The transport's timeout bounds a hung connection. It is not a
		// deadline on the context disgo's rate limiter waits with, so the
		// limiter's trap does not apply (disgo unlocks the bucket when the
		// request fails).
		rest.WithHTTPClient(&http.Client{Transport: closingTransport{next: http.DefaultTransport, timeout: restTimeout}}),
		rest.WithRateLimiterConfigOpts(
			// The limiter keeps a bucket per interaction token until its
			// cleanup runs, about 800 bytes each. disgo starts the cleanup
			// goroutine before the client resets the limiter's fields,
			// unsynchronised, so the first tick must come long after
			// construction: every 5 minutes bounds the memory without
			// racing a client being built.
			rest.WithCleanupInterval(5*time.Minute),
			// A 429 without a bucket header is retried at once, without
			// waiting; a few tries are enough to ride out a blip.
			rest.WithMaxRetries(3),
		),
	}
	if opts.APIURL != "" {
		restOpts = append(restOpts, rest.WithURL(opts.APIURL))
	}
	// Guild events carry the roles and owners that permission checks need.
	b.gw = newGatewayConn(opts.Token, opts.GatewayURL, gateway.IntentGuilds, b.log)
	client, err := disgo.New(opts.Token,
		disgobot.WithGateway(b.gw),
		disgobot.WithLogger(slog.New(infoAndAbove{b.log.Handler()})),
		// Guilds and roles come with GUILD_CREATE; the permission checks read
		// owner and role positions from here instead of asking REST each time.
		disgobot.WithCacheConfigOpts(cache.WithCaches(cache.FlagGuilds|cache.FlagRoles|cache.FlagMembers)),
		disgobot.WithRestClientConfigOpts(restOpts...),
		disgobot.WithEventListenerFunc(b.onInteraction),
		disgobot.WithEventListenerFunc(b.onReady),
	)
	if err != nil {
		return nil, fmt.Errorf("set up the Discord client: %w", err)
	}
	b.gw.handler = handlers.DefaultGatewayEventHandlerFunc(client)
	b.client = client
	return b, nil
}

// Run connects to Discord, registers the commands and serves interactions
// until ctx is done, then shuts down gracefully. It returns nil after a clean
// shutdown.
func (b *Bot) Run(ctx context.Context) error {
	b.started = b.opts.Now()
	names := make([]string, 0, len(b.commands))
	for _, c := range b.commands {
		names = append(names, "/"+c.Name())
	}
	b.log.Info("loaded command modules", slog.Int("count", len(names)), slog.Any("commands", names))

	if b.gw.url == "" {
		gw, err := b.client.Rest().GetGateway(rest.WithCtx(withoutDeadline(ctx)))
		if err != nil {
			return fmt.Errorf("ask Discord for the gateway URL: %w", err)
		}
		b.gw.url = gw.URL
	}
	if err := b.gw.Open(ctx); err != nil {
		return err
	}
	if err := b.waitReady(ctx); err != nil {
		b.closeClient()
		return err
	}
	if err := b.syncCommands(ctx); err != nil {
		b.closeClient()
		return fmt.Errorf("register slash commands: %w", err)
	}
	b.log.Info("bot is ready", slog.String("user", b.client.ID().String()))
	// Started only once the bot is ready: an overdue action from before a
	// restart runs at once, and its modlog post needs the client.
	b.sched.start()

	select {
	case <-ctx.Done():
		return b.shutdown()
	case err := <-b.gw.fatal:
		b.shutdown()
		return err
	}
}

func (b *Bot) waitReady(ctx context.Context) error {
	timer := time.NewTimer(b.opts.ReadyTimeout)
	defer timer.Stop()
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case err := <-b.gw.fatal:
		return err
	case <-timer.C:
		return fmt.Errorf("no READY from the Discord gateway within %s: check discord.gateway_url and the network", b.opts.ReadyTimeout)
	}
}

// Ready reports whether the gateway connection is up.
func (b *Bot) Ready() bool {
	select {
	case <-b.ready:
	default:
		return false
	}
	return b.gw.Status() == gateway.StatusReady
}

// Client returns the underlying disgo client, for tests and tooling.
func (b *Bot) Client() disgobot.Client { return b.client }

func (b *Bot) onReady(e *events.Ready) {
	b.readyOne.Do(func() { close(b.ready) })
}

// onInteraction runs each interaction in its own goroutine so one slow
// command never holds up the gateway, and tracks it for graceful shutdown.
func (b *Bot) onInteraction(e *events.InteractionCreate) {
	if b.closing.Load() {
		b.refuseWhileClosing(e)
		return
	}
	b.inflight.Add(1)
	b.running.Add(1)
	go func() {
		defer b.inflight.Done()
		defer b.running.Add(-1)
		b.mux.OnEvent(e)
	}()
}

func (b *Bot) refuseWhileClosing(e *events.InteractionCreate) {
	if e.Type() == discord.InteractionTypeAutocomplete {
		return
	}
	err := e.Respond(discord.InteractionResponseTypeCreateMessage, discord.MessageCreate{
		Content:         "The bot is restarting; please try again in a minute.",
		Flags:           discord.MessageFlagEphemeral,
		AllowedMentions: noMentions(),
	}, rest.WithCtx(withoutDeadline(b.baseCtx)))
	if err != nil {
		b.log.Debug("could not refuse an interaction during shutdown", errAttr(err))
	}
}

// inflightCount returns how many interactions are being handled.
func (b *Bot) inflightCount() int64 { return b.running.Load() }

// shutdown stops taking interactions, waits for those in flight, and closes
// the gateway, all within ShutdownTimeout.
func (b *Bot) shutdown() error {
	b.log.Info("shutting down", slog.Duration("timeout", b.opts.ShutdownTimeout))
	b.closing.Store(true)
	// The scheduler stops first: an action cut short stays claimed and is
	// requeued at the next start, so stopping loses nothing.
	b.sched.stop()
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
	b.closeClient()
	b.cancelBase()
	return err
}

func (b *Bot) closeClient() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b.client.Close(ctx)
}
