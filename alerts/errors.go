package alerts

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ErrorWindow is the span over which error-level log records are counted
// against alerts.error_burst.
const ErrorWindow = 5 * time.Minute

// maxCounted bounds the times an ErrorCounter holds, so a flood of errors
// costs bounded memory; any error_burst worth setting is far below it.
const maxCounted = 10000

// ErrorCounter counts the error-level records logged through the handlers
// it wraps. The log is where every failure of the bot ends up, so counting
// there sees them all without each package reporting to the alerts.
type ErrorCounter struct {
	mu    sync.Mutex
	times []time.Time // oldest first
}

// NewErrorCounter returns an empty counter.
func NewErrorCounter() *ErrorCounter { return &ErrorCounter{} }

// Wrap returns h with every record at slog.LevelError or above counted.
func (c *ErrorCounter) Wrap(h slog.Handler) slog.Handler { return &counting{h: h, c: c} }

// Count returns how many errors were logged in the ErrorWindow up to now.
func (c *ErrorCounter) Count(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
	return len(c.times)
}

func (c *ErrorCounter) add(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(t)
	if len(c.times) >= maxCounted {
		c.times = c.times[1:]
	}
	c.times = append(c.times, t)
}

func (c *ErrorCounter) pruneLocked(now time.Time) {
	i := 0
	for i < len(c.times) && now.Sub(c.times[i]) >= ErrorWindow {
		i++
	}
	c.times = c.times[i:]
}

// counting is the handler Wrap returns.
type counting struct {
	h slog.Handler
	c *ErrorCounter
}

// Enabled implements slog.Handler: errors are always let through, to be
// counted, whatever the wrapped handler's level.
func (h *counting) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.h.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *counting) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		h.c.add(t)
	}
	if !h.h.Enabled(ctx, r.Level) {
		return nil
	}
	return h.h.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *counting) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &counting{h: h.h.WithAttrs(attrs), c: h.c}
}

// WithGroup implements slog.Handler.
func (h *counting) WithGroup(name string) slog.Handler {
	return &counting{h: h.h.WithGroup(name), c: h.c}
}
