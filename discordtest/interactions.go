package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// tokenLifetime is how long follow-ups and @original edits are accepted.
const tokenLifetime = 15 * time.Minute

// Interaction types.
const (
	interactionCommand      = 2
	interactionComponent    = 3
	interactionAutocomplete = 4
	interactionModalSubmit  = 5
)

// interaction is the server's state of one INTERACTION_CREATE.
type interaction struct {
	id        snowflake.ID
	token     string
	kind      int
	created   time.Time
	guildID   snowflake.ID
	channelID snowflake.ID
	message   *Message // the message a component was on

	respType  int      // first callback type, 0 until answered
	original  *Message // the response message, once there is one
	followups []*Message
	choices   json.RawMessage
	modal     json.RawMessage
	edited    bool // @original edited, a follow-up sent, or deleted, after a deferral
	firstReq  int  // index in s.requests when dispatched
}

// interactionRoutes registers the routes interactions use. None needs the
// bot token: Discord authenticates them by the interaction token.
func (s *Server) interactionRoutes(add func(string, string, bool, routeHandler)) {
	add("POST", "/interactions/{interaction_id}/{interaction_token}/callback", false, s.callback)
	add("POST", "/webhooks/{webhook_id}/{webhook_token}", false, s.webhookPost)
	add("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", false, s.webhookMessage)
	add("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", false, s.webhookMessage)
	add("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", false, s.webhookMessage)
	add("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", false, s.webhookMessage)
	add("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", false, s.webhookMessage)
	add("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", false, s.webhookMessage)
}

func (s *Server) unknownInteraction(c *call, detail string) (int, any) {
	s.violate(c.r, c.route, ViolationUnknownInteraction, detail)
	return fail(http.StatusNotFound, codeUnknownInteraction, "Unknown interaction")
}

