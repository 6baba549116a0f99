package conn

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/disgoorg/disgo/rest"

	"github.com/modbot/bot/internal/resterr"
)

// Retries of a request that Discord answered with a server error.
const (
	serverErrorRetries = 3
	serverErrorBackoff = 500 * time.Millisecond
)

// retrying is a rest.Client that sends a request again, after a growing
// pause, when Discord answers 500, 502, 503 or 504, up to
// serverErrorRetries times, and only when sending it twice cannot do
// twice what it asks.
//
// A 5xx does not say whether the request took effect. GET, PUT, DELETE
// and PATCH are repeatable: Discord's PUT and PATCH set the values they
// carry and DELETE removes what it names, so a request that had taken
// effect leaves the same state when repeated. A POST creates something
// (a message, a DM channel, an interaction's answer) and is never sent
// again: a moderator would see the modlog post or the DM twice, and a
// second interaction callback is refused. A 429, which Discord promises
// was not acted on, is retried by disgo's client, for every method.
type retrying struct {
	rest.Client
	backoff time.Duration // the first pause; each later one is twice as long
}

// Do sends the request, and again after a server error when it is
// repeatable.
func (c retrying) Do(e *rest.CompiledEndpoint, rqBody, rsBody any, opts ...rest.RequestOpt) error {
	for try := 0; ; try++ {
		err := c.Client.Do(e, rqBody, rsBody, opts...)
		if err == nil || try >= serverErrorRetries || !repeatable(e.Endpoint.Method) || !serverError(err) {
			return err
		}
		// Jitter spreads the retries of requests that failed together.
		d := c.backoff<<try + rand.N(c.backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-requestContext(opts).Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// repeatable reports whether a request with this method may be sent twice.
func repeatable(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// serverError reports whether err is Discord's answer of a server error
// that may pass.
func serverError(err error) bool {
	switch resterr.Status(err) {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// requestContext returns the context the options give a request.
func requestContext(opts []rest.RequestOpt) context.Context {
	rq, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	cfg := rest.DefaultRequestConfig(rq)
	cfg.Apply(opts)
	if cfg.Ctx == nil {
		return context.Background()
	}
	return cfg.Ctx
}
