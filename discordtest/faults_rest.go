package discordtest

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// GlobalLimit describes a global rate limit for GlobalRateLimit.
type GlobalLimit struct {
	// For is how long every request is refused, from the first refusal.
	For time.Duration
	// Cloudflare answers as Cloudflare does when it bans an address for a
	// while: an HTML body and no rate-limit headers, instead of Discord's
	// JSON body with X-RateLimit-Global: true and X-RateLimit-Scope: global.
	Cloudflare bool
	// NoRetryAfter leaves out the Retry-After header (and, for Discord's
	// own answer, retry_after in the body), so the client must pick a wait.
	NoRetryAfter bool
}

// restFaults holds the injected faults that apply to every route.
type restFaults struct {
	mu     sync.Mutex
	armed  *GlobalLimit // begins at the next request
	active GlobalLimit
	until  time.Time
}

// rawBody is a response body sent as it is, not as JSON; its content type
// is the one the handler put in the headers.
type rawBody []byte

// cloudflareBody is the kind of page Cloudflare answers a banned address
// with.
const cloudflareBody = "<!DOCTYPE html><html><head><title>Access denied | discord.com used Cloudflare to restrict access</title></head>" +
	"<body><h1>Error 1015</h1><p>You are being rate limited.</p></body></html>"

// GlobalRateLimit makes the next request start a global rate limit: it and
// every request after it, on any route, is answered 429 until l.For has
// passed since it. Discord counts requests sent during a global limit
// against the bot, so a well-behaved client sends one and then waits for
// the whole Retry-After before sending anything.
func (s *Server) GlobalRateLimit(l GlobalLimit) {
	s.restFaults.mu.Lock()
	defer s.restFaults.mu.Unlock()
	s.restFaults.armed = &l
}

// GlobalLimited returns the requests that were answered with a global 429,
// in the order they came.
func (s *Server) GlobalLimited() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusTooManyRequests &&
			(bytes.Contains(r.Response, []byte(`"global":true`)) || bytes.Equal(r.Response, []byte(cloudflareBody))) {
			out = append(out, r)
		}
	}
	return out
}

// globalLimit reports whether a global limit refuses the request, and sets
// the answer's headers.
func (s *Server) globalLimit(hdr http.Header) (int, any, bool) {
	f := &s.restFaults
	f.mu.Lock()
	now := time.Now()
	if f.armed != nil {
		f.active, f.until, f.armed = *f.armed, now.Add(f.armed.For), nil
	}
	l, left := f.active, f.until.Sub(now)
	f.mu.Unlock()
	if left <= 0 {
		return 0, nil, false
	}
	if !l.NoRetryAfter {
		hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(left.Seconds()))))
	}
	if l.Cloudflare {
		hdr.Set("Content-Type", "text/html; charset=UTF-8")
		return http.StatusTooManyRequests, rawBody(cloudflareBody), true
	}
	hdr.Set("X-RateLimit-Global", "true")
	hdr.Set("X-RateLimit-Scope", "global")
	hdr.Set("Via", "1.1 google")
	body := map[string]any{"message": "You are being rate limited.", "global": true}
	if !l.NoRetryAfter {
		body["retry_after"] = math.Round(left.Seconds()*1000) / 1000
	}
	return http.StatusTooManyRequests, body, true
}
