package discordtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawConn is a hand-driven gateway client, to test the fake's protocol
// under -race without disgo.
type rawConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, url string) *rawConn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &rawConn{t: t, ws: ws}
	if f := c.read(); f.Op != opHello {
		t.Fatalf("first frame got op %d, want HELLO", f.Op)
	}
	return c
}

func (c *rawConn) send(op int, d any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(map[string]any{"op": op, "d": d}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) read() inFrame {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var f inFrame
	if err := c.ws.ReadJSON(&f); err != nil {
		c.t.Fatal(err)
	}
	return f
}

// expect reads a dispatch and checks its name and sequence number.
func (c *rawConn) expect(name string, seq int) inFrame {
	c.t.Helper()
	f := c.read()
	if f.Op != opDispatch || f.T == nil || *f.T != name || f.S == nil || *f.S != seq {
		c.t.Fatalf("got op=%d t=%v s=%v, want %s s=%d", f.Op, deref(f.T), deref(f.S), name, seq)
	}
	return f
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// closeCode reads until the server closes and returns the close code.
func (c *rawConn) closeCode() int {
	c.t.Helper()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			c.t.Fatalf("got %v, want a close frame", err)
		}
	}
}

func TestGatewayProtocol(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})

	c := dialRaw(t, srv.GatewayURL())
	c.send(opHeartbeat, nil)
	if f := c.read(); f.Op != opHeartbeatACK {
		t.Fatalf("got op %d, want ACK", f.Op)
	}
	c.send(opIdentify, map[string]any{"token": srv.Token(), "intents": 1, "properties": map[string]string{}})
	var ready struct {
		SessionID string `json:"session_id"`
		ResumeURL string `json:"resume_gateway_url"`
	}
	if err := json.Unmarshal(c.expect("READY", 1).D, &ready); err != nil || ready.SessionID == "" {
		t.Fatalf("READY got=%+v %v", ready, err)
	}
	c.expect("GUILD_CREATE", 2)
	srv.Dispatch("TEST_EVENT", map[string]int{"n": 3})
	c.expect("TEST_EVENT", 3)
	c.send(opIdentify, map[string]any{"token": srv.Token()})
	if code := c.closeCode(); code != closeAlreadyAuthenticate {
		t.Fatalf("second IDENTIFY got close %d, want 4005", code)
	}

	// Missed while disconnected, replayed on RESUME.
	srv.Dispatch("TEST_EVENT", map[string]int{"n": 4})
	srv.Dispatch("TEST_EVENT", map[string]int{"n": 5})
	r := dialRaw(t, ready.ResumeURL)
	r.send(opResume, map[string]any{"token": srv.Token(), "session_id": ready.SessionID, "seq": 3})
	r.expect("TEST_EVENT", 4)
	r.expect("TEST_EVENT", 5)
	r.expect("RESUMED", 6)
	if f := r.read(); f.Op != opHeartbeat {
		t.Fatalf("after RESUMED got op %d, want a heartbeat request", f.Op)
	}

	srv.InvalidateSession(false)
	if f := r.read(); f.Op != opInvalidSession || string(f.D) != "false" {
		t.Fatalf("got op=%d d=%s, want INVALID_SESSION false", f.Op, f.D)
	}
	again := dialRaw(t, ready.ResumeURL)
	again.send(opResume, map[string]any{"token": srv.Token(), "session_id": ready.SessionID, "seq": 6})
	if f := again.read(); f.Op != opInvalidSession || string(f.D) != "false" {
		t.Fatalf("RESUME of an ended session got op=%d d=%s, want INVALID_SESSION false", f.Op, f.D)
	}

	bad := dialRaw(t, srv.GatewayURL())
	bad.send(opIdentify, map[string]any{"token": "nope"})
	if code := bad.closeCode(); code != closeAuthFailed {
		t.Fatalf("wrong token got close %d, want 4004", code)
	}
	early := dialRaw(t, srv.GatewayURL())
	early.send(opPresenceUpdate, map[string]any{})
	if code := early.closeCode(); code != closeNotAuthenticated {
		t.Fatalf("payload before IDENTIFY got close %d, want 4003", code)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := NewServer(WithSpec(SpecPath()))
	g := srv.AddGuild(GuildOptions{})
	srv.Delay("GET", "/gateway", time.Hour)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	done := make(chan struct{})
	go func() { // held by Delay until Close
		defer close(done)
		if resp, err := hc.Get(srv.APIURL() + "/gateway"); err == nil {
			resp.Body.Close()
		}
	}()
	c := dialRaw(t, srv.GatewayURL())
	c.send(opIdentify, map[string]any{"token": srv.Token(), "intents": 1})
	c.expect("READY", 1)
	c.expect("GUILD_CREATE", 2)
	if _, ok := g.Bot(); !ok {
		t.Fatal("no bot member")
	}
	srv.Close()
	<-done
	c.ws.Close()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines got=%d, want <= %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
