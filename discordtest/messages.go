package discordtest

import (
	"net/http"
	"slices"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// Discord refuses to bulk delete a message older than two weeks (50034),
// and takes between 2 and 100 message IDs at once.
const (
	bulkDeleteMaxAge     = 14 * 24 * time.Hour
	bulkDeleteMin        = 2
	bulkDeleteMax        = 100
	codeBulkDeleteTooOld = 50034
)

// PostMessage puts a message in a channel as if author (a member, a bot
// user or any user ID) had sent it at at; a zero at is now. The message's
// ID is the snowflake of at, as Discord's are, so that a test can post
// messages older than Discord lets the bot bulk delete. Messages are kept
// in ID order whatever order they are posted in.
func (s *Server) PostMessage(ch *Channel, author snowflake.ID, content string, at time.Time) Message {
	if at.IsZero() {
		at = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := snowflake.New(at)
	ms := s.messages[ch.ID]
	for slices.ContainsFunc(ms, func(m *Message) bool { return m.ID == id }) {
		id++
	}
	m := &Message{ID: id, ChannelID: ch.ID, GuildID: ch.GuildID, AuthorID: author, Content: content, CreatedAt: at}
	i, _ := slices.BinarySearchFunc(ms, id, func(m *Message, id snowflake.ID) int {
		return cmpID(m.ID, id)
	})
	s.messages[ch.ID] = slices.Insert(ms, i, m)
	s.bumpLocked()
	return *m
}

func cmpID(a, b snowflake.ID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BulkDeleted returns how many messages each bulk delete in a channel
// removed, in order.
func (s *Server) BulkDeleted(channelID snowflake.ID) []int {
	var out []int
	for _, r := range s.RequestsTo(http.MethodPost, "/channels/{channel_id}/messages/bulk-delete") {
		if r.Status != http.StatusNoContent || r.Path != "/channels/"+channelID.String()+"/messages/bulk-delete" {
			continue
		}
		var b struct {
			Messages []snowflake.ID `json:"messages"`
		}
		if r.Decode(&b) == nil {
			out = append(out, len(b.Messages))
		}
	}
	return out
}

// bulkDelete handles POST /channels/{id}/messages/bulk-delete as Discord
// does: it needs Manage Messages, 2 to 100 distinct IDs, and refuses the
// whole request if any message is older than two weeks. IDs of messages
// that do not exist are ignored.
func (s *Server) bulkDelete(c *call) (int, any) {
	var b struct {
		Messages []snowflake.ID `json:"messages"`
	}
	if err := c.decode(&b); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, status, body := c.channelLocked()
	if ch == nil {
		return status, body
	}
	if ch.Type == discord.ChannelTypeDM {
		return fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
	}
	p := s.botChannelPermsLocked(ch)
	if !p.Has(discord.PermissionViewChannel) {
		return fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
	}
	if !p.Has(discord.PermissionManageMessages) {
		return missingPermissions()
	}
	switch n := len(b.Messages); {
	case n < bulkDeleteMin:
		return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "messages: must have at least 2 items"}
	case n > bulkDeleteMax:
		return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "messages: must have at most 100 items"}
	}
	seen := make(map[snowflake.ID]bool, len(b.Messages))
	for _, id := range b.Messages {
		if seen[id] {
			return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "messages: duplicate message ID " + id.String()}
		}
		seen[id] = true
		if time.Since(id.Time()) > bulkDeleteMaxAge {
			return fail(http.StatusBadRequest, codeBulkDeleteTooOld, "You can only bulk delete messages that are under 14 days old.")
		}
	}
	for _, m := range s.messages[ch.ID] {
		if seen[m.ID] {
			m.Deleted = true
		}
	}
	s.bumpLocked()
	return http.StatusNoContent, nil
}
