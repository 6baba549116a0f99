package bot

import (
	"testing"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestKick(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()

	t.Run("OK", func(t *testing.T) {
		target := h.newMember("kickme")
		in := h.slash(h.mod, "kick", discordtest.Options{"user": target, "reason": "raiding"})
		wantText(t, "reply", in.Content, "Kicked "+target.Mention(), DMSent.String())
		if target.InGuild() {
			t.Error("still in the guild after /kick")
		}
		n := replyCase(t, in.Content)
		if c := h.storedCase(n); c.Kind != storage.CaseKick || c.TargetName != "kickme" || c.ModeratorID != h.mod.ID.String() {
			t.Errorf("stored got=%+v, want a kick of kickme by mod", c)
		}
		del := onlyRequest(t, in.Requests, "DELETE", routeMember)
		if del.AuditLogReason != "raiding (by mod)" {
			t.Errorf("audit log reason got=%q", del.AuditLogReason)
		}
		// Once kicked, they may share no server with the bot: the DM first.
		dm := requestIndex(in.Requests, "POST", routeMessages)
		if dm < 0 || dm > requestIndex(in.Requests, "DELETE", routeMember) {
			t.Errorf("DM request at %d, want before the kick at %d", dm, requestIndex(in.Requests, "DELETE", routeMember))
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(target.ID)), "You were kicked from Test Guild", "raiding")
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "Kick", "raiding", target.Mention())
	})

	t.Run("ByAdministrator", func(t *testing.T) {
		target := h.newMember("kickme2")
		h.slash(h.admin, "kick", discordtest.Options{"user": target, "reason": "admin's call"})
		if target.InGuild() {
			t.Error("an administrator's kick did not remove the member")
		}
	})

	t.Run("NotMember", func(t *testing.T) {
		stranger := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"}).Owner()
		wantRefused(t, h.slash(h.mod, "kick", discordtest.Options{"user": stranger, "reason": "x"}), "They are not a member of this server")
	})

	t.Run("BotLacksPermission", func(t *testing.T) {
		h.withoutBotPermission(t, discord.PermissionKickMembers)
		target := h.newMember("safe")
		in := h.slash(h.mod, "kick", discordtest.Options{"user": target, "reason": "x"})
		wantRefused(t, in, "I need the Kick Members permission to kick.")
		if !target.InGuild() || len(h.casesOf(target)) != 0 || len(h.srv.DMs(target.ID)) != 0 {
			t.Error("a refused kick removed, recorded or DMed")
		}
	})

	// Discord can refuse what the checks allowed (here the bot's role moved
	// down without the bot hearing of it). Nothing is recorded, and the DM
	// already sent is taken back.
	t.Run("DiscordRefuses", func(t *testing.T) {
		role := h.guild.BotRole()
		role.SetPosition(1)
		defer role.SetPosition(10)
		target := h.newMember("lucky")
		in := h.slash(h.mod, "kick", discordtest.Options{"user": target, "reason": "x"})
		wantRefused(t, in, "Discord refused: I can't kick them.")
		if !target.InGuild() || len(h.casesOf(target)) != 0 {
			t.Error("a refused kick removed or recorded")
		}
		dms := h.srv.DMs(target.ID)
		if len(dms) != 2 {
			t.Fatalf("DMs got=%d, want the notice and its retraction", len(dms))
		}
		wantText(t, "retraction", dms[1].Content, "disregard", "you were not kicked")
	})

	t.Run("DMsClosed", func(t *testing.T) {
		target := h.newMember("closed")
		target.CloseDMs()
		in := h.slash(h.mod, "kick", discordtest.Options{"user": target, "reason": "x"})
		wantText(t, "reply", in.Content, "Kicked", DMClosed.String())
		if target.InGuild() {
			t.Error("closed DMs stopped the kick")
		}
	})
}
