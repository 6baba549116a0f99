package discordtest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

func (s *Server) channelRoutes(add func(string, string, bool, routeHandler)) {
	add("GET", "/channels/{channel_id}", true, s.getChannel)
	add("GET", "/channels/{channel_id}/messages", true, s.listMessages)
	add("POST", "/channels/{channel_id}/messages", true, s.createMessage)
	add("GET", "/channels/{channel_id}/messages/{message_id}", true, s.channelMessage)
	add("PATCH", "/channels/{channel_id}/messages/{message_id}", true, s.channelMessage)
	add("DELETE", "/channels/{channel_id}/messages/{message_id}", true, s.channelMessage)
	add("POST", "/channels/{channel_id}/messages/bulk-delete", true, s.bulkDelete)
}

func (s *Server) getGateway(c *call) (int, any) {
	return http.StatusOK, obj{"url": s.GatewayURL()}
}

func (s *Server) getCurrentUser(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.userJSONLocked(s.botID)
	o["verified"] = true
	o["mfa_enabled"] = false
	o["flags"] = 0
	return http.StatusOK, o
}

func (s *Server) getUser(c *call) (int, any) {
	id, _ := c.pathID("user_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[id] == nil {
		return fail(http.StatusNotFound, codeUnknownUser, "Unknown User")
	}
	return http.StatusOK, s.userJSONLocked(id)
}

// createDM handles POST /users/@me/channels: the DM channel is created even
// when the user does not accept DMs; sending to it fails.
func (s *Server) createDM(c *call) (int, any) {
	var b struct {
		RecipientID snowflake.ID `json:"recipient_id"`
	}
	if err := c.decode(&b); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[b.RecipientID] == nil || b.RecipientID == s.botID {
		return fail(http.StatusBadRequest, codeInvalidRecipient, "Invalid Recipient(s)")
	}
	id, ok := s.dmChannels[b.RecipientID]
	if !ok {
		id = s.newID()
		s.dmChannels[b.RecipientID] = id
		s.channels[id] = &Channel{ID: id, Type: discord.ChannelTypeDM, srv: s, recipient: b.RecipientID}
		s.bumpLocked()
	}
	return http.StatusOK, s.channelJSONLocked(s.channels[id])
}

// channelLocked returns the route's channel; deleted and unknown channels
// are 404 10003.
func (c *call) channelLocked() (*Channel, int, any) {
	id, _ := c.pathID("channel_id")
	ch := c.s.channels[id]
	if ch == nil || ch.deleted {
		status, body := fail(http.StatusNotFound, codeUnknownChannel, "Unknown Channel")
		return nil, status, body
	}
	return ch, 0, nil
}

// botChannelPermsLocked is what the bot may do in a guild channel.
func (s *Server) botChannelPermsLocked(ch *Channel) discord.Permissions {
	g := s.guildLocked(ch.GuildID)
	if g == nil {
		return 0
	}
	bot := g.members[s.botID]
	if bot == nil {
		return 0
	}
	return g.permissionsLocked(bot)
}

func (s *Server) getChannel(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, status, body := c.channelLocked()
	if ch == nil {
		return status, body
	}
	if ch.Type != discord.ChannelTypeDM && !s.botChannelPermsLocked(ch).Has(discord.PermissionViewChannel) {
		return fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
	}
	return http.StatusOK, s.channelJSONLocked(ch)
}

// createMessage handles POST /channels/{id}/messages for guild channels and
// DMs.
func (s *Server) createMessage(c *call) (int, any) {
	var mb messageBody
	if err := c.decode(&mb); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	ch, status, body := c.channelLocked()
	if ch == nil {
		s.mu.Unlock()
		return status, body
	}
	if ch.Type == discord.ChannelTypeDM {
		if u := s.users[ch.recipient]; u == nil || u.dmsClosed || u.bot || !s.sharesGuildLocked(ch.recipient) {
			s.mu.Unlock()
			return fail(http.StatusForbidden, codeCannotDM, "Cannot send messages to this user")
		}
	} else {
		p := s.botChannelPermsLocked(ch)
		if !p.Has(discord.PermissionViewChannel) {
			s.mu.Unlock()
			return fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
		}
		if !p.Has(discord.PermissionSendMessages) {
			s.mu.Unlock()
			return missingPermissions()
		}
	}
	s.mu.Unlock()
	if p := c.checkMessage(mb, true); p != "" {
		return c.limitError(p)
	}
	c.checkPings(mb)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.newMessage(mb, ch.ID, ch.GuildID)
	m.Flags = m.Flags.Remove(discord.MessageFlagEphemeral)
	c.attach(m)
	s.messages[ch.ID] = append(s.messages[ch.ID], m)
	s.bumpLocked()
	return http.StatusOK, s.messageJSONLocked(m)
}

