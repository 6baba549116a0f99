package discordtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/snowflake/v2"
)

// apiPrefix is the REST base path, as in https://discord.com/api/v10.
const apiPrefix = "/api/v10"

// ErrClosed is returned by waiting methods once the server is closed.
var ErrClosed = errors.New("discordtest: server closed")

// Server is a fake Discord listening on 127.0.0.1. Create one with NewServer
// and stop it with Close. All methods are safe for concurrent use.
type Server struct {
	cfg      config
	appID    snowflake.ID
	botID    snowflake.ID
	token    string
	botName  string
	base     string // http://127.0.0.1:P
	ln       net.Listener
	hs       *http.Server
	spec     *spec
	closed   chan struct{}
	closeOne sync.Once
	wg       sync.WaitGroup
	lastID   atomic.Uint64 // the newest snowflake handed out

	restFaults restFaults // faults of every route (faults_rest.go), with its own lock

	// mu guards everything below. Gateway writes happen under session locks,
	// which are always taken before mu, never while holding it.
	mu           sync.Mutex
	changed      chan struct{} // closed and replaced whenever anything is recorded
	users        map[snowflake.ID]*user
	guilds       []*Guild
	channels     map[snowflake.ID]*Channel
	dmChannels   map[snowflake.ID]snowflake.ID // user ID -> DM channel ID
	messages     map[snowflake.ID][]*Message   // channel ID -> messages, oldest first
	commands     map[snowflake.ID][]command    // guild ID (0 = global) -> commands
	interactions map[string]*interaction       // token -> interaction
	requests     []Request
	violations   []Violation
	pings        []Ping
	gwLog        []GatewayMessage
	sessions     map[string]*session
	gwLimits     gatewayLimits
	conns        map[*gwConn]struct{}
	connSeq      int
	noACKs       bool
	rules        []*faultRule
	webhooks     map[snowflake.ID]*webhook // made by CreateWebhook (webhooks.go)
}

// config holds what the Options set.
type config struct {
	heartbeat     time.Duration
	specPath      string
	deadline      time.Duration
	deferTimeout  time.Duration
	logger        *slog.Logger
	applicationID snowflake.ID
	botName       string
}

// Option configures a Server.
type Option func(*config)

// WithHeartbeatInterval sets the heartbeat_interval sent in HELLO. The
// default is 41.25 s, long enough that a short test never heartbeats.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeat = d }
}

// WithSpec turns on validation of every REST request body against the
// OpenAPI description at path (see SpecPath). A body the description
// rejects is answered 400 and recorded as a Violation. The file is read and
// parsed once per process.
func WithSpec(path string) Option {
	return func(c *config) { c.specPath = path }
}

// WithInteractionDeadline changes how long after INTERACTION_CREATE the first
// callback is accepted. Discord allows 3 s, the default; tests of late
// answers can shorten it.
func WithInteractionDeadline(d time.Duration) Option {
	return func(c *config) { c.deadline = d }
}

// WithDeferTimeout sets how long InvokeSlash waits for the edit of
// @original after a deferred answer (type 5). The default is 10 s.
func WithDeferTimeout(d time.Duration) Option {
	return func(c *config) { c.deferTimeout = d }
}

// WithLogger logs each REST request and gateway connection at debug level.
// By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithApplicationID fixes the application ID (which is also the bot user's
// ID) instead of a generated one.
func WithApplicationID(id snowflake.ID) Option {
	return func(c *config) { c.applicationID = id }
}

// WithBotName sets the bot user's username. The default is "modbot".
func WithBotName(name string) Option {
	return func(c *config) { c.botName = name }
}

