// Package privacy builds the document a member receives when they ask what
// a server's records hold about them: the same JSON from /privacy export
// in Discord and from 'bot privacy export' on the shell.
package privacy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/modbot/bot/storage"
)

// FileName is the name of the export's attachment.
const FileName = "privacy-export.json"

// Document is the export. Its field names are part of what members and
// owners rely on; add fields, never rename them.
type Document struct {
	GeneratedAt      time.Time `json:"generated_at"`
	GuildID          string    `json:"guild_id"`
	UserID           string    `json:"user_id"`
	About            About     `json:"about"`
	Cases            []Case    `json:"cases"`
	ScheduledActions []Action  `json:"scheduled_actions"`
}

// About says what is stored, why, for how long and who to ask.
type About struct {
	WhatIsStored string `json:"what_is_stored"`
	Why          string `json:"why"`
	Retention    string `json:"retention"`
	Erasure      string `json:"erasure"`
}

// Case is one case about the member, a note included.
type Case struct {
	Number int64  `json:"number"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	Points int    `json:"points"`
	// NameAtTheTime is the member's username when the case was made.
	NameAtTheTime string     `json:"name_at_the_time"`
	Duration      string     `json:"duration,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	RevokeReason  string     `json:"revoke_reason,omitempty"`
	// MessageLink links to the message the case is about, if any.
	MessageLink string `json:"message_link,omitempty"`
	// Moderator is set only when the server shows moderators' names.
	Moderator     *Person  `json:"moderator,omitempty"`
	ReasonHistory []Reason `json:"reason_history"`
}

// Person is a moderator, as the server shows them.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Reason is an earlier reason of a case.
type Reason struct {
	Revision  int64     `json:"revision"`
	Reason    string    `json:"reason"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy *Person   `json:"changed_by,omitempty"`
}

// Action is a scheduled action concerning the member.
type Action struct {
	Kind      string    `json:"kind"`
	DueAt     time.Time `json:"due_at"`
	State     string    `json:"state"`
	Case      int64     `json:"case,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Options are what the document says beyond the records.
type Options struct {
	// ShowModerators names moderators, as the server's
	// /config moderator-names does for members.
	ShowModerators bool
	// Retention is how long cases that no longer count are kept; 0: until
	// erased.
	Retention time.Duration
	// Now is when the document is made.
	Now time.Time
}

// Build makes the document of r.
func Build(r storage.MemberRecords, o Options) Document {
	d := Document{
		GeneratedAt: o.Now.UTC().Truncate(time.Second), GuildID: r.GuildID, UserID: r.UserID,
		About: about(o.Retention), Cases: []Case{}, ScheduledActions: []Action{},
	}
	for _, c := range r.Cases {
		out := Case{
			Number: c.Number, Kind: string(c.Kind), Reason: c.Reason, Points: c.Points,
			NameAtTheTime: c.TargetName, CreatedAt: c.CreatedAt, ExpiresAt: timePtr(c.ExpiresAt),
			MessageLink:   c.MessageLink,
			ReasonHistory: []Reason{},
		}
		if c.Duration > 0 {
			out.Duration = c.Duration.String()
		}
		if c.Revoked != nil {
			out.RevokedAt, out.RevokeReason = timePtr(c.Revoked.At), c.Revoked.Reason
		}
		if o.ShowModerators {
			out.Moderator = &Person{ID: c.ModeratorID, Name: c.ModeratorName}
		}
		for _, h := range r.History[c.Number] {
			rs := Reason{Revision: h.Revision, Reason: h.OldReason, ChangedAt: h.ChangedAt}
			if o.ShowModerators {
				rs.ChangedBy = &Person{ID: h.ChangedByID}
			}
			out.ReasonHistory = append(out.ReasonHistory, rs)
		}
		d.Cases = append(d.Cases, out)
	}
	for _, a := range r.Scheduled {
		d.ScheduledActions = append(d.ScheduledActions, Action{
			Kind: string(a.Kind), DueAt: a.DueAt, State: string(a.State), Case: a.CaseNumber, CreatedAt: a.CreatedAt,
		})
	}
	return d
}

// JSON encodes d, indented for a person to read.
func (d Document) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func about(retention time.Duration) About {
	a := About{
		WhatIsStored: "The moderation cases of this server about you (warnings, notes, timeouts, kicks, bans and " +
			"their reversals): their reason, points, times and your username when each was made, a link to " +
			"the message a warning was about (never the message itself), earlier versions of a reason, and " +
			"actions scheduled about you, such as the end of a timed ban. Your user ID, names, reasons and " +
			"message links are stored encrypted.",
		Why: "So that the server's moderators can apply its rules consistently: warnings add up, expire and " +
			"escalate, and every action can be reviewed.",
		Retention: "Cases are kept until a server administrator erases them; warnings stop counting when they " +
			"expire or are revoked.",
		Erasure: "Ask the server's administrators (anyone with Manage Server): /privacy erase removes every " +
			"record about you in this server. A pending end of a timed ban is kept until it has run.",
	}
	if retention > 0 {
		a.Retention = fmt.Sprintf("Cases that no longer count (revoked or expired warnings, notes, finished "+
			"actions) are deleted %s after they stop counting.", humanDuration(retention))
	}
	return a
}

// humanDuration words d in days, or years when it is a whole number of
// 365-day years.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	days := int64(d / day)
	switch {
	case d%day != 0:
		return d.String()
	case days%365 == 0 && days >= 365:
		if days == 365 {
			return "1 year"
		}
		return fmt.Sprintf("%d years", days/365)
	case days == 1:
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