// callback handles POST /interactions/{id}/{token}/callback.
func (s *Server) callback(c *call) (int, any) {
	id, _ := c.pathID("interaction_id")
	token := c.r.PathValue("interaction_token")
	var body struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := c.decode(&body); err != nil {
		return badBody(err)
	}
	var mb messageBody
	if len(body.Data) > 0 && (body.Type == 4 || body.Type == 5 || body.Type == 7) {
		if err := json.Unmarshal(body.Data, &mb); err != nil {
			return badBody(err)
		}
	}

	s.mu.Lock()
	in := s.interactions[token]
	if in == nil || in.id != id {
		s.mu.Unlock()
		return s.unknownInteraction(c, "no interaction with this ID and token")
	}
	if in.respType != 0 {
		first := in.respType
		s.mu.Unlock()
		s.violate(c.r, c.route, ViolationAlreadyAcknowledged, fmt.Sprintf("callback type %d after type %d", body.Type, first))
		return fail(http.StatusBadRequest, codeAlreadyAcked, "Interaction has already been acknowledged.")
	}
	if age := time.Since(in.created); age > s.cfg.deadline {
		s.mu.Unlock()
		s.violate(c.r, c.route, ViolationLate, fmt.Sprintf("first callback %s after INTERACTION_CREATE, limit %s", age.Round(time.Millisecond), s.cfg.deadline))
		return fail(http.StatusNotFound, codeUnknownInteraction, "Unknown interaction")
	}
	if !validResponse(in.kind, body.Type, in.message != nil) {
		s.mu.Unlock()
		s.violate(c.r, c.route, ViolationResponseType, fmt.Sprintf("callback type %d for interaction type %d", body.Type, in.kind))
		return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "type: not valid for this interaction"}
	}
	s.mu.Unlock()

	if body.Type == 4 || body.Type == 7 {
		if p := c.checkMessage(mb, body.Type == 4); p != "" {
			return c.limitError(p)
		}
		c.checkPings(mb)
	}
	if body.Type == 9 {
		if p := checkModal(body.Data); p != "" {
			return c.limitError(p)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if in.respType != 0 { // lost a race with a concurrent callback
		s.violate(c.r, c.route, ViolationAlreadyAcknowledged, "concurrent callbacks")
		return fail(http.StatusBadRequest, codeAlreadyAcked, "Interaction has already been acknowledged.")
	}
	in.respType = body.Type
	switch body.Type {
	case 4, 5:
		m := s.newMessage(mb, in.channelID, in.guildID)
		m.InteractionID = in.id
		c.attach(m)
		if body.Type == 5 {
			m.Flags = m.Flags.Add(discord.MessageFlagLoading)
		}
		in.original = m
		if !m.Ephemeral() {
			s.messages[m.ChannelID] = append(s.messages[m.ChannelID], m)
		}
	case 6:
		in.original = in.message
	case 7:
		if in.message != nil {
			in.message.apply(mb)
			c.attach(in.message)
			in.message.EditedAt = time.Now()
		}
		in.original = in.message
	case 8:
		var d struct {
			Choices json.RawMessage `json:"choices"`
		}
		_ = json.Unmarshal(body.Data, &d)
		in.choices = d.Choices
	case 9:
		in.modal = body.Data
	}
	s.bumpLocked()
	if c.r.URL.Query().Get("with_response") == "true" {
		return http.StatusOK, s.callbackResponseLocked(in)
	}
	return http.StatusNoContent, nil
}

// validResponse reports whether callback type rt answers interaction type
// kind; onMessage is whether the interaction came from a message's
// component (a modal opened by a button can update that message).
func validResponse(kind, rt int, onMessage bool) bool {
	switch rt {
	case 4, 5:
		return kind == interactionCommand || kind == interactionComponent || kind == interactionModalSubmit
	case 9:
		return kind == interactionCommand || kind == interactionComponent
	case 6, 7:
		return kind == interactionComponent || (kind == interactionModalSubmit && onMessage)
	case 8:
		return kind == interactionAutocomplete
	}
	return false
}

func (s *Server) callbackResponseLocked(in *interaction) obj {
	o := obj{"interaction": obj{"id": in.id.String(), "type": in.kind}}
	res := obj{"type": in.respType}
	if in.original != nil {
		res["message"] = s.messageJSONLocked(in.original)
	}
	o["resource"] = res
	return o
}

// interactionFor finds the interaction behind a webhook token and checks the
// application ID and the token's age.
func (s *Server) interactionFor(c *call) (*interaction, int, any) {
	app, _ := c.pathID("webhook_id")
	token := c.r.PathValue("webhook_token")
	s.mu.Lock()
	in := s.interactions[token]
	s.mu.Unlock()
	if app != s.appID || in == nil {
		s.violate(c.r, c.route, ViolationUnknownInteraction, "unknown webhook ID or token")
		status, body := fail(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return nil, status, body
	}
	if time.Since(in.created) > tokenLifetime {
		status, body := s.unknownInteraction(c, "interaction token older than 15 minutes")
		return nil, status, body
	}
	s.mu.Lock()
	acked := in.respType != 0
	s.mu.Unlock()
	if !acked {
		s.violate(c.r, c.route, ViolationNotAcknowledged, "interaction has no response yet")
		status, body := fail(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
		return nil, status, body
	}
	return in, 0, nil
}

// followup handles POST /webhooks/{app}/{token}. After a deferred response
// the first follow-up fills the "thinking" message, as on Discord.
func (s *Server) followup(c *call) (int, any) {
	in, status, errBody := s.interactionFor(c)
	if in == nil {
		return status, errBody
	}
	var mb messageBody
	if err := c.decode(&mb); err != nil {
		return badBody(err)
	}
	if p := c.checkMessage(mb, true); p != "" {
		return c.limitError(p)
	}
	c.checkPings(mb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.respType == 5 && !in.edited && in.original != nil {
		in.original.apply(mb)
		c.attach(in.original)
		in.original.Flags = in.original.Flags.Remove(discord.MessageFlagLoading)
		in.original.EditedAt = time.Now()
		in.edited = true
		s.bumpLocked()
		return http.StatusOK, s.messageJSONLocked(in.original)
	}
	m := s.newMessage(mb, in.channelID, in.guildID)
	m.InteractionID = in.id
	c.attach(m)
	in.followups = append(in.followups, m)
	if !m.Ephemeral() {
		s.messages[m.ChannelID] = append(s.messages[m.ChannelID], m)
	}
	s.bumpLocked()
	return http.StatusOK, s.messageJSONLocked(m)
}

// webhookMessage handles GET, PATCH and DELETE of @original and of
// follow-up messages.
func (s *Server) webhookMessage(c *call) (int, any) {
	in, status, errBody := s.interactionFor(c)
	if in == nil {
		return status, errBody
	}
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
	var m *Message
	if mid := c.r.PathValue("message_id"); mid == "" {
		m = in.original
	} else {
		for _, f := range append([]*Message{in.original}, in.followups...) {
			if f != nil && f.ID.String() == mid {
				m = f
			}
		}
	}
	if m == nil || m.Deleted {
		return fail(http.StatusNotFound, codeUnknownMessage, "Unknown Message")
	}
	switch c.r.Method {
	case http.MethodPatch:
		m.apply(mb)
		c.attach(m)
		m.Flags = m.Flags.Remove(discord.MessageFlagLoading)
		m.EditedAt = time.Now()
	case http.MethodDelete:
		m.Deleted = true
	}
	if m == in.original && c.r.Method != http.MethodGet {
		in.edited = true
	}
	s.bumpLocked()
	if c.r.Method == http.MethodDelete {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.messageJSONLocked(m)
}
