package discordtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"time"
)

// faultRule is one injected REST fault. A rule matches a request when its
// method and route are equal, "*" matching anything.
type faultRule struct {
	method, route string

	delay time.Duration // Delay

	status    int // FailNext
	remaining int

	limit   int // RateLimit
	used    int
	resetAt time.Time
}

func (f *faultRule) matches(method, route string) bool {
	return (f.method == "*" || f.method == method) && (f.route == "*" || f.route == route)
}

// RateLimit limits a route for the duration reset, counted from now: the
// first n matching requests succeed and carry the bucket headers
// (X-RateLimit-Bucket, -Limit, -Remaining, -Reset-After, -Reset); later ones
// get 429 with an integer Retry-After, X-RateLimit-Scope: user and a Via
// header, so that disgo treats it as a per-route limit, waits and retries.
// After reset the limit is gone and responses carry no rate-limit headers
// again. route is a pattern as in Request.Route
// ("/channels/{channel_id}/messages"); "*" matches any method or route.
func (s *Server) RateLimit(method, route string, n int, reset time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &faultRule{method: method, route: route, limit: n, resetAt: time.Now().Add(reset)})
}

// FailNext answers the next count matching requests with status (e.g. 500
// or 502) and Discord's error body, without acting on them.
func (s *Server) FailNext(method, route string, status, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &faultRule{method: method, route: route, status: status, remaining: count})
}

// Delay holds every matching request for d before answering it; d = 0
// removes the delay.
func (s *Server) Delay(method, route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.rules[:0]
	for _, f := range s.rules {
		if f.delay == 0 || f.method != method || f.route != route {
			kept = append(kept, f)
		}
	}
	s.rules = kept
	if d > 0 {
		s.rules = append(s.rules, &faultRule{method: method, route: route, delay: d})
	}
}

func (s *Server) delayFor(method, route string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	for _, f := range s.rules {
		if f.delay > 0 && f.matches(method, route) {
			d += f.delay
		}
	}
	return d
}

// failure consumes one FailNext answer for the request, if any.
func (s *Server) failure(method, route string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.rules {
		if f.status != 0 && f.remaining > 0 && f.matches(method, route) {
			f.remaining--
			return f.status, true
		}
	}
	return 0, false
}

// rateLimit counts the request against a RateLimit rule, sets the bucket
// headers, and reports whether it must be refused with 429.
func (s *Server) rateLimit(method, route string, hdr http.Header) (int, any, bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.rules[:0]
	var rule *faultRule
	for _, f := range s.rules {
		if !f.resetAt.IsZero() && !now.Before(f.resetAt) {
			continue // expired rate limit
		}
		kept = append(kept, f)
		if rule == nil && !f.resetAt.IsZero() && f.matches(method, route) {
			rule = f
		}
	}
	s.rules = kept
	if rule == nil {
		return 0, nil, false
	}
	left := rule.resetAt.Sub(now)
	h := fnv.New32a()
	_, _ = h.Write([]byte(rule.method + " " + rule.route))
	hdr.Set("X-RateLimit-Bucket", fmt.Sprintf("fake%08x", h.Sum32()))
	hdr.Set("X-RateLimit-Limit", strconv.Itoa(max(rule.limit, 1)))
	hdr.Set("X-RateLimit-Reset-After", fmt.Sprintf("%.3f", left.Seconds()))
	hdr.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(rule.resetAt.UnixMilli())/1000))
	if rule.used < rule.limit {
		rule.used++
		hdr.Set("X-RateLimit-Remaining", strconv.Itoa(rule.limit-rule.used))
		return 0, nil, false
	}
	hdr.Set("X-RateLimit-Remaining", "0")
	hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(left.Seconds()))))
	hdr.Set("X-RateLimit-Scope", "user")
	hdr.Set("Via", "1.1 google")
	body := map[string]any{"message": "You are being rate limited.", "retry_after": math.Round(left.Seconds()*1000) / 1000, "global": false}
	return http.StatusTooManyRequests, body, true
}

// ClearFaults removes every RateLimit, FailNext and Delay rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// DropGateway closes every gateway connection's TCP connection without a
// close frame, as a network failure would. Sessions stay resumable: a bot
// should reconnect to resume_gateway_url and RESUME.
func (s *Server) DropGateway() {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// StopHeartbeatACKs makes the gateway ignore heartbeats (no op 11) while
// stop is true: a zombie connection, which disgo does not notice by itself.
func (s *Server) StopHeartbeatACKs(stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noACKs = stop
}

// SendReconnect sends op 7 RECONNECT on every identified connection.
func (s *Server) SendReconnect() {
	for _, c := range s.identifiedConns() {
		c.write(opReconnect, nil, "", nil)
	}
}

// InvalidateSession sends op 9 INVALID_SESSION on every identified
// connection. When resumable is false the sessions are ended, so the bot
// must IDENTIFY again; when true, it may RESUME.
func (s *Server) InvalidateSession(resumable bool) {
	conns := s.identifiedConns()
	if !resumable {
		for _, c := range conns {
			s.mu.Lock()
			ss := c.sess
			s.mu.Unlock()
			ss.end()
		}
	}
	d, _ := json.Marshal(resumable)
	for _, c := range conns {
		c.write(opInvalidSession, nil, "", d)
	}
}

// RequestHeartbeat sends op 1 on every identified connection; the client must
// heartbeat at once.
func (s *Server) RequestHeartbeat() {
	for _, c := range s.identifiedConns() {
		c.requestHeartbeat()
	}
}

// CloseGateway closes every connection with a close code and reason, e.g.
// 4000 (reconnect and resume) or 4009 (session timed out).
func (s *Server) CloseGateway(code int, reason string) {
	for _, c := range s.identifiedConns() {
		c.closeWith(code, reason)
	}
}

func (s *Server) identifiedConns() []*gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identifiedConnsLocked()
}
