package bot

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

type trackedBody struct {
	io.Reader
	closed int
}

func (b *trackedBody) Close() error { b.closed++; return nil }

type stubTransport struct{ body *trackedBody }

func (s stubTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: s.body}, nil
}

// TestClosingTransport: a body read to the end is closed once, even though
// the caller (disgo) never closes it, and a later Close is harmless.
func TestClosingTransport(t *testing.T) {
	body := &trackedBody{Reader: strings.NewReader(`{"id":"1"}`)}
	resp, err := closingTransport{stubTransport{body}}.RoundTrip(&http.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(resp.Body); string(got) != `{"id":"1"}` {
		t.Fatalf("body got=%q", got)
	}
	if body.closed != 1 {
		t.Errorf("closes after reading to the end got=%d, want 1", body.closed)
	}
	resp.Body.Close()
	if body.closed != 1 {
		t.Errorf("closes after an explicit Close got=%d, want still 1", body.closed)
	}
}
