package discordtest

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// Gateway intents the fake looks at.
const (
	intentGuilds          = 1 << 0
	intentGuildMembers    = 1 << 1
	intentGuildModeration = 1 << 2
)

// Gateway close codes the fake sends.
const (
	closeUnknownOpcode       = 4001
	closeDecodeError         = 4002
	closeNotAuthenticated    = 4003
	closeAuthFailed          = 4004
	closeAlreadyAuthenticate = 4005
)

// sessionLogLimit bounds the dispatches kept for RESUME per session.
const sessionLogLimit = 2000

var upgrader = websocket.Upgrader{
	CheckOrigin: func(*http.Request) bool { return true },
}

// session is one identified gateway session. It outlives a dropped
// connection so that RESUME can replay what was missed.
type session struct {
	srv     *Server
	id      string
	intents int64

	mu   sync.Mutex // orders dispatches: sequence numbers go out in order
	seq  int
	log  []logged
	conn *gwConn
	dead bool

	connected bool // guarded by srv.mu, for WaitReady
}

type logged struct {
	seq int
	t   string
	d   json.RawMessage
}

// gwConn is one websocket connection.
type gwConn struct {
	srv *Server
	id  int
	ws  *websocket.Conn

	wmu      sync.Mutex // one writer at a time, as gorilla requires
	compress bool
	closing  bool

	sess  *session // guarded by srv.mu
	beats int      // heartbeats received unasked, guarded by srv.mu
	asked bool     // op 1 sent, the next heartbeat answers it; srv.mu
}

type inFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int            `json:"s"`
	T  *string         `json:"t"`
}

type outFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int            `json:"s"`
	T  *string         `json:"t"`
}

// serveGateway upgrades the connection and runs it until it closes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		_ = ws.Close()
		return
	default:
	}
	s.connSeq++
	c := &gwConn{srv: s, id: s.connSeq, ws: ws}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.cfg.logger.Debug("gateway connected", slog.Int("conn", c.id), slog.String("path", r.URL.Path))

	hello, _ := json.Marshal(map[string]any{"heartbeat_interval": s.cfg.heartbeat.Milliseconds()})
	c.write(opHello, nil, "", hello)
	code := c.readLoop()

	s.mu.Lock()
	delete(s.conns, c)
	ss := c.sess
	s.mu.Unlock()
	if ss != nil {
		ss.detach(c, code)
	}
	_ = ws.Close()
	s.cfg.logger.Debug("gateway disconnected", slog.Int("conn", c.id), slog.Int("code", code))
}

// readLoop handles client messages and returns the close code the client
// sent, or 0 when the connection just ended.
func (c *gwConn) readLoop() int {
	s := c.srv
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return 0
		}
		var fr inFrame
		if err := json.Unmarshal(data, &fr); err != nil {
			s.recordGateway(c, true, -1, nil, "", data)
			c.closeWith(closeDecodeError, "Error while decoding payload.")
			continue
		}
		s.recordGateway(c, true, fr.Op, fr.S, "", fr.D)
		s.mu.Lock()
		identified := c.sess != nil
		s.mu.Unlock()
		switch fr.Op {
		case opHeartbeat:
			s.mu.Lock()
			if c.asked {
				c.asked = false
			} else {
				c.beats++
			}
			ack := !s.noACKs
			s.bumpLocked()
			s.mu.Unlock()
			if ack {
				c.write(opHeartbeatACK, nil, "", nil)
			}
		case opIdentify:
			if identified {
				c.closeWith(closeAlreadyAuthenticate, "You sent more than one identify payload.")
				continue
			}
			c.identify(fr.D)
		case opResume:
			if identified {
				c.closeWith(closeAlreadyAuthenticate, "You sent more than one identify payload.")
				continue
			}
			c.resume(fr.D)
		case opPresenceUpdate, opVoiceState, opRequestMembers:
			if !identified {
				c.closeWith(closeNotAuthenticated, "You sent a payload prior to identifying.")
			}
		default:
			c.closeWith(closeUnknownOpcode, "Unknown opcode.")
		}
	}
}

