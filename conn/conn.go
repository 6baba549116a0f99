// Package conn is the bot's connection to Discord: the gateway (connect,
// identify, resume, heartbeats, zombie detection, fatal close codes) and the
// REST client with its guards (a timeout that ends with each response body,
// and no deadline ever reaching disgo's rate limiter).
//
// It knows nothing of moderation. Package bot receives interactions from it
// through a callback and answers through its REST client.
package conn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/disgoorg/disgo"
	disgobot "github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/cache"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/disgo/handlers"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// Options configure a Client. Token is required.
type Options struct {
	// Token is the bot token from the Discord developer portal.
	Token string
	// APIURL overrides Discord's REST base URL (https://discord.com/api/v10),
	// for a REST proxy or a local fake such as discordtest.
	APIURL string
	// GatewayURL overrides the gateway URL that Discord returns from GET /gateway.
	GatewayURL string
	// ReadyTimeout bounds the wait for READY (or RESUMED) on each gateway
	// connection (default 30s); after it the connection is tried again,
	// with backoff. Open waits through the retries, until its ctx ends.
	ReadyTimeout time.Duration
	// Session, if set, is the session of the previous process, which Open
	// RESUMEs so that Discord replays the events sent while the bot was
	// down. It is ignored when older than ResumeWindow or of another bot;
	// if Discord refuses it, the Client identifies.
	Session *Session
	// KeepSession makes Close leave the gateway session resumable (close
	// code 4000 instead of 1000), for a process that saves Session at
	// shutdown for the next one.
	KeepSession bool
	// OnStartLimitWait, if set, is told when the Client waits before
	// identifying because Discord's daily limit of session starts is used
	// up: until is when it tries again, why says what it waits for; a zero
	// until means the wait is over. It is how 'bot health' learns of it.
	OnStartLimitWait func(until time.Time, why string)
	// IdentifyDelay is waited before the first IDENTIFY, not before a
	// RESUME, which costs no session start: the crash-loop backoff of
	// CrashBackoff. OnStartLimitWait is told of it too.
	IdentifyDelay time.Duration
	// OnReady, if set, is called each time the gateway session becomes
	// ready (READY or RESUMED), so that it can be saved at once. It runs on
	// the gateway's reader and must return quickly.
	OnReady func()
	// Logger receives the connection's logs and disgo's (info and above
	// only: disgo logs request bodies at debug level). It must redact the
	// token.
	Logger *slog.Logger
	// InvalidSessionDelay picks the wait before identifying again after a
	// non-resumable INVALID_SESSION; Discord asks for 1 to 5 seconds, which
	// is the default.
	InvalidSessionDelay func() time.Duration
	// Observer, if set, is told of the gateway's state and latency and of
	// every REST response, for metrics; nil tells no one.
	Observer Observer
}

// Client is a connection to Discord. Its methods are safe for concurrent use.
type Client struct {
	opts   Options
	log    *slog.Logger
	client disgobot.Client
	gw     *gatewayConn

	ready    chan struct{}
	readyOne sync.Once
	closeOne sync.Once

	mu            sync.Mutex
	onInteraction func(discord.Interaction)
}

