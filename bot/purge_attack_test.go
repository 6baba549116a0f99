package bot

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
)

// Discord's failures of the bulk delete: each reply is honest about what
// may have happened to the messages, and nothing is recorded when nothing
// was deleted.
func TestPurgeDiscordFailures(t *testing.T) {
	h := newHarness(t)
	h.guild.BotRole().SetPermissions(discordtest.DefaultBotPermissions | discord.PermissionManageMessages)
	ch := h.guild.Channels()[0]
	modlog := h.addModlog()
	const route = "/channels/{channel_id}/messages/bulk-delete"
	for _, tc := range []struct {
		status, count int
		want          string
		deleted       bool
	}{
		{http.StatusTooManyRequests, 1, "Deleted 3 messages", true},
		// Discord may have deleted them before its answer was lost: the
		// moderator is told to look before a second /purge deletes the
		// next messages.
		{http.StatusBadGateway, 1, "Look at the channel before", false},
		{http.StatusInternalServerError, 20, "Look at the channel before", false},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			for range 3 {
				h.srv.PostMessage(ch, h.member.ID, "x", time.Now().Add(-time.Minute))
			}
			before := len(h.srv.Messages(ch.ID))
			posts := len(h.srv.Messages(modlog.ID))
			h.srv.FailNext(http.MethodPost, route, tc.status, tc.count)
			defer h.srv.ClearFaults()
			in := h.slash(h.admin, "purge", discordtest.Options{"count": 3})
			t.Logf("reply: %q", in.Content)
			if tc.want != "" {
				wantText(t, "reply", in.Content, tc.want)
			}
			gone := before - len(h.srv.Messages(ch.ID))
			if gone > 0 && !containsAll(in.Content, "Deleted 3") {
				t.Errorf("%d messages deleted, but the reply says %q", gone, in.Content)
			}
			if gone == 0 && len(h.srv.Messages(modlog.ID)) != posts {
				t.Errorf("nothing deleted, but the modlog got a post")
			}
		})
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
