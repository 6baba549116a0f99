package logring

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func messages(es []Entry) string {
	var m []string
	for _, e := range es {
		m = append(m, e.Message)
	}
	return strings.Join(m, ",")
}

func TestRingKeepsTheLastRecords(t *testing.T) {
	r := New(3, 2)
	log := slog.New(r.Wrap(slog.NewTextHandler(io.Discard, nil)))
	log.Error("e1")
	log.Info("i1")
	log.Error("e2")
	log.Info("i2")
	log.Info("i3")
	log.Error("e3")
	if got, want := messages(r.Entries()), "i2,i3,e3"; got != want {
		t.Errorf("Entries got=%s, want %s", got, want)
	}
	// The errors outlive the ordinary lines that came after them, newest first.
	if got, want := messages(r.Errors()), "e3,e2"; got != want {
		t.Errorf("Errors got=%s, want %s", got, want)
	}
}

func TestRingBeforeFull(t *testing.T) {
	r := New(5, 5)
	log := slog.New(r.Wrap(slog.NewTextHandler(io.Discard, nil)))
	log.Info("a")
	log.Warn("b")
	if got, want := messages(r.Entries()), "a,b"; got != want {
		t.Errorf("Entries got=%s, want %s", got, want)
	}
	if got := r.Errors(); len(got) != 0 {
		t.Errorf("Errors got=%v, want none", got)
	}
}

func TestWrapPassesOnAndFollowsLevel(t *testing.T) {
	r := New(5, 5)
	var out bytes.Buffer
	log := slog.New(r.Wrap(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})))
	log.Debug("hidden")
	log.Info("shown", "k", 1)
	if got, want := messages(r.Entries()), "shown"; got != want {
		t.Errorf("Entries got=%s, want %s", got, want)
	}
	if !strings.Contains(out.String(), "msg=shown k=1") || strings.Contains(out.String(), "hidden") {
		t.Errorf("wrapped handler got=%q, want only the info line", out.String())
	}
}

func TestWrapAttrsAndGroups(t *testing.T) {
	r := New(5, 5)
	var out bytes.Buffer
	log := slog.New(r.Wrap(slog.NewJSONHandler(&out, nil)))
	cmd := log.With("command", "warn")
	other := log.With("command", "ban") // must not share cmd's attributes
	cmd.WithGroup("req").With("id", 7).Error("failed", "error_id", "X1",
		slog.Group("", "inline", true), slog.Group("empty"), slog.Any("err", errors.New("boom")))
	other.Info("other")
	es := r.Entries()
	if len(es) != 2 {
		t.Fatalf("got %d entries, want 2", len(es))
	}
	e := es[0]
	for k, want := range map[string]string{"command": "warn", "req.id": "7", "req.error_id": "X1", "req.inline": "true", "req.err": "boom"} {
		if got := e.Attr(k); got != want {
			t.Errorf("Attr(%q) got=%q, want %q", k, got, want)
		}
	}
	if len(e.Attrs) != 5 {
		t.Errorf("attrs got=%v, want 5", e.Attrs)
	}
	if got := es[1].Attr("command"); got != "ban" || len(es[1].Attrs) != 1 {
		t.Errorf("second logger's attrs got=%v, want command=ban only", es[1].Attrs)
	}
	if !strings.Contains(out.String(), `"req":{"id":7,"error_id":"X1"`) {
		t.Errorf("wrapped handler lost the group: %s", out.String())
	}
}

func TestWriteJSONLines(t *testing.T) {
	r := New(5, 5)
	log := slog.New(r.Wrap(slog.NewTextHandler(io.Discard, nil)))
	log.Error("failed", "error_id", "X1", "n", 3, slog.Any("err", errors.New("boom")))
	log.Info("second")
	var b bytes.Buffer
	if err := r.WriteJSONLines(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %s", len(lines), b.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["msg"] != "failed" || m["level"] != "ERROR" || m["error_id"] != "X1" || m["n"] != float64(3) || m["err"] != "boom" || m["time"] == nil {
		t.Errorf("first line got=%v", m)
	}
}

func TestServeHTTP(t *testing.T) {
	r := New(5, 5)
	slog.New(r.Wrap(slog.NewTextHandler(io.Discard, nil))).Warn("w", "error_id", "X9")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/logs", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type got=%q", ct)
	}
	if body := rec.Body.String(); !strings.Contains(body, `"error_id":"X9"`) || !strings.Contains(body, `"msg":"w"`) {
		t.Errorf("body got=%q", body)
	}
}
