package cli

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/disgoorg/disgo/discord"
)

// TestInvite: the link names the application the token belongs to (or the
// one given) and asks for exactly the permissions the commands need.
func TestInvite(t *testing.T) {
	const app = "123456789012345678"
	token := base64.RawStdEncoding.EncodeToString([]byte(app)) + ".x.y"
	// The bot posts and embeds in the modlog, times out, kicks and bans,
	// reads the audit log for actions taken outside it, and reads and
	// deletes messages for /purge.
	want := discord.PermissionViewChannel | discord.PermissionSendMessages | discord.PermissionEmbedLinks |
		discord.PermissionModerateMembers | discord.PermissionKickMembers | discord.PermissionBanMembers |
		discord.PermissionViewAuditLog | discord.PermissionReadMessageHistory | discord.PermissionManageMessages

	link := func(t *testing.T, out string) url.Values {
		t.Helper()
		i := strings.Index(out, "https://discord.com/oauth2/authorize?")
		if i < 0 {
			t.Fatalf("no invite link in %q", out)
		}
		u, err := url.Parse(strings.Fields(out[i:])[0])
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	}
	t.Run("FromToken", func(t *testing.T) {
		code, out, errOut := runCLI(t, t.TempDir(), []string{"BOT_DISCORD_TOKEN=" + token}, "invite")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		q := link(t, out)
		if q.Get("client_id") != app {
			t.Errorf("client_id got=%q, want %q", q.Get("client_id"), app)
		}
		if q.Get("permissions") != strconv.FormatInt(int64(want), 10) {
			t.Errorf("permissions got=%s, want %d", q.Get("permissions"), want)
		}
		if q.Get("scope") != "bot applications.commands" {
			t.Errorf("scope got=%q", q.Get("scope"))
		}
	})
	t.Run("ClientID", func(t *testing.T) {
		code, out, errOut := runCLI(t, t.TempDir(), nil, "invite", "--client-id", "42")
		if code != exitOK || link(t, out).Get("client_id") != "42" {
			t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
		}
	})
	t.Run("NoToken", func(t *testing.T) {
		code, _, errOut := runCLI(t, t.TempDir(), nil, "invite")
		if code != exitFailure || !strings.Contains(errOut, "--client-id") {
			t.Errorf("exit %d, stderr %q; want a failure that mentions --client-id", code, errOut)
		}
	})
	t.Run("NotAToken", func(t *testing.T) {
		code, _, errOut := runCLI(t, t.TempDir(), []string{"BOT_DISCORD_TOKEN=not-a-token"}, "invite")
		if code != exitFailure || !strings.Contains(errOut, "not a Discord bot token") {
			t.Errorf("exit %d, stderr %q; want the token refused", code, errOut)
		}
	})
}
