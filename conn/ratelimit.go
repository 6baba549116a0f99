package conn

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/disgo/rest"
)

// Bounds of a global pause. Discord's global 429 says how long to wait; a
// Cloudflare 429 (HTML, no rate-limit headers) may not, and then the pause
// starts at defaultPause and doubles while such answers keep coming, since
// each refused request counts towards a longer Cloudflare ban.
const (
	defaultPause = 5 * time.Second
	maxPause     = time.Hour
)

// restMaxRetries is how many times disgo's client sends a request that
// was answered 429. Each try first waits as long as the 429 asked, so a
// few are enough to ride out a limit without holding a command forever.
const restMaxRetries = 5

// limiter is the REST client's rate limiter. It builds on disgo's, which
// keeps the per-route buckets of the bot's own routes, and adds what that
// one lacks:
//
//   - A global 429 (X-RateLimit-Global, X-RateLimit-Scope: global, or a
//     429 without a bucket or a JSON body, as Cloudflare sends) pauses
//     every route for its retry_after. disgo ignores a 429 without a
//     bucket header and retries it at once.
//   - Routes of an interaction or webhook token get a bucket that lives
//     only while a request is queued or in flight on it, or while Discord
//     says it is exhausted. disgo keeps one per token until its cleanup
//     runs, so memory grows with traffic; a token is used for a few
//     calls within 15 minutes and never again.
//
// A per-route 429 reaches disgo's limiter with Retry-After rounded up to
// whole seconds and a Via header, so that disgo parses it and never takes
// it for a Cloudflare limit, which it would record in a field it reads
// without a lock.
type limiter struct {
	routes     rest.RateLimiter
	maxRetries int
	log        *slog.Logger
	obs        Observer // told of every response

	pauseMu    sync.Mutex
	pauseUntil time.Time
	pauseNext  time.Duration // the pause of the next 429 that names none

	mu     sync.Mutex
	tokens map[string]*tokenBucket
	// inFlight counts the requests holding a bucket of the bot's own
	// routes, for Close.
	inFlight atomic.Int64
}

// tokenBucket is the rate-limit state of one interaction or webhook token
// route. lock is held by the one request in flight; the other fields are
// guarded by limiter.mu.
type tokenBucket struct {
	lock      chan struct{}
	refs      int // requests waiting for or holding lock
	remaining int
	reset     time.Time
}

// newLimiter wraps routes, which handles the bot's own routes.
func newLimiter(routes rest.RateLimiter, maxRetries int, log *slog.Logger) *limiter {
	return &limiter{routes: routes, maxRetries: maxRetries, log: log, obs: noObserver{}, pauseNext: defaultPause, tokens: map[string]*tokenBucket{}}
}

// MaxRetries is how often a request refused with 429 is sent again.
func (l *limiter) MaxRetries() int { return l.maxRetries }