// NewServer starts a fake Discord on 127.0.0.1 with a random port. Like
// httptest.NewServer it panics if it cannot listen, or if WithSpec names a
// file that cannot be loaded.
func NewServer(opts ...Option) *Server {
	cfg := config{
		heartbeat:    41250 * time.Millisecond,
		deadline:     3 * time.Second,
		deferTimeout: 10 * time.Second,
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		botName:      "modbot",
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		cfg:          cfg,
		botName:      cfg.botName,
		closed:       make(chan struct{}),
		changed:      make(chan struct{}),
		users:        map[snowflake.ID]*user{},
		channels:     map[snowflake.ID]*Channel{},
		dmChannels:   map[snowflake.ID]snowflake.ID{},
		messages:     map[snowflake.ID][]*Message{},
		commands:     map[snowflake.ID][]command{},
		interactions: map[string]*interaction{},
		sessions:     map[string]*session{},
		conns:        map[*gwConn]struct{}{},
	}
	if cfg.specPath != "" {
		sp, err := loadSpec(cfg.specPath)
		if err != nil {
			panic("discordtest: " + err.Error())
		}
		s.spec = sp
	}
	s.appID = cfg.applicationID
	if s.appID == 0 {
		s.appID = s.newID()
	}
	s.botID = s.appID
	s.token = base64.RawStdEncoding.EncodeToString([]byte(s.appID.String())) + "." + randomHex(4) + "." + randomHex(16)
	s.users[s.botID] = &user{id: s.botID, username: s.botName, bot: true}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("discordtest: listen: " + err.Error())
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.hs.Serve(ln)
	}()
	return s
}

// Close stops the server: it closes every gateway connection (with no close
// frame), ends pending waits with ErrClosed, lets REST requests in progress
// finish, and returns once every goroutine of the server has finished. Close
// the bot's client first, or it will try to reconnect.
func (s *Server) Close() {
	s.closeOne.Do(func() {
		close(s.closed) // ends Delay sleeps and waits
		s.mu.Lock()
		conns := make([]*gwConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			_ = c.ws.Close()
		}
		// Shutdown lets REST handlers in progress finish; Close then drops
		// whatever is left.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.hs.Shutdown(ctx)
		cancel()
		_ = s.hs.Close()
		s.wg.Wait()
	})
}

// APIURL is the REST base URL, without a trailing slash, for
// rest.WithURL: http://127.0.0.1:P/api/v10.
func (s *Server) APIURL() string { return s.base + apiPrefix }

// GatewayURL is the gateway URL for gateway.WithURL: ws://127.0.0.1:P/gw.
func (s *Server) GatewayURL() string { return "ws" + s.base[len("http"):] + "/gw" }

// Token is the only bot token the server accepts. Its first segment is the
// unpadded base64 of the application ID, as disgo expects.
func (s *Server) Token() string { return s.token }

// ApplicationID is the ID of the bot's application.
func (s *Server) ApplicationID() snowflake.ID { return s.appID }

// BotUserID is the ID of the bot user (equal to the application ID, as for
// bots created on Discord today).
func (s *Server) BotUserID() snowflake.ID { return s.botID }

// newID returns a fresh snowflake, above every earlier one, whose
// timestamp is now, as Discord's are: the bot reads an interaction's age
// from its ID.
func (s *Server) newID() snowflake.ID {
	for {
		last := s.lastID.Load()
		next := max(uint64(snowflake.New(time.Now())), last+1)
		if s.lastID.CompareAndSwap(last, next) {
			return snowflake.ID(next)
		}
	}
}

// bumpLocked wakes every waiter. Callers hold s.mu.
func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil calls cond under s.mu until it returns true, the context ends or
// the server closes.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return ErrClosed
		}
	}
}

// WaitReady waits until a gateway session has received READY and its
// GUILD_CREATEs and is connected.
func (s *Server) WaitReady(ctx context.Context) error {
	return s.waitUntil(ctx, func() bool {
		for _, ss := range s.sessions {
			if ss.connected {
				return true
			}
		}
		return false
	})
}

// sleep waits for d, or less if the server closes or ctx ends.
func (s *Server) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.closed:
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// String names the server by its base URL.
func (s *Server) String() string {
	return fmt.Sprintf("discordtest.Server(%s)", s.base)
}
