package conn

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"
)

// This file holds the life of one gateway connection: reading, the
// handshake, dispatches, heartbeats and reconnecting.

// frame is an incoming gateway message before its data is decoded.
type frame struct {
	Op gateway.Opcode    `json:"op"`
	S  *int              `json:"s"`
	T  gateway.EventType `json:"t"`
	D  json.RawMessage   `json:"d"`
}

// read handles one connection until it fails, then reconnects unless the
// gateway was closed or the failure is fatal.
func (g *gatewayConn) read(conn *websocket.Conn, gen int) {
	defer g.wg.Done()
	err := g.readLoop(conn, gen)
	conn.Close()

	g.mu.Lock()
	current := g.gen == gen && !g.closed
	if g.gen == gen {
		g.dropLocked()
		g.status = gateway.StatusDisconnected
	}
	if current && g.readyGen != gen {
		g.failures++
	}
	wait := failBackoff(g.failures)
	var ce *websocket.CloseError
	if errors.As(err, &ce) && sessionEndingCodes[ce.Code] {
		g.sessionID, g.resumeURL, g.hasSeq = "", "", false
	}
	g.mu.Unlock()
	if !current {
		return
	}
	if errors.As(err, &ce) {
		if msg, ok := fatalCloseCodes[ce.Code]; ok {
			g.log.Error("the Discord gateway closed the connection for good", slog.Int("code", ce.Code), slog.String("reason", msg))
			select {
			case g.fatal <- fmt.Errorf("gateway closed with code %d: %s", ce.Code, msg):
			default:
			}
			return
		}
	}
	g.log.Warn("gateway connection lost; reconnecting", errAttr(err), slog.Duration("wait", wait))
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.reconnect(wait)
	}()
}