// Close waits, until ctx ends, for the requests in flight on the bot's
// own routes. It counts them itself rather than calling the wrapped
// limiter's Close, which walks its buckets without the lock its cleanup
// goroutine takes to delete them: the two at once are a map read during a
// write, which can end the process.
func (l *limiter) Close(ctx context.Context) {
	for l.inFlight.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Reset does nothing: disgo's client calls it once, when it is built, and
// the wrapped limiter's cleanup goroutine reads the fields its Reset
// would write, without a lock.
func (l *limiter) Reset() {}

// tokenRoute reports whether the endpoint is addressed by an interaction
// or webhook token rather than by the bot's token.
func tokenRoute(e *rest.CompiledEndpoint) bool {
	r := e.Endpoint.Route
	return strings.Contains(r, "{interaction.token}") || strings.Contains(r, "{webhook.token}")
}

func bucketKey(e *rest.CompiledEndpoint) string {
	return e.Endpoint.Method + " " + e.Endpoint.Route + " " + e.MajorParams
}

// WaitBucket waits for a global pause to end and for the endpoint's
// bucket, and locks the bucket.
func (l *limiter) WaitBucket(ctx context.Context, e *rest.CompiledEndpoint) error {
	if err := l.waitPause(ctx); err != nil {
		return err
	}
	if tokenRoute(e) {
		if err := l.lockToken(ctx, bucketKey(e)); err != nil {
			return err
		}
	} else if err := l.routes.WaitBucket(ctx, e); err != nil {
		return err
	} else {
		l.inFlight.Add(1)
	}
	// A pause may have begun while the request queued for its bucket.
	if err := l.waitPause(ctx); err != nil {
		_ = l.unlock(e, nil)
		return err
	}
	return nil
}

// UnlockBucket records what rs says of the limits and unlocks the bucket.
func (l *limiter) UnlockBucket(e *rest.CompiledEndpoint, rs *http.Response) error {
	observeResponse(l.obs, e, rs)
	if rs != nil && rs.Header != nil {
		if rs.StatusCode == http.StatusTooManyRequests {
			if d, ok := globalLimit(rs); ok {
				l.pause(d)
				rs = nil // not this route's limit
			} else {
				rs = forDisgo(rs)
			}
		} else {
			l.pauseMu.Lock()
			l.pauseNext = defaultPause
			l.pauseMu.Unlock()
			rs = forDisgo(rs)
		}
	}
	return l.unlock(e, rs)
}

func (l *limiter) unlock(e *rest.CompiledEndpoint, rs *http.Response) error {
	if !tokenRoute(e) {
		defer l.inFlight.Add(-1)
		return l.routes.UnlockBucket(e, rs)
	}
	l.unlockToken(bucketKey(e), rs)
	return nil
}

// waitPause returns when no global pause is in force, or with ctx's error.
func (l *limiter) waitPause(ctx context.Context) error {
	for {
		l.pauseMu.Lock()
		d := time.Until(l.pauseUntil)
		l.pauseMu.Unlock()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// pause holds every route for d, or for the next default pause when d is
// zero (the 429 named no wait).
func (l *limiter) pause(d time.Duration) {
	l.pauseMu.Lock()
	if d <= 0 {
		d = l.pauseNext
		l.pauseNext = min(2*l.pauseNext, maxPause)
	}
	d = min(d, maxPause)
	if until := time.Now().Add(d); until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
	l.pauseMu.Unlock()
	l.log.Warn("Discord's global rate limit: every REST call waits", slog.Duration("retry_after", d))
}

// globalLimit reports whether a 429 is a global one, and the wait it asks
// for (0 when it names none).
func globalLimit(rs *http.Response) (time.Duration, bool) {
	h := rs.Header
	jsonBody := strings.HasPrefix(h.Get("Content-Type"), "application/json")
	global := h.Get("X-RateLimit-Global") != "" || strings.EqualFold(h.Get("X-RateLimit-Scope"), "global") ||
		h.Get("X-RateLimit-Bucket") == "" || !jsonBody
	if !global {
		return 0, false
	}
	if d, ok := seconds(h.Get("Retry-After")); ok {
		return d, true
	}
	if jsonBody && rs.Body != nil {
		// The body is read here and handed back intact for the client.
		raw, _ := io.ReadAll(io.LimitReader(rs.Body, 64<<10))
		_ = rs.Body.Close()
		rs.Body = io.NopCloser(bytes.NewReader(raw))
		var b struct {
			RetryAfter float64 `json:"retry_after"`
		}
		if json.Unmarshal(raw, &b) == nil {
			if d, ok := seconds(strconv.FormatFloat(b.RetryAfter, 'f', -1, 64)); ok {
				return d, true
			}
		}
	}
	return 0, true
}

// seconds parses a positive number of seconds, such as "1" or "0.35".
func seconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, false
	}
	return min(time.Duration(f*float64(time.Second)), maxPause), true
}

// forDisgo returns rs with headers disgo's limiter can read: Retry-After
// in whole seconds (it fails on "0.5"), a Via header on a per-route 429,
// and no bucket on a response without a reset time (it fails a successful
// call on those).
func forDisgo(rs *http.Response) *http.Response {
	h := rs.Header
	if h.Get("X-RateLimit-Bucket") == "" {
		return rs
	}
	out := *rs
	out.Header = h.Clone()
	if rs.StatusCode == http.StatusTooManyRequests {
		d, ok := seconds(h.Get("Retry-After"))
		if !ok {
			d = time.Second
		}
		out.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		if out.Header.Get("Via") == "" {
			out.Header.Set("Via", "1.1 modbot")
		}
	} else if h.Get("X-RateLimit-Reset-After") == "" && h.Get("X-RateLimit-Reset") == "" {
		out.Header.Del("X-RateLimit-Bucket")
	}
	return &out
}

// lockToken takes the bucket of a token route, creating it if need be, and
// waits until Discord's limit on it allows a request.
func (l *limiter) lockToken(ctx context.Context, key string) error {
	l.mu.Lock()
	b := l.tokens[key]
	if b == nil {
		b = &tokenBucket{lock: make(chan struct{}, 1), remaining: 1}
		l.tokens[key] = b
	}
	b.refs++
	l.mu.Unlock()
	select {
	case b.lock <- struct{}{}:
	case <-ctx.Done():
		l.release(key, b)
		return ctx.Err()
	}
	l.mu.Lock()
	var wait time.Duration
	if b.remaining <= 0 {
		wait = time.Until(b.reset)
	}
	l.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			<-b.lock
			l.release(key, b)
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// unlockToken records rs's limits in the bucket of key and unlocks it.
func (l *limiter) unlockToken(key string, rs *http.Response) {
	l.mu.Lock()
	b := l.tokens[key]
	l.mu.Unlock()
	if b == nil {
		return
	}
	if rs != nil && rs.Header.Get("X-RateLimit-Bucket") != "" {
		h := rs.Header
		l.mu.Lock()
		if rs.StatusCode == http.StatusTooManyRequests {
			d, _ := seconds(h.Get("Retry-After"))
			b.remaining, b.reset = 0, time.Now().Add(max(d, time.Second))
		} else {
			if n, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil {
				b.remaining = n
			}
			if d, ok := seconds(h.Get("X-RateLimit-Reset-After")); ok {
				b.reset = time.Now().Add(d)
			}
		}
		l.mu.Unlock()
	}
	<-b.lock
	l.release(key, b)
}

// release drops a request's hold on a token bucket, and the bucket itself
// once nobody holds it and Discord's limit on it, if any, has reset.
func (l *limiter) release(key string, b *tokenBucket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.refs--
	if b.refs > 0 {
		return
	}
	wait := time.Duration(0)
	if b.remaining <= 0 {
		wait = time.Until(b.reset)
	}
	if wait <= 0 {
		delete(l.tokens, key)
		return
	}
	time.AfterFunc(wait, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if b.refs == 0 && l.tokens[key] == b {
			delete(l.tokens, key)
		}
	})
}

// tokenBuckets is how many token buckets are held, for tests.
func (l *limiter) tokenBuckets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tokens)
}
