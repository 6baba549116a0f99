package conn

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/gateway"
	"github.com/gorilla/websocket"
)

var (
	sinkOnce sync.Once
	sinkURL  string
)

// sink returns the URL of a WebSocket server that reads and discards
// everything, for the fuzzed connection to write its IDENTIFY, RESUME and
// heartbeats to. One serves the whole process; it ends with it.
func sink() string {
	sinkOnce.Do(func() {
		up := websocket.Upgrader{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}))
		sinkURL = "ws" + strings.TrimPrefix(srv.URL, "http")
	})
	return sinkURL
}

// FuzzGatewayFrame feeds one message from the gateway through what the
// reader does with it: readFrame (as a text message, and zlib-compressed as
// a binary one, which must both give the bytes back; and as a raw binary
// message, which must be refused or inflate), then the frame's JSON, then
// handle, on a connection to a server that discards what the bot sends.
//
// handle must not panic, nor leave goroutines that do not stop when the
// connection is dropped; a dispatch that decodes must record its sequence
// number, and reach the handler at most once, with its own event type.
func FuzzGatewayFrame(f *testing.F) {
	for _, s := range []string{
		`{"op":10,"d":{"heartbeat_interval":41250}}`,
		`{"op":10,"d":{"heartbeat_interval":0}}`,
		`{"op":10,"d":null}`,
		`{"op":11}`,
		`{"op":1,"d":null}`,
		`{"op":7,"d":null}`,
		`{"op":9,"d":true}`,
		`{"op":9,"d":false}`,
		`{"op":0,"s":1,"t":"READY","d":{"v":10,"user":{"id":"123456789012345678","username":"bot"},"guilds":[],"session_id":"abc","resume_gateway_url":"wss://resume.test","application":{"id":"123456789012345678","flags":0}}}`,
		`{"op":0,"s":2,"t":"RESUMED","d":null}`,
		`{"op":0,"s":3,"t":"GUILD_DELETE","d":{"id":"111111111111111111","unavailable":true}}`,
		`{"op":0,"s":4,"t":"INTERACTION_CREATE","d":{"id":"1","application_id":"2","type":3,"data":{"custom_id":"/warnings-page/1/2/3/1","component_type":2},"guild_id":"3","channel_id":"4","member":{"user":{"id":"5","username":"m"},"roles":[],"permissions":"0"},"token":"t","version":1}}`,
		`{"op":0,"s":5,"t":"NO_SUCH_EVENT","d":{}}`,
		`{"op":0,"s":-1,"t":"MESSAGE_CREATE","d":[]}`,
		`{"op":42}`,
		`not json`,
	} {
		f.Add(false, []byte(s))
	}
	f.Add(true, []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Add(true, []byte{0x78, 0x9c, 0xff})
	f.Fuzz(func(t *testing.T, binary bool, payload []byte) {
		raw := payload
		if binary {
			var err error
			if raw, err = readFrame(websocket.BinaryMessage, bytes.NewReader(payload)); err != nil {
				return
			}
		} else {
			checkReadFrame(t, payload)
		}
		var fr frame
		if err := json.Unmarshal(raw, &fr); err != nil {
			return
		}
		handleFrame(t, fr, raw)
	})
}

// checkReadFrame checks that readFrame gives payload back, sent as it is
// in a text message and compressed in a binary one.
func checkReadFrame(t *testing.T, payload []byte) {
	t.Helper()
	got, err := readFrame(websocket.TextMessage, bytes.NewReader(payload))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("readFrame(text %q) = %q, %v", payload, got, err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(payload)
	zw.Close()
	got, err = readFrame(websocket.BinaryMessage, &z)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("readFrame(zlib of %q) = %q, %v", payload, got, err)
	}
}

// handleFrame runs handle on a fresh connection and checks what it did.
func handleFrame(t *testing.T, fr frame, raw []byte) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(sink(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	g := newGatewayConn("token", sink(), 0, slog.New(slog.DiscardHandler))
	// A non-resumable INVALID_SESSION reconnects after this delay; it
	// waits for the end of the iteration, which marks the gateway closed,
	// so the reconnect gives up instead of dialing.
	done := make(chan struct{})
	g.invalidSessionDelay = func() time.Duration { <-done; return 0 }
	var (
		calls int
		typ   gateway.EventType
	)
	g.handler = func(et gateway.EventType, _ int, _ int, _ gateway.EventData) { calls++; typ = et }
	g.mu.Lock()
	g.gen, g.conn, g.status = 1, ws, gateway.StatusWaitingForHello
	g.mu.Unlock()

	err = g.handle(ws, 1, fr, raw)

	g.mu.Lock()
	hasSeq, seq := g.hasSeq, g.seq
	g.closed = true
	g.dropLocked()
	g.mu.Unlock()
	close(done)
	ws.Close()
	stopped := make(chan struct{})
	go func() { g.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("handle(%s) left goroutines running after the connection was dropped", raw)
	}

	if fr.Op != gateway.OpcodeDispatch {
		if calls != 0 {
			t.Fatalf("handle(%s) called the handler for op %d", raw, fr.Op)
		}
		return
	}
	if err != nil {
		t.Fatalf("handle(%s) = %v, want nil for a dispatch", raw, err)
	}
	// An event disgo cannot decode is dropped before its sequence number
	// is recorded; only decoded ones are checked.
	var msg gateway.Message
	decoded := json.Unmarshal(raw, &msg) == nil
	if fr.S != nil && decoded && (!hasSeq || seq != *fr.S) {
		t.Fatalf("handle(%s) recorded sequence %d (%v), want %d", raw, seq, hasSeq, *fr.S)
	}
	if calls > 1 || calls == 1 && typ != fr.T {
		t.Fatalf("handle(%s) called the handler %d times, last with %q", raw, calls, typ)
	}
}
