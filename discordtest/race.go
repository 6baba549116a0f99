package discordtest

import (
	"context"
	"log/slog"
	"sync"
)

// disgo v0.18.15's gateway has data races that the race detector reports in
// any test that closes or reconnects a gateway (all verified):
//
//   - the heartbeat goroutine writes heartbeatCancel (gateway_impl.go:238)
//     with no synchronisation before CloseWithCode reads it (:130), so
//     Close, RECONNECT, INVALID_SESSION and dropped connections race;
//   - each heartbeat tick reads LastSequenceReceived (:260), which the read
//     goroutine writes on every dispatch (:393) without a lock.
//
// The only synchronisation the heartbeat goroutine performs before those
// accesses is its logger call ("sending heartbeat"), so a test can make the
// accesses ordered by (1) routing disgo's logs through SerializeLogs, which
// makes every log call, even a discarded debug one, take one shared mutex,
// (2) using a short WithHeartbeatInterval so that a heartbeat has been sent
// (and logged) before anything closes, waiting for it with WaitHeartbeat,
// and (3) doing a log call on the closing goroutine (SyncLogs) just before
// client.Close. The server helps by requesting a heartbeat (op 1) right
// after RESUMED, so that the read goroutine logs soon after that dispatch.

// logMu is the mutex SerializeLogs takes.
var logMu sync.Mutex

// SerializeLogs wraps an slog handler so that every Enabled and Handle call
// takes one process-wide mutex. Give disgo a logger built on it in -race
// tests; see the comment on disgo's races in race.go.
func SerializeLogs(h slog.Handler) slog.Handler { return serialHandler{h} }

// SyncLogs takes and releases the SerializeLogs mutex: call it just before
// closing a disgo client in a -race test.
func SyncLogs() {
	logMu.Lock()
	defer logMu.Unlock()
}

// serialHandler is the handler SerializeLogs returns: h, with logMu held
// around Enabled and Handle.
type serialHandler struct{ h slog.Handler }

// Enabled asks h under logMu.
func (s serialHandler) Enabled(ctx context.Context, l slog.Level) bool {
	logMu.Lock()
	defer logMu.Unlock()
	return s.h.Enabled(ctx, l)
}

// Handle passes r to h under logMu.
func (s serialHandler) Handle(ctx context.Context, r slog.Record) error {
	logMu.Lock()
	defer logMu.Unlock()
	return s.h.Handle(ctx, r)
}

// WithAttrs keeps the derived handler serialised.
func (s serialHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return serialHandler{s.h.WithAttrs(as)}
}

// WithGroup keeps the derived handler serialised.
func (s serialHandler) WithGroup(name string) slog.Handler {
	return serialHandler{s.h.WithGroup(name)}
}

// WaitHeartbeat waits until every connected gateway connection has sent at
// least one heartbeat since it said HELLO. See race.go for why -race tests
// need this before closing or disturbing a disgo gateway.
func (s *Server) WaitHeartbeat(ctx context.Context) error {
	return s.waitUntil(ctx, func() bool {
		for c := range s.conns {
			if c.sess != nil && c.beats == 0 {
				return false
			}
		}
		return true
	})
}
