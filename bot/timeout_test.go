package bot

import (
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestTimeout(t *testing.T) {
	h := newHarness(t)

	t.Run("OK", func(t *testing.T) {
		start := time.Now()
		in := h.slash(h.mod, "timeout", discordtest.Options{"user": h.member, "duration": "1h", "reason": "flooding #general"})
		if !in.Ephemeral || in.Type != discord.InteractionResponseTypeDeferredCreateMessage {
			t.Errorf("response type=%v ephemeral=%v, want an ephemeral deferral", in.Type, in.Ephemeral)
		}
		wantText(t, "reply", in.Content, "Timed out "+h.member.Mention(), "for 1 hour", DMSent.String())
		until, ok := h.member.TimedOutUntil()
		if !ok || until.Before(start.Add(59*time.Minute)) || until.After(time.Now().Add(time.Hour)) {
			t.Errorf("timed out until %v (ok=%v), want about an hour from now", until, ok)
		}
		c := h.storedCase(replyCase(t, in.Content))
		if c.Kind != storage.CaseTimeout || c.Duration != time.Hour || c.ModeratorID != h.mod.ID.String() || c.Reason != "flooding #general" {
			t.Errorf("stored got=%+v, want a 1-hour timeout by mod", c)
		}
		patch := onlyRequest(t, in.Requests, "PATCH", routeMember)
		if patch.AuditLogReason != "flooding #general (by mod)" {
			t.Errorf("audit log reason got=%q, want the reason and the moderator", patch.AuditLogReason)
		}
		// A timed-out member stays in the server, so the DM goes after.
		if dm := requestIndex(in.Requests, "POST", routeDMChannel); dm < requestIndex(in.Requests, "PATCH", routeMember) {
			t.Errorf("the DM (request %d) went before the timeout", dm)
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.member.ID)), "You were timed out in Test Guild", "flooding #general", "By: a moderator", "Until: <t:")
	})

	t.Run("Untimeout", func(t *testing.T) {
		in := h.slash(h.mod, "untimeout", discordtest.Options{"user": h.member, "reason": "calmed down"})
		wantText(t, "reply", in.Content, "Lifted the timeout of "+h.member.Mention())
		if _, ok := h.member.TimedOutUntil(); ok {
			t.Error("still timed out after /untimeout")
		}
		if c := h.storedCase(replyCase(t, in.Content)); c.Kind != storage.CaseUntimeout {
			t.Errorf("stored kind got=%s, want untimeout", c.Kind)
		}
		if r := onlyRequest(t, in.Requests, "PATCH", routeMember); r.AuditLogReason != "calmed down (by mod)" {
			t.Errorf("audit log reason got=%q", r.AuditLogReason)
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.member.ID)), "Your timeout in Test Guild was lifted")
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		in := h.slash(h.helper, "timeout", discordtest.Options{"user": h.other, "duration": "10m", "reason": "from a helper"})
		if c := h.storedCase(replyCase(t, in.Content)); c.ModeratorID != h.helper.ID.String() {
			t.Errorf("stored moderator got=%s, want the helper", c.ModeratorID)
		}
		if _, ok := h.other.TimedOutUntil(); !ok {
			t.Error("not timed out")
		}
		h.slash(h.helper, "untimeout", discordtest.Options{"user": h.other, "reason": "done"})
		if _, ok := h.other.TimedOutUntil(); ok {
			t.Error("still timed out")
		}
	})

	t.Run("BotLacksPermission", func(t *testing.T) {
		h.withoutBotPermission(t, discord.PermissionModerateMembers)
		before := len(h.casesOf(h.other))
		in := h.slash(h.mod, "timeout", discordtest.Options{"user": h.other, "duration": "1h", "reason": "x"})
		wantRefused(t, in, "I need the Timeout Members permission to time out.")
		if _, ok := h.other.TimedOutUntil(); ok || len(h.casesOf(h.other)) != before {
			t.Error("a refused timeout took effect or was stored")
		}
	})

	t.Run("Permanent", func(t *testing.T) {
		in := h.slash(h.mod, "timeout", discordtest.Options{"user": h.other, "duration": "never", "reason": "x"})
		wantRefused(t, in, "A timeout can't be permanent")
	})
}
