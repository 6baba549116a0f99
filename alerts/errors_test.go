package alerts

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestErrorCounter(t *testing.T) {
	c := NewErrorCounter()
	var out bytes.Buffer
	log := slog.New(c.Wrap(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))).With("k", "v")
	log.Error("one")
	log.WithGroup("g").Error("two")
	log.Warn("not an error")
	log.Info("filtered")
	now := time.Now()
	if n := c.Count(now); n != 2 {
		t.Fatalf("Count=%d, want 2", n)
	}
	if s := out.String(); !strings.Contains(s, "one") || !strings.Contains(s, "not an error") || strings.Contains(s, "filtered") {
		t.Errorf("output %q: the wrapped handler's level must still apply", s)
	}
	if n := c.Count(now.Add(ErrorWindow + time.Second)); n != 0 {
		t.Errorf("Count after the window=%d, want 0", n)
	}
}
