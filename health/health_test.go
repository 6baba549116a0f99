package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

type fakeDB struct{ err error }

func (f fakeDB) Ping(context.Context) error { return f.err }

type fakeBot struct{ ready atomic.Bool }

func (f *fakeBot) Ready() bool { return f.ready.Load() }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServe(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name     string
		dbErr    error
		ready    bool
		wantCode int
		wantBody string
	}{
		{"Ready", nil, true, http.StatusOK, "ready"},
		{"GatewayDown", nil, false, http.StatusServiceUnavailable, "gateway: not connected to Discord"},
		{"DatabaseDown", errors.New("disk I/O error"), true, http.StatusServiceUnavailable, "database: disk I/O error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freeAddr(t)
			b := &fakeBot{}
			b.ready.Store(tt.ready)
			stop, err := Serve(addr, fakeDB{tt.dbErr}, b, nil, log)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if code, body := get(t, "http://"+addr+"/healthz"); code != http.StatusOK || body != "ok" {
				t.Errorf("/healthz got=%d %q, want 200 ok", code, body)
			}
			if code, body := get(t, "http://"+addr+"/readyz"); code != tt.wantCode || body != tt.wantBody {
				t.Errorf("/readyz got=%d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Serve(ln.Addr().String(), fakeDB{}, &fakeBot{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "http.listen") {
		t.Errorf("got=%v, want an error naming http.listen", err)
	}
}