// New builds a Client. It does not connect; Open does.
func New(opts Options) (*Client, error) {
	if opts.Token == "" {
		return nil, fmt.Errorf("no Discord token: set discord.token in the config file or BOT_DISCORD_TOKEN")
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	c := &Client{opts: opts, log: opts.Logger, ready: make(chan struct{})}
	quiet := slog.New(infoAndAbove{opts.Logger.Handler()})

	restClient, _ := newRESTClient(restConfig{token: opts.Token, apiURL: opts.APIURL, log: c.log, quiet: quiet,
		timeout: restTimeout, backoff: serverErrorBackoff, obs: opts.Observer})

	c.gw = newGatewayConn(opts.Token, opts.GatewayURL, Intents, c.log)
	if opts.InvalidSessionDelay != nil {
		c.gw.invalidSessionDelay = opts.InvalidSessionDelay
	}
	c.gw.readyTimeout = opts.ReadyTimeout
	c.gw.obs = opts.Observer
	c.gw.keepSession = opts.KeepSession
	c.gw.onWait = opts.OnStartLimitWait
	c.gw.identifyDelay = opts.IdentifyDelay
	c.gw.onResumed = func() {
		c.readyOne.Do(func() { close(c.ready) })
		c.readied()
	}
	client, err := disgo.New(opts.Token,
		disgobot.WithGateway(c.gw),
		disgobot.WithLogger(quiet),
		// Guilds and roles come with GUILD_CREATE; the permission checks read
		// owner and role positions from here instead of asking REST each time.
		disgobot.WithCacheConfigOpts(cache.WithCaches(cache.FlagGuilds|cache.FlagRoles|cache.FlagMembers)),
		disgobot.WithRestClient(restClient),
		disgobot.WithEventListenerFunc(c.interactionCreate),
		disgobot.WithEventListenerFunc(func(*events.Ready) {
			c.readyOne.Do(func() { close(c.ready) })
			c.readied()
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("set up the Discord client: %w", err)
	}
	c.gw.handler = handlers.DefaultGatewayEventHandlerFunc(client)
	c.gw.startLimit = func(ctx context.Context) (startLimit, error) { return fetchStartLimit(ctx, client.Rest()) }
	c.client = client
	return c, nil
}

func (c *Client) readied() {
	if c.opts.OnReady != nil {
		c.opts.OnReady()
	}
}

// OnInteraction sets the function that receives every interaction. It is
// called on the gateway's reader, so it must return quickly. Set it before
// Open.
func (c *Client) OnInteraction(f func(discord.Interaction)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onInteraction = f
}

func (c *Client) interactionCreate(e *events.InteractionCreate) {
	c.mu.Lock()
	f := c.onInteraction
	c.mu.Unlock()
	if f != nil {
		f(e.Interaction)
	}
}

// Open connects to the gateway and waits for READY, within ctx and
// Options.ReadyTimeout. After a failure the Client is closed.
func (c *Client) Open(ctx context.Context) error {
	if c.gw.url == "" {
		gw, err := c.client.Rest().GetGateway(rest.WithCtx(ctx))
		if err != nil {
			return fmt.Errorf("ask Discord for the gateway URL: %w", err)
		}
		c.gw.url = gw.URL
	}
	if ok, why := c.opts.Session.usable(c.client.ApplicationID(), time.Now()); ok {
		c.log.Info("resuming the gateway session of the previous run", slog.Time("saved_at", c.opts.Session.SavedAt))
		c.gw.resumeFrom(*c.opts.Session)
	} else if c.opts.Session != nil {
		c.log.Info("identifying with the gateway: "+why, slog.Time("saved_at", c.opts.Session.SavedAt))
	}
	if err := c.gw.Open(ctx); err != nil {
		c.Close(context.Background())
		return err
	}
	var err error
	select {
	case <-c.ready:
		if err = c.knowSelf(ctx); err == nil {
			return nil
		}
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-c.gw.fatal:
	}
	c.Close(context.Background())
	return err
}

// knowSelf puts the bot's own user in the cache after a RESUME, which,
// unlike READY, does not carry it: ID and the bot's name in cases need it.
func (c *Client) knowSelf(ctx context.Context) error {
	if _, ok := c.client.Caches().SelfUser(); ok {
		return nil
	}
	u, err := c.client.Rest().GetCurrentUser("", rest.WithCtx(ctx))
	if err != nil {
		return fmt.Errorf("ask Discord for the bot's own user after resuming: %w", err)
	}
	c.client.Caches().SetSelfUser(*u)
	return nil
}

// Fatal receives the error that ended the connection for good (a close code
// after which reconnecting cannot help, such as a rejected token).
func (c *Client) Fatal() <-chan error { return c.gw.fatal }

// Ready reports whether the gateway connection is up.
func (c *Client) Ready() bool {
	select {
	case <-c.ready:
	default:
		return false
	}
	return c.gw.Status() == gateway.StatusReady
}

// Close ends the gateway session and the REST client, within ctx and at
// most 5 seconds. Only the first call acts: disgo's rate limiter locks
// every bucket on close for good, so a second close would wait out its
// whole deadline.
func (c *Client) Close(ctx context.Context) {
	c.closeOne.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		c.client.Close(ctx)
	})
}

// Rest returns the REST client. Calls may carry contexts with deadlines:
// the client turns them into cancellations.
func (c *Client) Rest() rest.Rest { return c.client.Rest() }

// Caches returns what the gateway has told the bot about its guilds.
func (c *Client) Caches() cache.Caches { return c.client.Caches() }

// ID returns the bot's user ID.
func (c *Client) ID() snowflake.ID { return c.client.ID() }

// ApplicationID returns the bot's application ID.
func (c *Client) ApplicationID() snowflake.ID { return c.client.ApplicationID() }

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

// errAttr is the log attribute for a connection error. Gateway errors name
// no user, so nothing needs masking here.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.String("err", "")
	}
	return slog.String("err", err.Error())
}
