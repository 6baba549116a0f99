package discordtest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/disgoorg/snowflake/v2"
)

// Discord's error code for a webhook token that does not match the
// webhook.
const codeInvalidWebhookToken = 50027

// Webhook is an incoming webhook made with CreateWebhook: a URL anyone
// holding it can post to, without the bot token.
type Webhook struct {
	ID    snowflake.ID
	Token string
	// URL is the webhook's address as Discord shows it, unversioned:
	// http://127.0.0.1:P/api/webhooks/ID/TOKEN. The /api/v10 form works too.
	URL string
}

// WebhookMessage is one message executed on a webhook.
type WebhookMessage struct {
	ID snowflake.ID
	// Content is the text posted, and Body the JSON request as sent.
	Content string
	Body    json.RawMessage
	// AllowedMentions is the allowed_mentions object sent, nil if none was.
	AllowedMentions json.RawMessage
	At              time.Time
}

// webhook is the server's record of a Webhook.
type webhook struct {
	Webhook
	deleted  bool
	messages []WebhookMessage
}

// CreateWebhook makes a webhook, as a server admin does in a channel's
// Integrations settings, and returns its URL.
func (s *Server) CreateWebhook() Webhook {
	w := &webhook{Webhook: Webhook{ID: s.newID(), Token: randomHex(32)}}
	w.URL = s.base + "/api/webhooks/" + w.ID.String() + "/" + w.Token
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhooks == nil {
		s.webhooks = map[snowflake.ID]*webhook{}
	}
	s.webhooks[w.ID] = w
	return w.Webhook
}

// DeleteWebhook deletes the webhook with id: executing it then answers
// 404 Unknown Webhook, as on Discord.
func (s *Server) DeleteWebhook(id snowflake.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.webhooks[id]; w != nil {
		w.deleted = true
	}
}

// WebhookMessages returns the messages executed on the webhook with id,
// oldest first.
func (s *Server) WebhookMessages(id snowflake.ID) []WebhookMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.webhooks[id]; w != nil {
		return append([]WebhookMessage(nil), w.messages...)
	}
	return nil
}

// WaitWebhookMessages waits until the webhook with id holds at least n
// messages, and returns them all.
func (s *Server) WaitWebhookMessages(ctx context.Context, id snowflake.ID, n int) ([]WebhookMessage, error) {
	err := s.waitUntil(ctx, func() bool {
		w := s.webhooks[id]
		return w != nil && len(w.messages) >= n
	})
	return s.WebhookMessages(id), err
}

// webhookRoutes registers the unversioned webhook URL that Discord hands
// out (/api/webhooks/…); the versioned one shares its route with
// interaction follow-ups (see webhookPost).
func (s *Server) webhookRoutes(mux *http.ServeMux) {
	const route = "/webhooks/{webhook_id}/{webhook_token}"
	mux.Handle("POST /api"+route, s.rest(route, route, false, s.webhookPost))
}

// webhookPost handles POST /webhooks/{id}/{token}: executing a webhook
// made with CreateWebhook, or otherwise an interaction follow-up (whose
// checks answer an unknown token).
func (s *Server) webhookPost(c *call) (int, any) {
	id, ok := c.pathID("webhook_id")
	s.mu.Lock()
	w := s.webhooks[id]
	s.mu.Unlock()
	if !ok || w == nil {
		return s.followup(c)
	}
	return s.executeWebhook(c, w)
}

// executeWebhook posts a message as w: 204 without ?wait=true, 200 and
// the message with it.
func (s *Server) executeWebhook(c *call, w *webhook) (int, any) {
	s.mu.Lock()
	deleted, token := w.deleted, w.Token
	s.mu.Unlock()
	if deleted {
		return fail(http.StatusNotFound, codeUnknownWebhook, "Unknown Webhook")
	}
	if c.r.PathValue("webhook_token") != token {
		return fail(http.StatusUnauthorized, codeInvalidWebhookToken, "Invalid Webhook Token")
	}
	var mb messageBody
	if err := c.decode(&mb); err != nil {
		return badBody(err)
	}
	if p := c.checkMessage(mb, true); p != "" {
		return c.limitError(p)
	}
	c.checkPings(mb)
	m := WebhookMessage{ID: s.newID(), Body: append(json.RawMessage(nil), c.body...),
		AllowedMentions: mb.AllowedMentions, At: time.Now()}
	if mb.Content != nil {
		m.Content = *mb.Content
	}
	s.mu.Lock()
	w.messages = append(w.messages, m)
	s.bumpLocked()
	s.mu.Unlock()
	if c.r.URL.Query().Get("wait") != "true" {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, map[string]any{
		"id": m.ID.String(), "type": 0, "content": m.Content, "channel_id": w.ID.String(), "webhook_id": w.ID.String(),
		"author":    map[string]any{"id": w.ID.String(), "username": "webhook", "bot": true},
		"timestamp": m.At.UTC().Format(time.RFC3339),
	}
}