func (c *gwConn) identify(raw json.RawMessage) {
	s := c.srv
	var d struct {
		Token    string `json:"token"`
		Intents  int64  `json:"intents"`
		Compress bool   `json:"compress"`
		Shard    []int  `json:"shard"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	if d.Token != s.token {
		c.closeWith(closeAuthFailed, "Authentication failed.")
		return
	}
	shard, shards := 0, 1
	if len(d.Shard) == 2 && d.Shard[1] > 0 {
		shard, shards = d.Shard[0], d.Shard[1]
	}
	c.wmu.Lock()
	c.compress = d.Compress
	c.wmu.Unlock()
	if !s.takeIdentify() {
		return
	}

	ss := &session{srv: s, id: "fake-session-" + randomHex(8), intents: d.Intents}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.conn = c

	s.mu.Lock()
	c.sess = ss
	s.sessions[ss.id] = ss
	var guilds []*Guild
	for _, g := range s.guilds {
		if _, in := g.members[s.botID]; in && int(uint64(g.ID)>>22)%shards == shard {
			guilds = append(guilds, g)
		}
	}
	ready := s.readyPayloadLocked(ss, guilds, d.Shard)
	creates := make([]any, len(guilds))
	for i, g := range guilds {
		creates[i] = s.guildCreatePayloadLocked(g, ss.intents)
	}
	s.mu.Unlock()

	ss.sendLocked("READY", ready)
	if ss.intents&intentGuilds != 0 {
		for _, p := range creates {
			ss.sendLocked("GUILD_CREATE", p)
		}
	}
	s.mu.Lock()
	ss.connected = true
	s.bumpLocked()
	s.mu.Unlock()
}

func (c *gwConn) resume(raw json.RawMessage) {
	s := c.srv
	var d struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int    `json:"seq"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		c.closeWith(closeDecodeError, "Error while decoding payload.")
		return
	}
	if d.Token != s.token {
		c.closeWith(closeAuthFailed, "Authentication failed.")
		return
	}
	s.mu.Lock()
	ss := s.sessions[d.SessionID]
	s.mu.Unlock()
	if ss == nil {
		c.write(opInvalidSession, nil, "", json.RawMessage("false"))
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.dead {
		c.write(opInvalidSession, nil, "", json.RawMessage("false"))
		return
	}
	if old := ss.conn; old != nil && old != c {
		_ = old.ws.Close()
	}
	ss.conn = c
	s.mu.Lock()
	c.sess = ss
	s.mu.Unlock()
	for _, e := range ss.log {
		if e.seq > d.Seq {
			seq := e.seq
			c.write(opDispatch, &seq, e.t, e.d)
		}
	}
	ss.seq++
	seq := ss.seq
	c.write(opDispatch, &seq, "RESUMED", json.RawMessage("{}"))
	// Ask for a heartbeat at once, as Discord may: disgo produces no event
	// for RESUMED, and this makes its read goroutine act (see race.go).
	c.requestHeartbeat()
	s.mu.Lock()
	ss.connected = true
	s.bumpLocked()
	s.mu.Unlock()
}

// requestHeartbeat sends op 1. The answer is not counted by WaitHeartbeat,
// which waits for the client's own heartbeat timer.
func (c *gwConn) requestHeartbeat() {
	c.srv.mu.Lock()
	c.asked = true
	c.srv.mu.Unlock()
	c.write(opHeartbeat, nil, "", nil)
}

// detach forgets the connection; the session stays resumable unless the
// client closed normally (1000 or 1001), which ends it as on Discord.
func (ss *session) detach(c *gwConn, code int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.conn == c {
		ss.conn = nil
		ss.connected = false
	}
	if code == websocket.CloseNormalClosure || code == websocket.CloseGoingAway {
		ss.dead = true
	}
	if ss.dead {
		delete(s.sessions, ss.id)
	}
	s.bumpLocked()
}

// end invalidates the session: no more dispatches, no RESUME.
func (ss *session) end() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	ss.dead = true
	delete(ss.srv.sessions, ss.id)
	ss.srv.bumpLocked()
}

// dispatch sends an event with the session's next sequence number, or keeps
// it for RESUME while the session is disconnected.
func (ss *session) dispatch(t string, d any) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sendLocked(t, d)
}

func (ss *session) sendLocked(t string, d any) {
	if ss.dead {
		return
	}
	raw, err := json.Marshal(d)
	if err != nil {
		panic("discordtest: marshal " + t + ": " + err.Error())
	}
	ss.seq++
	ss.log = append(ss.log, logged{seq: ss.seq, t: t, d: raw})
	if len(ss.log) > sessionLogLimit {
		ss.log = ss.log[len(ss.log)-sessionLogLimit:]
	}
	if ss.conn != nil {
		seq := ss.seq
		ss.conn.write(opDispatch, &seq, t, raw)
	}
}

// write sends one frame. Dispatches go out zlib-compressed in binary frames
// when IDENTIFY asked for compression, each frame a complete zlib stream (the
// only form disgo can read).
func (c *gwConn) write(op int, seq *int, t string, d json.RawMessage) {
	fr := outFrame{Op: op, D: d, S: seq}
	if t != "" {
		fr.T = &t
	}
	data, err := json.Marshal(fr)
	if err != nil {
		panic("discordtest: marshal frame: " + err.Error())
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing {
		return
	}
	c.srv.recordGateway(c, false, op, seq, t, d)
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if c.compress && op == opDispatch {
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		_, _ = zw.Write(data)
		_ = zw.Close()
		_ = c.ws.WriteMessage(websocket.BinaryMessage, b.Bytes())
		return
	}
	_ = c.ws.WriteMessage(websocket.TextMessage, data)
}

// closeWith sends a close frame and gives the client a second to answer
// before the read loop gives up.
func (c *gwConn) closeWith(code int, text string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	msg := websocket.FormatCloseMessage(code, text)
	c.srv.recordGateway(c, false, -1, nil, "", json.RawMessage(`{"close":`+strconv.Itoa(code)+`}`))
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
}

// liveSessionsLocked lists the sessions that receive dispatches, connected
// or waiting for RESUME.
func (s *Server) liveSessionsLocked() []*session {
	out := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, ss)
	}
	return out
}

// Dispatch sends an arbitrary event (t is the event name, d its data) to
// every gateway session, for events the fake does not produce itself.
func (s *Server) Dispatch(t string, d any) {
	s.broadcast(t, 0, d)
}

// broadcast dispatches to every session whose intents include intent (0:
// always sent).
func (s *Server) broadcast(t string, intent int64, d any) {
	s.mu.Lock()
	targets := s.liveSessionsLocked()
	s.mu.Unlock()
	for _, ss := range targets {
		if intent == 0 || ss.intents&intent != 0 {
			ss.dispatch(t, d)
		}
	}
}

// identifiedConnsLocked lists connections that have a session.
func (s *Server) identifiedConnsLocked() []*gwConn {
	var out []*gwConn
	for c := range s.conns {
		if c.sess != nil {
			out = append(out, c)
		}
	}
	return out
}
