package cli

import (
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
)

// TestAlertsTest: `bot alerts test` posts one message to the webhook and
// says so; a refused post says what Discord answered and what to fix,
// without the webhook's token.
func TestAlertsTest(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	w := srv.CreateWebhook()
	dir := t.TempDir()

	t.Run("Arrives", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, []string{"BOT_ALERTS_WEBHOOK_URL=" + w.URL}, "alerts", "test")
		if code != exitOK || !strings.Contains(out, "arrived (Discord answered 204)") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		got := srv.WebhookMessages(w.ID)
		if len(got) != 1 || !strings.Contains(got[0].Content, "test alert") || string(got[0].AllowedMentions) != `{"parse":[]}` {
			t.Fatalf("messages=%+v, want one test alert that pings nobody", got)
		}
	})
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"WrongToken", srv.APIURL() + "/webhooks/" + w.ID.String() + "/wrongtoken1234", "401"},
		{"Unreachable", "http://127.0.0.1:1/api/webhooks/1/unreachabletoken", "check that this machine can reach Discord"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, dir, []string{"BOT_ALERTS_WEBHOOK_URL=" + tt.url}, "alerts", "test")
			if code != exitFailure || !strings.Contains(errOut, "did not arrive") || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want a failure naming %q", code, errOut, tt.wantErr)
			}
			if strings.Contains(errOut, "token1234") || strings.Contains(errOut, "unreachabletoken") {
				t.Errorf("stderr %q holds the webhook token", errOut)
			}
		})
	}
	t.Run("Deleted", func(t *testing.T) {
		srv.DeleteWebhook(w.ID)
		code, _, errOut := runCLI(t, dir, []string{"BOT_ALERTS_WEBHOOK_URL=" + w.URL}, "alerts", "test")
		if code != exitFailure || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "create a new one") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("NotSet", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "alerts", "test")
		if code != exitFailure || !strings.Contains(errOut, "alerts.webhook_url is not set") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("NoSubcommand", func(t *testing.T) {
		if code, _, _ := runCLI(t, dir, nil, "alerts"); code != exitUsage {
			t.Fatalf("exit %d, want %d", code, exitUsage)
		}
	})
}
