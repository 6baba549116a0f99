package conn

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type trackedBody struct {
	io.Reader
	closed int
}

func (b *trackedBody) Close() error { b.closed++; return nil }

// stubTransport answers with body and keeps the request's context; with a
// nil body it waits for the context to end, as a hung server would.
type stubTransport struct {
	body *trackedBody
	ctx  *context.Context
}

func (s stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*s.ctx = r.Context()
	if s.body == nil {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: 200, Body: s.body}, nil
}

// TestClosingTransport: a body read to the end is closed once, even though
// the caller (disgo) never closes it, and a later Close is harmless. The
// request's context ends with the body, not when its timeout fires: until
// then its timer stays in memory.
func TestClosingTransport(t *testing.T) {
	body := &trackedBody{Reader: strings.NewReader(`{"id":"1"}`)}
	var ctx context.Context
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	resp, err := closingTransport{next: stubTransport{body: body, ctx: &ctx}, timeout: time.Hour}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the request's context ended before its body was read")
	}
	if got, _ := io.ReadAll(resp.Body); string(got) != `{"id":"1"}` {
		t.Fatalf("body got=%q", got)
	}
	if body.closed != 1 {
		t.Errorf("closes after reading to the end got=%d, want 1", body.closed)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("the request's context after its body was read: %v, want cancelled", ctx.Err())
	}
	resp.Body.Close()
	if body.closed != 1 {
		t.Errorf("closes after an explicit Close got=%d, want still 1", body.closed)
	}
}

// TestClosingTransportTimeout: a request that hangs fails after the timeout.
func TestClosingTransportTimeout(t *testing.T) {
	var ctx context.Context
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	start := time.Now()
	_, err := closingTransport{next: stubTransport{ctx: &ctx}, timeout: 50 * time.Millisecond}.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v, want about the 50 ms timeout", took)
	}
}
