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
			stop, err := Serve(Options{Addr: addr, DB: fakeDB{tt.dbErr}, Bot: b, Log: log})
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
	_, err = Serve(Options{Addr: ln.Addr().String(), DB: fakeDB{}, Bot: &fakeBot{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "http.listen") {
		t.Errorf("got=%v, want an error naming http.listen", err)
	}
}

// TestToken: with a token set, everything but /healthz needs it, in the
// Authorization header or, for the page and the log, in ?token=; without
// one, everything is open.
func TestToken(t *testing.T) {
	const token = "s3cret-token-for-tests"
	text := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
	}
	b := &fakeBot{}
	b.ready.Store(true)
	o := Options{DB: fakeDB{}, Bot: b, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Page: text("page"), Metrics: text("metrics"), Logs: text("logs")}
	open := o
	o.Token = token
	for _, tt := range []struct {
		name   string
		o      Options
		path   string
		header string
		want   int
	}{
		{"HealthzOpen", o, "/healthz", "", http.StatusOK},
		{"PageNoToken", o, "/", "", http.StatusUnauthorized},
		{"PageBearer", o, "/", "Bearer " + token, http.StatusOK},
		{"PageQuery", o, "/?token=" + token, "", http.StatusOK},
		{"PageWrongQuery", o, "/?token=" + token + "x", "", http.StatusUnauthorized},
		{"PageEmptyQuery", o, "/?token=", "", http.StatusUnauthorized},
		{"PageWrongBearer", o, "/", "Bearer nope", http.StatusUnauthorized},
		{"PageOtherScheme", o, "/", "Basic " + token, http.StatusUnauthorized},
		{"OtherPath", o, "/nothing?token=" + token, "", http.StatusNotFound},
		{"ReadyzNoToken", o, "/readyz", "", http.StatusUnauthorized},
		{"ReadyzBearer", o, "/readyz", "Bearer " + token, http.StatusOK},
		{"ReadyzQueryRefused", o, "/readyz?token=" + token, "", http.StatusUnauthorized},
		{"MetricsNoToken", o, "/metrics", "", http.StatusUnauthorized},
		{"MetricsBearer", o, "/metrics", "Bearer " + token, http.StatusOK},
		{"MetricsQueryRefused", o, "/metrics?token=" + token, "", http.StatusUnauthorized},
		{"LogsNoToken", o, "/debug/logs", "", http.StatusUnauthorized},
		{"LogsQuery", o, "/debug/logs?token=" + token, "", http.StatusOK},
		{"OpenWithoutToken", open, "/", "", http.StatusOK},
		{"OpenMetrics", open, "/metrics", "", http.StatusOK},
		{"OpenLogs", open, "/debug/logs", "", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Addr = freeAddr(t)
			stop, err := Serve(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			req, _ := http.NewRequest("GET", "http://"+tt.o.Addr+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s got=%d, want %d", tt.path, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}
