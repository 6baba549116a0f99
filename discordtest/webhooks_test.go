package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// post sends body to url and returns the status and the decoded answer.
func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestWebhookExecute(t *testing.T) {
	srv := NewServer(WithSpec(SpecPath()))
	defer srv.Close()
	w := srv.CreateWebhook()
	other := srv.CreateWebhook()
	versioned := srv.APIURL() + "/webhooks/" + w.ID.String() + "/" + w.Token

	const body = `{"content":"disk low","allowed_mentions":{"parse":[]}}`
	if st, _ := post(t, w.URL, body); st != http.StatusNoContent {
		t.Fatalf("execute: status=%d, want 204", st)
	}
	st, msg := post(t, versioned+"?wait=true", `{"content":"second","allowed_mentions":{"parse":[]}}`)
	if st != http.StatusOK || msg["content"] != "second" {
		t.Fatalf("execute ?wait=true: status=%d body=%v, want 200 with the message", st, msg)
	}
	got := srv.WebhookMessages(w.ID)
	if len(got) != 2 || got[0].Content != "disk low" || got[1].Content != "second" {
		t.Fatalf("messages=%+v, want the two posted", got)
	}
	if string(got[0].AllowedMentions) != `{"parse":[]}` {
		t.Errorf("allowed_mentions=%s, want as sent", got[0].AllowedMentions)
	}
	if n := len(srv.WebhookMessages(other.ID)); n != 0 {
		t.Errorf("other webhook has %d messages, want 0", n)
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Errorf("violations: %+v", v)
	}
	if p := srv.Pings(); len(p) != 0 {
		t.Errorf("pings: %+v", p)
	}
}

func TestWebhookRefusals(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	w := srv.CreateWebhook()
	base := srv.APIURL() + "/webhooks/" + w.ID.String() + "/"
	tests := []struct {
		name, url, body string
		status, code    int
	}{
		{"WrongToken", base + "nottherighttoken", `{"content":"x"}`, http.StatusUnauthorized, codeInvalidWebhookToken},
		{"Empty", w.URL, `{"content":""}`, http.StatusBadRequest, codeEmptyMessage},
		{"TooLong", w.URL, `{"content":"` + strings.Repeat("a", 2001) + `"}`, http.StatusBadRequest, codeInvalidFormBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := post(t, tt.url, tt.body)
			if st != tt.status || body["code"] != float64(tt.code) {
				t.Errorf("got=%d %v, want %d code %d", st, body, tt.status, tt.code)
			}
		})
	}
	srv.DeleteWebhook(w.ID)
	if st, body := post(t, w.URL, `{"content":"x"}`); st != http.StatusNotFound || body["code"] != float64(codeUnknownWebhook) {
		t.Errorf("deleted webhook: got=%d %v, want 404 code %d", st, body, codeUnknownWebhook)
	}
	if n := len(srv.WebhookMessages(w.ID)); n != 0 {
		t.Errorf("%d messages recorded, want none", n)
	}
}