// reconnect dials again with backoff until it succeeds or the gateway is
// closed: at once, then 1s, 2s, 4s… up to 30s between tries.
func (g *gatewayConn) reconnect(wait time.Duration) {
	for try := 0; ; try++ {
		if wait > 0 && g.sleep(context.Background(), wait) != nil {
			return
		}
		g.mu.Lock()
		closed := g.closed
		g.mu.Unlock()
		if closed {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		t := time.AfterFunc(20*time.Second, cancel)
		err := g.connect(ctx)
		t.Stop()
		cancel()
		if err == nil {
			return
		}
		g.log.Warn("could not reconnect to the gateway", slog.Int("try", try+1), errAttr(err))
		wait = min(time.Second<<min(try, 5), 30*time.Second)
	}
}

// errReconnect ends a connection that the bot drops on purpose to resume.
var errReconnect = errors.New("reconnect requested")

func (g *gatewayConn) readLoop(conn *websocket.Conn, gen int) error {
	for {
		mt, r, err := conn.NextReader()
		if err != nil {
			return err
		}
		raw, err := readFrame(mt, r)
		if err != nil {
			return err
		}
		var f frame
		if err := json.Unmarshal(raw, &f); err != nil {
			g.log.Warn("ignored an unreadable gateway message", errAttr(err))
			continue
		}
		if err := g.handle(conn, gen, f, raw); err != nil {
			return err
		}
	}
}

func readFrame(mt int, r io.Reader) ([]byte, error) {
	if mt == websocket.BinaryMessage {
		zr, err := zlib.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("inflate a gateway message: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(r)
}

func (g *gatewayConn) handle(conn *websocket.Conn, gen int, f frame, raw []byte) error {
	switch f.Op {
	case gateway.OpcodeHello:
		var hello gateway.MessageDataHello
		// An interval too long for a time.Duration would wrap around to a
		// negative one, on which the heartbeat goroutine panics.
		if err := json.Unmarshal(f.D, &hello); err != nil || hello.HeartbeatInterval <= 0 ||
			int64(hello.HeartbeatInterval) > int64(math.MaxInt64/time.Millisecond) {
			return fmt.Errorf("bad HELLO from the gateway: %s", f.D)
		}
		g.startHeartbeat(conn, gen, time.Duration(hello.HeartbeatInterval)*time.Millisecond)
		return g.identifyOrResume(conn, gen)
	case gateway.OpcodeHeartbeatACK:
		g.mu.Lock()
		g.awaitAck = false
		g.lastAck = time.Now()
		if g.lastBeat.Before(g.lastAck) {
			g.obs.GatewayLatency(g.lastAck.Sub(g.lastBeat))
		}
		g.mu.Unlock()
		return nil
	case gateway.OpcodeHeartbeat:
		return g.beat(conn)
	case gateway.OpcodeReconnect:
		g.log.Info("the gateway asked for a reconnect")
		g.closeForResume(conn)
		return errReconnect
	case gateway.OpcodeInvalidSession:
		var resumable bool
		_ = json.Unmarshal(f.D, &resumable)
		g.closeForResume(conn)
		if resumable {
			return errReconnect
		}
		g.mu.Lock()
		g.sessionID, g.resumeURL, g.hasSeq = "", "", false
		current := g.gen == gen && !g.closed
		if current {
			g.dropLocked()
			g.status = gateway.StatusDisconnected
		}
		g.mu.Unlock()
		if current {
			// The session is gone: identify again after Discord's delay.
			g.log.Info("the gateway invalidated the session; identifying again")
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				g.reconnect(g.invalidSessionDelay())
			}()
		}
		return errReconnect
	case gateway.OpcodeDispatch:
		return g.dispatch(gen, f, raw)
	}
	return nil
}

func (g *gatewayConn) dispatch(gen int, f frame, raw []byte) error {
	msg, err := decodeMessage(raw)
	if err != nil {
		g.log.Warn("ignored an unreadable gateway event", slog.String("event", string(f.T)), errAttr(err))
		return nil
	}
	g.mu.Lock()
	if g.gen != gen {
		g.mu.Unlock()
		return errReconnect
	}
	if f.S != nil {
		g.seq, g.hasSeq = *f.S, true
	}
	switch f.T {
	case gateway.EventTypeReady:
		if ready, ok := msg.D.(gateway.EventReady); ok {
			g.sessionID, g.resumeURL = ready.SessionID, ready.ResumeGatewayURL
		}
		g.status = gateway.StatusReady
		g.readyGen, g.failures = gen, 0
		g.readiedLocked(ReconnectIdentify)
	case gateway.EventTypeResumed:
		// disgo's handlers cannot decode RESUMED (it has no data), so it is
		// not passed on.
		g.status = gateway.StatusReady
		g.readyGen, g.failures = gen, 0
		g.readiedLocked(ReconnectResume)
		onResumed := g.onResumed
		g.mu.Unlock()
		g.log.Info("gateway session resumed")
		if onResumed != nil {
			onResumed()
		}
		return nil
	}
	handler := g.handler
	g.mu.Unlock()
	if _, unknown := msg.D.(gateway.EventUnknown); unknown || handler == nil {
		return nil
	}
	data, _ := msg.D.(gateway.EventData)
	handler(msg.T, msg.S, 0, data)
	return nil
}

// closeForResume closes conn with a code that keeps the session.
func (g *gatewayConn) closeForResume(conn *websocket.Conn) {
	g.wmu.Lock()
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeReconnect, "reconnecting"), time.Now().Add(time.Second))
	g.wmu.Unlock()
}

