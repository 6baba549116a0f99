package bot

import (
	"testing"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestUnban(t *testing.T) {
	h := newHarness(t)
	h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })

	t.Run("OK", func(t *testing.T) {
		target := h.newMember("unbanme")
		h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "x"})
		in := h.slash(h.mod, "unban", discordtest.Options{"user": target.ID.String(), "reason": "appeal accepted"})
		wantText(t, "reply", in.Content, "Unbanned "+target.Mention()+" (unbanme)")
		if _, ok := h.guild.Banned(target.ID); ok {
			t.Error("still banned after /unban")
		}
		if c := h.storedCase(replyCase(t, in.Content)); c.Kind != storage.CaseUnban || c.TargetName != "unbanme" || c.Reason != "appeal accepted" {
			t.Errorf("stored got=%+v, want an unban of unbanme", c)
		}
		if r := onlyRequest(t, in.Requests, "DELETE", routeBan); r.AuditLogReason != "appeal accepted (by mod)" {
			t.Errorf("audit log reason got=%q", r.AuditLogReason)
		}
	})

	t.Run("Mention", func(t *testing.T) {
		target := h.newMember("mentioned")
		h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "x"})
		h.slash(h.admin, "unban", discordtest.Options{"user": " " + target.Mention() + " ", "reason": "x"})
		if _, ok := h.guild.Banned(target.ID); ok {
			t.Error("an unban by mention did not lift the ban")
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		target := h.newMember("stays")
		h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "x"})
		for _, tc := range []struct {
			name  string
			actor *discordtest.Member
			user  string
			want  string
		}{
			{"Member", h.member, target.ID.String(), "You need the Ban Members permission to use /unban"},
			{"ModeratorRole", h.helper, target.ID.String(), "You need the Ban Members permission to use /unban"},
			{"NotAnID", h.mod, "someone", "That doesn't look like a user."},
			{"RoleMention", h.mod, h.memberRole.Mention(), "That's a role, not a user."},
			{"NotBanned", h.mod, h.other.ID.String(), "They are not banned in this server. Nothing was recorded."},
			{"UnknownUser", h.mod, "123456789012345678", "There is no Discord user with that ID."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantRefused(t, h.slash(tc.actor, "unban", discordtest.Options{"user": tc.user, "reason": "x"}), tc.want)
			})
		}
		if _, ok := h.guild.Banned(target.ID); !ok {
			t.Error("a refused unban lifted the ban")
		}
		if n := len(h.casesOfKind(h.other, storage.CaseUnban)); n != 0 {
			t.Errorf("unban cases of someone never banned got=%d, want 0", n)
		}
	})
}
