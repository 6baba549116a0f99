package discordtest

import (
	"net/http"
	"strconv"
	"time"
)

// gatewayLimits is the gateway state that GET /gateway/bot reports and
// that faults change. The zero value is a fresh bot's budget.
type gatewayLimits struct {
	set            bool
	remaining      int
	resetAt        time.Time
	maxConcurrency int
	withholdReady  int // IDENTIFYs left unanswered
	overLimit      int // IDENTIFYs sent with no session start left
}

// Discord's defaults for a bot in fewer than 2,500 guilds.
const (
	startLimitTotal = 1000
	startLimitReset = 24 * time.Hour
)

// limitsLocked returns the session start limit as it stands, refilled once
// its reset time has passed, as on Discord. Callers hold s.mu.
func (s *Server) limitsLocked() *gatewayLimits {
	l := &s.gwLimits
	now := time.Now()
	if !l.set || !now.Before(l.resetAt) {
		l.set, l.remaining, l.resetAt = true, startLimitTotal, now.Add(startLimitReset)
		if l.maxConcurrency == 0 {
			l.maxConcurrency = 1
		}
	}
	return l
}

// SetSessionStartLimit sets the session_start_limit that GET /gateway/bot
// reports: remaining IDENTIFYs, refilled to 1000 after resetAfter, and
// max_concurrency. Each IDENTIFY takes one; one sent with none left is
// counted by OverLimitIdentifies (Discord would reset the bot's token).
func (s *Server) SetSessionStartLimit(remaining int, resetAfter time.Duration, maxConcurrency int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gwLimits.set = true
	s.gwLimits.remaining = remaining
	s.gwLimits.resetAt = time.Now().Add(resetAfter)
	s.gwLimits.maxConcurrency = max(maxConcurrency, 1)
}

// OverLimitIdentifies counts the IDENTIFYs sent while the session start
// limit was used up.
func (s *Server) OverLimitIdentifies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gwLimits.overLimit
}

// WithholdReady leaves the next n IDENTIFYs unanswered: no READY comes,
// the connection stays open and the heartbeats are still acknowledged, as
// when Discord is having trouble.
func (s *Server) WithholdReady(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gwLimits.withholdReady = n
}

// takeIdentify counts an IDENTIFY against the limit and reports whether
// it is to be answered with READY.
func (s *Server) takeIdentify() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limitsLocked()
	if l.remaining > 0 {
		l.remaining--
	} else {
		l.overLimit++
	}
	if l.withholdReady > 0 {
		l.withholdReady--
		return false
	}
	return true
}

// getGatewayBot answers GET /gateway/bot with the session start limit.
func (s *Server) getGatewayBot(*call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limitsLocked()
	return http.StatusOK, obj{
		"url":    s.GatewayURL(),
		"shards": 1,
		"session_start_limit": obj{
			"total": startLimitTotal, "remaining": l.remaining,
			"reset_after": time.Until(l.resetAt).Milliseconds(), "max_concurrency": l.maxConcurrency,
		},
	}
}

// closeReasons are Discord's texts for the close codes a test can send
// with CloseGatewayCode, and whether the session survives the close.
var closeReasons = map[int]struct {
	text      string
	resumable bool
}{
	4000: {"Unknown error.", true},
	4001: {"Unknown opcode.", true},
	4002: {"Error while decoding payload.", true},
	4003: {"Not authenticated.", true},
	4004: {"Authentication failed.", false},
	4005: {"Already authenticated.", true},
	4007: {"Invalid seq.", false},
	4008: {"Rate limited.", true},
	4009: {"Session timed out.", false},
	4010: {"Invalid shard.", false},
	4011: {"Sharding required.", false},
	4012: {"Invalid API version.", false},
	4013: {"Invalid intent(s).", false},
	4014: {"Disallowed intent(s).", false},
}

// CloseGatewayCode closes every identified connection with code and
// Discord's text for it, and ends the sessions that Discord ends with that
// code (4004, 4007, 4009 to 4014), so that a RESUME after them is refused
// with INVALID_SESSION as on Discord. It panics on a code Discord does not
// send.
func (s *Server) CloseGatewayCode(code int) {
	r, ok := closeReasons[code]
	if !ok {
		panic("discordtest: Discord sends no close code " + strconv.Itoa(code))
	}
	for _, c := range s.identifiedConns() {
		if !r.resumable {
			s.mu.Lock()
			ss := c.sess
			s.mu.Unlock()
			ss.end()
		}
		c.closeWith(code, r.text)
	}
}
