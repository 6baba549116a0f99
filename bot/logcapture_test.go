package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// capturedLog records every log line the bot writes, so a test can check
// what was logged at which level.
type capturedLog struct {
	mu    sync.Mutex
	lines []capturedLine
}

// capturedLine is one log record, its attributes flattened to key=value.
type capturedLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (c *capturedLog) logger() *slog.Logger { return slog.New(captureHandler{c: c}) }

// find returns the lines whose message contains msg.
func (c *capturedLog) find(msg string) []capturedLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []capturedLine
	for _, l := range c.lines {
		if strings.Contains(l.msg, msg) {
			out = append(out, l)
		}
	}
	return out
}

type captureHandler struct {
	c     *capturedLog
	attrs []slog.Attr
}

func (h captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h captureHandler) Handle(_ context.Context, r slog.Record) error {
	l := capturedLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		l.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	h.c.mu.Lock()
	h.c.lines = append(h.c.lines, l)
	h.c.mu.Unlock()
	return nil
}

func (h captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return captureHandler{c: h.c, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h captureHandler) WithGroup(string) slog.Handler { return h }

func (l capturedLine) String() string { return fmt.Sprintf("%s %q %v", l.level, l.msg, l.attrs) }