// sharesGuildLocked reports whether the user is in a guild with the bot;
// Discord refuses DMs otherwise.
func (s *Server) sharesGuildLocked(uid snowflake.ID) bool {
	for _, g := range s.guilds {
		if _, ok := g.members[uid]; ok {
			if _, bot := g.members[s.botID]; bot {
				return true
			}
		}
	}
	return false
}

func (s *Server) listMessages(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, status, body := c.channelLocked()
	if ch == nil {
		return status, body
	}
	limit := 50
	if v, err := strconv.Atoi(c.r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 100)
	}
	// before pages back from a message, newest first, as Discord does.
	before, hasBefore := snowflake.ID(0), false
	if v := c.r.URL.Query().Get("before"); v != "" {
		id, err := snowflake.Parse(v)
		if err != nil {
			return badBody(err)
		}
		before, hasBefore = id, true
	}
	out := []obj{}
	ms := s.messages[ch.ID]
	for i := len(ms) - 1; i >= 0 && len(out) < limit; i-- {
		if !ms[i].Deleted && (!hasBefore || ms[i].ID < before) {
			out = append(out, s.messageJSONLocked(ms[i]))
		}
	}
	return http.StatusOK, out
}

// channelMessage handles GET, PATCH and DELETE of one channel message. Only
// the bot's own messages may be edited.
func (s *Server) channelMessage(c *call) (int, any) {
	var mb messageBody
	if c.r.Method == http.MethodPatch {
		if err := c.decode(&mb); err != nil {
			return badBody(err)
		}
		if p := c.checkMessage(mb, false); p != "" {
			return c.limitError(p)
		}
		c.checkPings(mb)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, status, body := c.channelLocked()
	if ch == nil {
		return status, body
	}
	mid, _ := c.pathID("message_id")
	var m *Message
	for _, x := range s.messages[ch.ID] {
		if x.ID == mid && !x.Deleted {
			m = x
		}
	}
	if m == nil {
		return fail(http.StatusNotFound, codeUnknownMessage, "Unknown Message")
	}
	switch c.r.Method {
	case http.MethodPatch:
		if m.AuthorID != s.botID {
			return fail(http.StatusForbidden, codeCannotEditOthers, "Cannot edit a message authored by another user")
		}
		m.apply(mb)
		c.attach(m)
		m.EditedAt = time.Now()
	case http.MethodDelete:
		if m.AuthorID != s.botID && ch.Type != discord.ChannelTypeDM && !s.botChannelPermsLocked(ch).Has(discord.PermissionManageMessages) {
			return missingPermissions()
		}
		m.Deleted = true
		s.bumpLocked()
		return http.StatusNoContent, nil
	}
	s.bumpLocked()
	return http.StatusOK, s.messageJSONLocked(m)
}

func (s *Server) unknownRoute(c *call) (int, any) {
	s.violate(c.r, "", ViolationUnknownRoute, "the fake does not implement this route")
	return fail(http.StatusNotFound, 0, "404: Not Found")
}

// Messages returns the visible (not ephemeral, not deleted) messages in a
// channel or DM channel, oldest first.
func (s *Server) Messages(channelID snowflake.ID) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channelID] {
		if !m.Deleted {
			out = append(out, *m)
		}
	}
	return out
}

// DMs returns the messages the bot sent to a user by DM, oldest first.
func (s *Server) DMs(userID snowflake.ID) []Message {
	s.mu.Lock()
	id, ok := s.dmChannels[userID]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.Messages(id)
}
