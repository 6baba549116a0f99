package conn

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestHelloInterval checks the HELLO intervals handle refuses: none, zero,
// negative, and one too long for a time.Duration in milliseconds, which
// used to wrap to a negative interval and panic the heartbeat goroutine
// (found by FuzzGatewayFrame; its seed hello-interval-overflow).
func TestHelloInterval(t *testing.T) {
	maxMs := int64(math.MaxInt64 / time.Millisecond)
	tests := []struct {
		name    string
		d       string
		wantErr bool
	}{
		{"OK", `{"heartbeat_interval":41250}`, false},
		{"Longest", fmt.Sprintf(`{"heartbeat_interval":%d}`, maxMs), false},
		{"Missing", `{}`, true},
		{"Zero", `{"heartbeat_interval":0}`, true},
		{"Negative", `{"heartbeat_interval":-1}`, true},
		{"Overflow", fmt.Sprintf(`{"heartbeat_interval":%d}`, maxMs+1), true},
		{"MaxInt", `{"heartbeat_interval":9223372036854775807}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, _, err := websocket.DefaultDialer.Dial(sink(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			g := newGatewayConn("token", sink(), 0, slog.New(slog.DiscardHandler))
			g.gen, g.conn = 1, ws
			raw := `{"op":10,"d":` + tt.d + `}`
			var f frame
			if err := json.Unmarshal([]byte(raw), &f); err != nil {
				t.Fatal(err)
			}
			err = g.handle(ws, 1, f, []byte(raw))
			g.mu.Lock()
			g.closed = true
			g.dropLocked()
			g.mu.Unlock()
			g.wg.Wait()
			if (err != nil) != tt.wantErr || err != nil && !strings.Contains(err.Error(), "bad HELLO") {
				t.Fatalf("got=%v, want error %v", err, tt.wantErr)
			}
		})
	}
}
