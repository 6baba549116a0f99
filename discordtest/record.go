package discordtest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Request is one REST request as the server received and answered it.
type Request struct {
	Seq    int
	Time   time.Time
	Method string
	// Path is the URL path without /api/v10, e.g. /channels/123/messages.
	Path  string
	Query string
	// Route is the matched pattern, as named in Discord's OpenAPI
	// description: /channels/{channel_id}/messages. Empty if nothing matched.
	Route string
	// Header holds the request headers; Authorization is redacted.
	Header http.Header
	// AuditLogReason is X-Audit-Log-Reason, URL-unescaped.
	AuditLogReason string
	// Body is the JSON body; for multipart/form-data, its payload_json.
	Body []byte
	// Files are the files of a multipart/form-data body.
	Files    []File
	Status   int
	Response []byte
	Duration time.Duration
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Is reports whether the request has the method and route pattern.
func (r Request) Is(method, route string) bool { return r.Method == method && r.Route == route }

// ViolationKind classifies a Violation.
type ViolationKind string

// The kinds of Violation.
const (
	// ViolationSpec: the request body does not match Discord's OpenAPI
	// description (only with WithSpec).
	ViolationSpec ViolationKind = "spec"
	// ViolationAlreadyAcknowledged: a second callback for one interaction.
	ViolationAlreadyAcknowledged ViolationKind = "interaction already acknowledged"
	// ViolationLate: a first callback after the 3 s deadline.
	ViolationLate ViolationKind = "interaction answered late"
	// ViolationUnknownInteraction: a callback, follow-up or edit for an
	// interaction token the fake never issued, or expired.
	ViolationUnknownInteraction ViolationKind = "unknown interaction"
	// ViolationNotAcknowledged: a follow-up or @original edit before any
	// callback.
	ViolationNotAcknowledged ViolationKind = "interaction not acknowledged"
	// ViolationResponseType: a callback type not valid for the interaction
	// (e.g. type 7 for a slash command).
	ViolationResponseType ViolationKind = "invalid response type"
	// ViolationLimits: a message over Discord's limits (2000 characters,
	// 10 embeds, 25 fields, 6000 embed characters, ...) or empty.
	ViolationLimits ViolationKind = "message limits"
	// ViolationUnknownRoute: a request the fake does not implement.
	ViolationUnknownRoute ViolationKind = "unknown route"
	// ViolationAuth: a missing or wrong bot token.
	ViolationAuth ViolationKind = "unauthorized"
)

// Violation is a request that real Discord would reject because of a bug in
// the bot, as opposed to refusals a working bot must handle (missing
// permissions, closed DMs, unknown members), which are not violations.
type Violation struct {
	Time   time.Time
	Kind   ViolationKind
	Method string
	Path   string
	Route  string
	Detail string
}

// String describes the violation in one line.
func (v Violation) String() string {
	return string(v.Kind) + ": " + v.Method + " " + v.Path + ": " + v.Detail
}

// Ping is a message the bot sent that would notify people: its content or
// embeds mention @everyone, @here, a user or a role, and allowed_mentions is
// missing or allows that mention. (Discord never pings from embeds; they are
// flagged anyway, as text that would ping if moved to content.)
type Ping struct {
	Time     time.Time
	Method   string
	Path     string
	Route    string
	Mentions []string // e.g. "@everyone", "<@123>", "<@&456>"
	Text     string   // the content or embed text that held them
}

// GatewayMessage is one gateway frame. Op is -1 for a close frame or a frame
// that was not JSON.
type GatewayMessage struct {
	Time time.Time
	Conn int
	// Inbound is true for frames from the client.
	Inbound bool
	Op      int
	S       *int
	T       string
	D       json.RawMessage
}

func (s *Server) recordGateway(c *gwConn, inbound bool, op int, seq *int, t string, d json.RawMessage) {
	var sp *int
	if seq != nil {
		v := *seq
		sp = &v
	}
	m := GatewayMessage{Time: time.Now(), Conn: c.id, Inbound: inbound, Op: op, S: sp, T: t, D: append(json.RawMessage(nil), d...)}
	s.mu.Lock()
	s.gwLog = append(s.gwLog, m)
	s.bumpLocked()
	s.mu.Unlock()
}

func (s *Server) violate(r *http.Request, route string, kind ViolationKind, detail string) {
	v := Violation{Time: time.Now(), Kind: kind, Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, apiPrefix), Route: route, Detail: detail}
	s.cfg.logger.Warn("discordtest violation", "violation", v.String())
	s.mu.Lock()
	s.violations = append(s.violations, v)
	s.bumpLocked()
	s.mu.Unlock()
}

// Requests returns every REST request so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsTo returns the requests with the method and route pattern, e.g.
// ("POST", "/channels/{channel_id}/messages").
func (s *Server) RequestsTo(method, route string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Is(method, route) {
			out = append(out, r)
		}
	}
	return out
}

// Violations returns the protocol violations so far. A test of a correct bot
// expects none.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// Pings returns the messages that would have notified someone.
func (s *Server) Pings() []Ping {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ping(nil), s.pings...)
}

// GatewayMessages returns every gateway frame in both directions.
func (s *Server) GatewayMessages() []GatewayMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GatewayMessage(nil), s.gwLog...)
}

// WaitFor waits until a recorded REST request (past or future) satisfies
// match and returns the first one that does.
func (s *Server) WaitFor(ctx context.Context, match func(Request) bool) (Request, error) {
	var found Request
	next := 0
	err := s.waitUntil(ctx, func() bool {
		for ; next < len(s.requests); next++ {
			if match(s.requests[next]) {
				found = s.requests[next]
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitViolation waits until at least n violations have been recorded and
// returns them all.
func (s *Server) WaitViolation(ctx context.Context, n int) ([]Violation, error) {
	err := s.waitUntil(ctx, func() bool { return len(s.violations) >= n })
	return s.Violations(), err
}
