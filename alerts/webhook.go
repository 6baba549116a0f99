package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// postTimeout bounds one post, so a webhook that does not answer cannot
// hold up the next check.
const postTimeout = 10 * time.Second

// Poster delivers a message to a webhook URL. It returns the HTTP status
// (0 when no answer came) and an error unless Discord accepted the
// message. The error never holds the URL, which carries the webhook's
// token.
type Poster interface {
	Post(ctx context.Context, webhookURL, content string) (status int, err error)
}

// WebhookPoster executes a Discord webhook with a plain HTTP POST. The
// zero value uses http.DefaultClient.
type WebhookPoster struct {
	Client *http.Client
}

// webhookBody is the JSON a webhook execution sends: the text, and no
// mentions allowed, so an alert never pings anyone.
type webhookBody struct {
	Content         string          `json:"content"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

type allowedMentions struct {
	Parse []string `json:"parse"`
}

// Post implements Poster.
func (p WebhookPoster) Post(ctx context.Context, webhookURL, content string) (int, error) {
	body, err := json.Marshal(webhookBody{Content: content, AllowedMentions: allowedMentions{Parse: []string{}}})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("alerts.webhook_url is not a URL that can be posted to")
	}
	req.Header.Set("Content-Type", "application/json")
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, token included
		}
		return 0, fmt.Errorf("post to the webhook: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, nil
	}
	var de struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &de)
	return resp.StatusCode, &RejectedError{Status: resp.StatusCode, Code: de.Code, Message: de.Message}
}

// RejectedError is a webhook post Discord answered with an error status.
type RejectedError struct {
	Status  int
	Code    int    // Discord's JSON error code, 0 if none came
	Message string // Discord's message, "" if none came
}

// Error says what Discord answered and what to do about it.
func (e *RejectedError) Error() string {
	what := fmt.Sprintf("Discord answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		what += fmt.Sprintf(" (%s, code %d)", e.Message, e.Code)
	}
	return what + ": " + e.Fix()
}

// Fix says what the owner should do about the refusal.
func (e *RejectedError) Fix() string {
	switch {
	case e.Status == http.StatusNotFound:
		return "the webhook was deleted; create a new one in the channel's Integrations settings and set alerts.webhook_url to its URL"
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "the token in alerts.webhook_url is wrong; copy the URL again from the channel's Integrations settings"
	case e.Status == http.StatusTooManyRequests:
		return "Discord is rate limiting the webhook; it is tried again later"
	case e.Status >= 500:
		return "Discord had a problem; it is tried again later"
	}
	return "check that alerts.webhook_url is the webhook's URL as Discord shows it"
}