func (g *gatewayConn) identifyOrResume(conn *websocket.Conn, gen int) error {
	g.mu.Lock()
	resume := g.sessionID != "" && g.hasSeq
	sessionID, seq := g.sessionID, g.seq
	if resume {
		g.status = gateway.StatusResuming
	} else {
		g.status = gateway.StatusIdentifying
		g.lastIdentify = time.Now()
	}
	g.mu.Unlock()
	g.watchReady(conn, gen)
	var payload any
	if resume {
		payload = struct {
			Op gateway.Opcode            `json:"op"`
			D  gateway.MessageDataResume `json:"d"`
		}{gateway.OpcodeResume, gateway.MessageDataResume{Token: g.token, SessionID: sessionID, Seq: seq}}
		g.log.Debug("resuming the gateway session", slog.Int("seq", seq))
	} else {
		payload = struct {
			Op gateway.Opcode              `json:"op"`
			D  gateway.MessageDataIdentify `json:"d"`
		}{gateway.OpcodeIdentify, gateway.MessageDataIdentify{
			Token:          g.token,
			Properties:     gateway.IdentifyCommandDataProperties{OS: runtime.GOOS, Browser: "modbot", Device: "modbot"},
			LargeThreshold: 50,
			Intents:        g.intents,
		}}
		g.log.Debug("identifying with the gateway")
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if err := g.write(conn, data); err != nil {
		return err
	}
	g.mu.Lock()
	g.status = gateway.StatusWaitingForReady
	g.mu.Unlock()
	return nil
}

// startHeartbeat beats every interval on conn until the connection is
// dropped. The first beat waits a random fraction of the interval, as
// Discord asks, so restarts of many bots do not beat in step.
func (g *gatewayConn) startHeartbeat(conn *websocket.Conn, gen int, interval time.Duration) {
	g.mu.Lock()
	if g.gen != gen {
		g.mu.Unlock()
		return
	}
	if g.stopBeat != nil {
		close(g.stopBeat)
	}
	stop := make(chan struct{})
	g.stopBeat = stop
	g.awaitAck = false
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		wait := time.Duration(rand.Int64N(int64(interval)))
		for {
			t := time.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
			wait = interval
			g.mu.Lock()
			zombie := g.awaitAck && g.gen == gen
			g.mu.Unlock()
			if zombie {
				g.log.Warn("the gateway stopped acknowledging heartbeats; reconnecting", slog.Duration("interval", interval))
				g.closeForResume(conn)
				conn.Close() // the reader fails and reconnects
				return
			}
			if err := g.beat(conn); err != nil {
				g.log.Warn("could not send a heartbeat", errAttr(err))
				conn.Close()
				return
			}
		}
	}()
}

// beat sends one heartbeat with the last sequence number (null before the
// first dispatch).
func (g *gatewayConn) beat(conn *websocket.Conn) error {
	g.mu.Lock()
	var d any
	if g.hasSeq {
		d = g.seq
	}
	g.awaitAck = true
	g.lastBeat = time.Now()
	g.mu.Unlock()
	data, err := json.Marshal(struct {
		Op gateway.Opcode `json:"op"`
		D  any            `json:"d"`
	}{gateway.OpcodeHeartbeat, d})
	if err != nil {
		return err
	}
	return g.write(conn, bytes.TrimSpace(data))
}

// watchReady drops conn if it is not ready (READY or RESUMED) within
// readyTimeout, so that a gateway that never answers IDENTIFY or RESUME is
// tried again, with backoff, instead of leaving the bot waiting for good.
func (g *gatewayConn) watchReady(conn *websocket.Conn, gen int) {
	timeout := g.readyTimeout
	time.AfterFunc(timeout, func() {
		g.mu.Lock()
		stuck := g.gen == gen && g.readyGen != gen && !g.closed
		g.mu.Unlock()
		if !stuck {
			return
		}
		g.log.Warn("no READY from the Discord gateway in time; trying again. If this repeats, check discord.gateway_url and the network",
			slog.Duration("timeout", timeout))
		g.closeForResume(conn)
		conn.Close() // the reader fails and reconnects with backoff
	})
}

// decodeMessage decodes a gateway event. disgo's decoders index into what
// they read without checking it, so a malformed event (a subcommand group
// without options, a subcommand after a plain option) can panic; that must
// cost the event, not the process.
func decodeMessage(raw []byte) (msg gateway.Message, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the event could not be decoded: %v", v)
		}
	}()
	err = json.Unmarshal(raw, &msg)
	return msg, err
}

// readiedLocked tells the Observer that the session is ready, and, after
// the process's first ready session, that it reconnected by kind.
func (g *gatewayConn) readiedLocked(kind string) {
	g.obs.GatewayConnected(true)
	if g.everReady {
		g.obs.Reconnected(kind)
	}
	g.everReady = true
}
