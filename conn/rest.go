package conn

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/disgoorg/disgo"
	"github.com/disgoorg/disgo/rest"
)

// restConfig is what newRESTClient builds a REST client from.
type restConfig struct {
	token  string
	apiURL string // "" for Discord's own
	log    *slog.Logger
	quiet  *slog.Logger // log without debug records, for disgo
	// timeout bounds one request, to the end of its response body.
	timeout time.Duration
	// backoff is the first pause before a request that met a server error
	// is sent again.
	backoff time.Duration
	// obs, if set, is told of every response.
	obs Observer
}

// newRESTClient builds the REST client with its guards, from the outside
// in: deadlines become cancellations (deadlineGuard), repeatable requests
// are retried after a server error (retrying), the rate limiter honours
// global limits and forgets interaction tokens (limiter), and the
// transport cuts a hung request (closingTransport).
func newRESTClient(c restConfig) (rest.Client, *limiter) {
	lim := newLimiter(rest.NewRateLimiter(rest.WithRateLimiterLogger(c.quiet)), restMaxRetries, c.log)
	if c.obs != nil {
		lim.obs = c.obs
	}
	opts := []rest.ConfigOpt{
		rest.WithUserAgent(fmt.Sprintf("DiscordBot (%s, %s)", disgo.GitHub, disgo.Version)),
		rest.WithLogger(c.quiet),
		// The transport's timeout bounds a hung connection. It is not a
		// deadline on the context disgo's rate limiter waits with, so the
		// limiter's trap does not apply (disgo unlocks the bucket when the
		// request fails).
		rest.WithHTTPClient(&http.Client{Transport: closingTransport{next: http.DefaultTransport, timeout: c.timeout}}),
		rest.WithRateLimiter(lim),
	}
	if c.apiURL != "" {
		opts = append(opts, rest.WithURL(c.apiURL))
	}
	return deadlineGuard{retrying{Client: rest.NewClient(c.token, opts...), backoff: c.backoff}}, lim
}
