package conn

import (
	"net/http"
	"strings"
	"time"

	"github.com/disgoorg/disgo/rest"
)

// Observer is told of the connection's health, for metrics. Its methods
// must return at once: they run on the gateway's reader and on every REST
// response.
type Observer interface {
	// GatewayConnected is told when the gateway session becomes ready
	// (true) and when it is lost (false).
	GatewayConnected(up bool)
	// GatewayLatency is told of each heartbeat's round trip.
	GatewayLatency(d time.Duration)
	// Reconnected is told of each session made ready after the process's
	// first: ReconnectResume or ReconnectIdentify.
	Reconnected(kind string)
	// RESTRequest is told of each REST response (and each request that
	// got none, as status 0). route is the method and Discord's route
	// template, such as "POST /channels/{channel.id}/messages", never a
	// filled-in path, so it names no user, guild or token.
	RESTRequest(route string, status int)
	// RateLimited is told of each 429, by scope: "global" (which pauses
	// every route), or the X-RateLimit-Scope Discord names ("user",
	// "shared").
	RateLimited(scope string)
}

// The kinds of reconnect.
const (
	// ReconnectResume: the session went on, and Discord replayed what was
	// missed.
	ReconnectResume = "resume"
	// ReconnectIdentify: a new session, which costs a session start.
	ReconnectIdentify = "identify"
)

// noObserver is the Observer of a Client without metrics.
type noObserver struct{}

func (noObserver) GatewayConnected(bool)        {}
func (noObserver) GatewayLatency(time.Duration) {}
func (noObserver) Reconnected(string)           {}
func (noObserver) RESTRequest(string, int)      {}
func (noObserver) RateLimited(string)           {}

// routeLabel is the label of e's route: its method and template.
func routeLabel(e *rest.CompiledEndpoint) string {
	return e.Endpoint.Method + " " + e.Endpoint.Route
}

// observeResponse tells obs of the response rs to a request on e, before
// the rate limiter reads it.
func observeResponse(obs Observer, e *rest.CompiledEndpoint, rs *http.Response) {
	if rs == nil {
		obs.RESTRequest(routeLabel(e), 0)
		return
	}
	obs.RESTRequest(routeLabel(e), rs.StatusCode)
	if rs.StatusCode != http.StatusTooManyRequests || rs.Header == nil {
		return
	}
	if _, global := globalLimit(rs); global {
		obs.RateLimited("global")
		return
	}
	scope := strings.ToLower(rs.Header.Get("X-RateLimit-Scope"))
	switch scope {
	case "user", "shared":
	default:
		scope = "user" // Discord's default for a route's own limit
	}
	obs.RateLimited(scope)
}
