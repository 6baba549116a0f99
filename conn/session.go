package conn

import (
	"time"

	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/snowflake/v2"
)

// ResumeWindow is how long after a session was last saved a new process
// still tries to RESUME it. Discord keeps a dropped session for a few
// minutes without saying how many; past this, RESUME would almost surely
// be refused, and the refusal costs Discord's 1 to 5 second pause before
// IDENTIFY, so the saved session is not tried at all.
const ResumeWindow = 3 * time.Minute

// Session is what a new process needs to RESUME the gateway session of the
// one before it, so that Discord replays the events sent in between instead
// of the bot spending an IDENTIFY from its daily budget. It holds no token:
// RESUME sends the token from the configuration.
type Session struct {
	// ID is the session_id from READY.
	ID string `json:"session_id"`
	// Seq is the sequence number of the last event the bot handled;
	// Discord replays those after it.
	Seq int `json:"seq"`
	// ResumeURL is the resume_gateway_url from READY.
	ResumeURL string `json:"resume_gateway_url"`
	// ApplicationID names the bot the session belongs to, so that a
	// session of another bot (the token was changed) is not tried.
	ApplicationID snowflake.ID `json:"application_id"`
	// SavedAt is when the session was taken from the running connection.
	SavedAt time.Time `json:"saved_at"`
	// Intents are those the session identified with. A resumed session
	// keeps them, so one of a build that asked for fewer (no audit-log
	// entries) is not resumed.
	Intents gateway.Intents `json:"intents"`
}

// usable reports whether s can be resumed by the bot of appID at now, and
// if not, why.
func (s *Session) usable(appID snowflake.ID, now time.Time) (bool, string) {
	switch {
	case s == nil || s.ID == "" || s.ResumeURL == "":
		return false, "no saved session"
	case s.ApplicationID != appID:
		return false, "the saved session belongs to another bot"
	case s.Intents != Intents:
		return false, "the saved session asked for other gateway intents"
	case s.SavedAt.After(now.Add(time.Minute)):
		return false, "the saved session is dated in the future"
	case now.Sub(s.SavedAt) > ResumeWindow:
		return false, "the saved session is older than Discord keeps one"
	}
	return true, ""
}

// Session returns the gateway session as it stands, for saving, and false
// when there is none to resume (before READY, after INVALID_SESSION, or
// after a close that ended it). After Close it returns the session Close
// left resumable.
func (c *Client) Session() (Session, bool) {
	g := c.gw
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sessionID == "" || g.resumeURL == "" || !g.hasSeq {
		return Session{}, false
	}
	return Session{
		ID:            g.sessionID,
		Seq:           g.seq,
		ResumeURL:     g.resumeURL,
		ApplicationID: c.client.ApplicationID(),
		SavedAt:       time.Now().UTC(),
		Intents:       g.intents,
	}, true
}
