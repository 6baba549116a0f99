package bot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestNote(t *testing.T) {
	h := newHarness(t)
	stranger := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"}).Owner()

	t.Run("OK", func(t *testing.T) {
		ch := h.addModlog()
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = "" })
		in := h.slash(h.mod, "note", discordtest.Options{"user": h.member, "text": "seems to be\nan alt of @everyone"})
		n := replyCase(t, in.Content)
		wantText(t, "reply", in.Content, h.member.Mention(), "never sent to the user")
		if !in.Ephemeral {
			t.Error("reply is not ephemeral")
		}
		c := h.storedCase(n)
		if c.Kind != storage.CaseNote || c.Points != 0 || !c.ExpiresAt.IsZero() || c.TargetName != "member" ||
			c.ModeratorName != "mod" || c.Reason != "seems to be\nan alt of @everyone" {
			t.Errorf("stored got=%+v, want a note without points", c)
		}
		if dms := h.srv.DMs(h.member.ID); len(dms) != 0 {
			t.Errorf("DMs got=%d, want none: notes are private", len(dms))
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(ch.ID)), fmt.Sprintf("Case #%d · Note", n), "alt of @everyone")
		if len(h.srv.Pings()) != 0 {
			t.Errorf("pings got=%+v, want none", h.srv.Pings())
		}
	})

	t.Run("NotMember", func(t *testing.T) {
		in := h.slash(h.mod, "note", discordtest.Options{"user": stranger, "text": "raided another server"})
		c := h.storedCase(replyCase(t, in.Content))
		if c.TargetID != stranger.ID.String() || c.TargetName != "stranger" {
			t.Errorf("stored target got=%s (%s), want the stranger", c.TargetID, c.TargetName)
		}
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		wantRefused(t, h.slash(h.helper, "note", discordtest.Options{"user": h.member, "text": "x"}), "Only moderators can use /note")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		in := h.slash(h.helper, "note", discordtest.Options{"user": h.member, "text": "from a helper"})
		if c := h.storedCase(replyCase(t, in.Content)); c.ModeratorID != h.helper.ID.String() {
			t.Errorf("stored moderator got=%s, want the helper", c.ModeratorID)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			actor  *discordtest.Member
			target *discordtest.Member
			text   string
			want   string
		}{
			{"NotModerator", h.member, h.other, "x", "Only moderators can use /note"},
			{"Self", h.mod, h.mod, "x", "You can't add a note to yourself."},
			{"Owner", h.mod, h.owner, "x", "You can't add a note to the server owner."},
			{"HigherRole", h.mod, h.admin, "x", "is not below yours"},
			{"EmptyText", h.mod, h.other, "  ", "The note must be 1–1000 characters; yours is empty."},
			{"LongText", h.mod, h.other, strings.Repeat("a", 1001), "yours has 1001"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(h.casesOf(tc.target))
				wantRefused(t, h.slash(tc.actor, "note", discordtest.Options{"user": tc.target, "text": tc.text}), tc.want)
				if got := len(h.casesOf(tc.target)); got != before {
					t.Errorf("cases got=%d, want %d: a refusal stored something", got, before)
				}
			})
		}
	})
}
