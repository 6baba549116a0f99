package conn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"
)

// gatewayConn is the bot's connection to Discord's gateway. It implements
// disgo's gateway.Gateway, so disgo's client, event manager and handlers work
// on top of it, but it replaces disgo's own implementation, which in
// v0.18.15 has data races between its heartbeat, reader and Close, panics on
// a heartbeat before the first dispatch, never notices a connection that
// stopped acknowledging heartbeats, and logs the IDENTIFY payload with the
// token in it.
//
// Life cycle: Open dials and starts a reader for the connection. HELLO
// starts the heartbeat, then IDENTIFY (or RESUME when a session exists). On
// any failure short of a fatal close code the reader reconnects with backoff
// and resumes the session, so Discord replays what the bot missed. A
// heartbeat that finds the previous one unacknowledged declares the
// connection dead (a zombie) and reconnects: detection takes at most two
// heartbeat intervals. Close ends it all.
type gatewayConn struct {
	token   string
	url     string // the configured gateway URL, without query
	intents gateway.Intents
	log     *slog.Logger
	dialer  *websocket.Dialer
	// invalidSessionDelay picks the wait before identifying again after a
	// non-resumable INVALID_SESSION (Discord asks for 1 to 5 seconds).
	invalidSessionDelay func() time.Duration

	handler gateway.EventHandlerFunc // set before Open

	// startLimit reads Discord's session start limit before each
	// IDENTIFY; nil skips the check. onWait, if set, is told when a
	// connection waits for the limit to reset (zero time: it no longer
	// waits). onResumed is called when a RESUME succeeds.
	startLimit func(context.Context) (startLimit, error)
	onWait     func(until time.Time, why string)
	onResumed  func()
	// obs is told of the session's state, latency and reconnects.
	obs Observer
	// everReady is set by the first READY or RESUMED of the process;
	// each later one is a reconnect.
	everReady bool
	// readyTimeout bounds the wait for READY or RESUMED on each
	// connection; after it the connection is dropped and tried again.
	readyTimeout time.Duration
	// keepSession makes Close leave the session resumable on Discord's
	// side, so that the next process can RESUME it.
	keepSession bool

	// fatal receives the error that stopped reconnecting for good.
	fatal chan error

	wmu sync.Mutex // serialises writes to conn

	mu        sync.Mutex
	conn      *websocket.Conn
	gen       int // increments with each connection; stale goroutines compare it
	status    gateway.Status
	sessionID string
	resumeURL string
	seq       int
	hasSeq    bool
	lastBeat  time.Time
	lastAck   time.Time
	awaitAck  bool
	closed    bool
	done      chan struct{} // closed by Close, ends waits
	stopBeat  chan struct{}
	// lastIdentify paces IDENTIFYs; failures counts the connections in a
	// row that never became ready, for the backoff.
	lastIdentify time.Time
	failures     int
	readyGen     int // the gen of the connection that became ready
	// identifyDelay is waited once, before the first IDENTIFY.
	identifyDelay time.Duration
	wg            sync.WaitGroup
}

// Close codes after which reconnecting cannot help: bad token, bad shard,
// sharding required, bad API version, bad or disallowed intents.
var fatalCloseCodes = map[int]string{
	4004: "Discord rejected the token: copy it again from the Bot page of the developer portal",
	4010: "invalid shard",
	4011: "sharding required: the bot is in too many servers for one connection",
	4012: "invalid gateway API version",
	4013: "invalid intents",
	4014: "disallowed intents: enable them on the Bot page of the developer portal",
}

// Close codes after which the session cannot be resumed.
var sessionEndingCodes = map[int]bool{4007: true, 4009: true}

// closeReconnect is sent when the bot drops a connection it wants to resume:
// any code but 1000 and 1001 keeps the session alive on Discord's side.
const closeReconnect = 4000

func newGatewayConn(token, url string, intents gateway.Intents, log *slog.Logger) *gatewayConn {
	return &gatewayConn{
		token:   token,
		url:     url,
		intents: intents,
		log:     log,
		dialer:  &websocket.Dialer{HandshakeTimeout: 15 * time.Second, Proxy: websocket.DefaultDialer.Proxy},
		invalidSessionDelay: func() time.Duration {
			return time.Second + rand.N(4*time.Second)
		},
		fatal:        make(chan error, 1),
		status:       gateway.StatusUnconnected,
		readyTimeout: 30 * time.Second,
		done:         make(chan struct{}),
		obs:          noObserver{},
	}
}

// ShardID implements gateway.Gateway; the bot runs one shard.
func (g *gatewayConn) ShardID() int { return 0 }

// ShardCount implements gateway.Gateway.
func (g *gatewayConn) ShardCount() int { return 1 }

