// Package health serves the HTTP endpoints of 'bot run' on http.listen:
// /healthz answers while the process runs, /readyz only while the database
// answers and the gateway is connected, and beside them the status page
// (/), /metrics and the recent log (/debug/logs), whichever the caller
// hands over.
//
// When a token is set, every endpoint but /healthz requires it, so that a
// listener others can reach shows them nothing about the bot; /healthz
// stays open for the probes of Docker and systemd, and says only "ok".
package health

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Pinger is the database as the readiness probe sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Readier reports whether the bot's gateway connection is up.
type Readier interface {
	Ready() bool
}

// Warner is a Readier that may also report what works only in part and
// needs the owner's attention (a permission missing in a server); /readyz
// lists it after "ready", one "warning: " line each, for 'bot health'.
type Warner interface {
	Warnings(ctx context.Context) []string
}

// Options is what Serve serves.
type Options struct {
	// Addr is the address to listen on (http.listen).
	Addr string
	// DB and Bot answer /readyz.
	DB  Pinger
	Bot Readier
	// Log receives the listener's start and a failure of the server.
	Log *slog.Logger
	// Token, when not empty, is required by every endpoint but /healthz
	// (http.token).
	Token string
	// Page, Metrics and Logs serve GET /, /metrics and /debug/logs; a nil
	// one is not served.
	Page    http.Handler
	Metrics http.Handler
	Logs    http.Handler
}

// Serve serves o on o.Addr until the returned stop is called. It fails at
// once when the address cannot be listened on, so a port clash is
// reported at start rather than logged and forgotten.
func Serve(o Options) (stop func(), err error) {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w (choose another address, or set http.listen to \"\" to turn the health endpoints off)", o.Addr, err)
	}
	srv := &http.Server{Handler: o.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Log.Error("health endpoint stopped", slog.Any("err", err))
		}
	}()
	o.Log.Info("serving health checks", slog.String("addr", ln.Addr().String()), slog.Bool("token_required", o.Token != ""))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// handler routes the endpoints, each behind the token check it needs.
func (o Options) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /readyz", o.guard(http.HandlerFunc(o.ready), false))
	if o.Page != nil {
		// "/{$}" is the root alone: any other path is a 404, not the page.
		mux.Handle("GET /{$}", o.guard(o.Page, true))
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.guard(o.Metrics, false))
	}
	if o.Logs != nil {
		mux.Handle("GET /debug/logs", o.guard(o.Logs, true))
	}
	return mux
}

func (o Options) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := o.DB.Ping(ctx); err != nil {
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if !o.Bot.Ready() {
		http.Error(w, "gateway: not connected to Discord", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
	if wr, ok := o.Bot.(Warner); ok {
		for _, line := range wr.Warnings(ctx) {
			fmt.Fprintln(w, "warning: "+strings.ReplaceAll(line, "\n", " "))
		}
	}
}

// guard lets a request through to h only with the token, in an
// Authorization: Bearer header or, where inQuery allows it (a page opened
// in a browser, a log fetched with curl), in ?token=. Without a token
// configured, every request passes.
func (o Options) guard(h http.Handler, inQuery bool) http.Handler {
	if o.Token == "" {
		return h
	}
	want := sha256.Sum256([]byte(o.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && inQuery {
			given, ok = r.URL.Query().Get("token"), r.URL.Query().Has("token")
		}
		// Hashes of equal length, compared in constant time, tell an
		// attacker nothing of the token's length or its first bytes.
		got := sha256.Sum256([]byte(given))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bot"`)
			http.Error(w, "unauthorized: this endpoint requires http.token (Authorization: Bearer TOKEN)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
