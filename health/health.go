// Package health serves the HTTP endpoints that tell a supervisor (Docker,
// systemd, 'bot health') whether 'bot run' is alive and ready: /healthz
// answers while the process runs, /readyz only while the database answers
// and the gateway is connected.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

// Serve serves /healthz and /readyz, and /metrics when metrics is not
// nil, on addr until the returned stop is called. It fails at once when addr cannot be listened on, so a port
// clash is reported at start rather than logged and forgotten.
func Serve(addr string, db Pinger, b Readier, metrics http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w (choose another address, or set http.listen to \"\" to turn the health endpoints off)", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if !b.Ready() {
			http.Error(w, "gateway: not connected to Discord", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint stopped", slog.Any("err", err))
		}
	}()
	log.Info("serving health checks", slog.String("addr", ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