// SessionID implements gateway.Gateway.
func (g *gatewayConn) SessionID() *string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sessionID == "" {
		return nil
	}
	s := g.sessionID
	return &s
}

// LastSequenceReceived implements gateway.Gateway.
func (g *gatewayConn) LastSequenceReceived() *int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hasSeq {
		return nil
	}
	s := g.seq
	return &s
}

// Intents implements gateway.Gateway.
func (g *gatewayConn) Intents() gateway.Intents { return g.intents }

// Status implements gateway.Gateway.
func (g *gatewayConn) Status() gateway.Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.status
}

// Latency implements gateway.Gateway: the round trip of the last
// acknowledged heartbeat.
func (g *gatewayConn) Latency() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lastAck.Before(g.lastBeat) {
		return 0
	}
	return g.lastAck.Sub(g.lastBeat)
}

// Presence implements gateway.Gateway; the bot sets none.
func (g *gatewayConn) Presence() *gateway.MessageDataPresenceUpdate { return nil }

// Open dials the gateway and starts reading. READY arrives later, as an event.
func (g *gatewayConn) Open(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.closed = false
		g.done = make(chan struct{})
	}
	g.mu.Unlock()
	return g.connect(ctx)
}

// resumeFrom makes the next connection RESUME s instead of identifying.
func (g *gatewayConn) resumeFrom(s Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessionID, g.resumeURL, g.seq, g.hasSeq = s.ID, s.ResumeURL, s.Seq, true
}

func (g *gatewayConn) connect(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errors.New("gateway closed")
	}
	url := g.url
	resume := g.sessionID != "" && g.hasSeq
	if resume && g.resumeURL != "" {
		url = g.resumeURL
	}
	g.mu.Unlock()
	if !resume {
		if err := g.identifyPermit(ctx); err != nil {
			return err
		}
	}
	g.mu.Lock()
	g.status = gateway.StatusConnecting
	g.mu.Unlock()

	conn, _, err := g.dialer.DialContext(ctx, fmt.Sprintf("%s?v=%d&encoding=json", url, gateway.Version), nil)
	if err != nil {
		g.mu.Lock()
		g.status = gateway.StatusDisconnected
		g.mu.Unlock()
		return fmt.Errorf("dial the Discord gateway: %w", err)
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		conn.Close()
		return errors.New("gateway closed")
	}
	g.gen++
	gen := g.gen
	g.conn = conn
	g.status = gateway.StatusWaitingForHello
	g.wg.Add(1)
	g.mu.Unlock()
	go g.read(conn, gen)
	return nil
}

// Close implements gateway.Gateway. It ends the session for good, unless
// keepSession is set: then it closes with a code that keeps the session,
// which the next process resumes (the bot shows as online until Discord
// times the session out, a minute or so, or the next process resumes it).
func (g *gatewayConn) Close(ctx context.Context) {
	if g.keepSession {
		g.CloseWithCode(ctx, closeReconnect, "restarting")
		return
	}
	g.CloseWithCode(ctx, websocket.CloseNormalClosure, "Shutting down")
}

// CloseWithCode implements gateway.Gateway. It stops reconnecting and
// waits, within ctx, for the reader to exit.
func (g *gatewayConn) CloseWithCode(ctx context.Context, code int, message string) {
	g.mu.Lock()
	if !g.closed {
		close(g.done)
	}
	g.closed = true
	conn := g.conn
	g.dropLocked()
	if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
		g.sessionID, g.resumeURL, g.hasSeq = "", "", false
	}
	g.status = gateway.StatusDisconnected
	g.mu.Unlock()
	if conn != nil {
		g.wmu.Lock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, message), time.Now().Add(time.Second))
		g.wmu.Unlock()
		conn.Close()
	}
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// dropLocked forgets the current connection and stops its heartbeat; the
// reader notices its connection is no longer current and exits quietly.
func (g *gatewayConn) dropLocked() {
	if g.stopBeat != nil {
		close(g.stopBeat)
		g.stopBeat = nil
	}
	g.conn = nil
	g.gen++
	g.obs.GatewayConnected(false)
}

// Send implements gateway.Gateway.
func (g *gatewayConn) Send(ctx context.Context, op gateway.Opcode, d gateway.MessageData) error {
	data, err := json.Marshal(struct {
		Op gateway.Opcode      `json:"op"`
		D  gateway.MessageData `json:"d"`
	}{op, d})
	if err != nil {
		return err
	}
	g.mu.Lock()
	conn := g.conn
	g.mu.Unlock()
	if conn == nil {
		return errors.New("not connected to the gateway")
	}
	return g.write(conn, data)
}

func (g *gatewayConn) write(conn *websocket.Conn, data []byte) error {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, data)
}
