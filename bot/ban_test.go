package bot

import (
	"strings"
	"testing"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestBan(t *testing.T) {
	h := newHarness(t)

	t.Run("OK", func(t *testing.T) {
		target := h.newMember("banme")
		in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "scam links", "delete_messages": "1d"})
		wantText(t, "reply", in.Content, "Banned "+target.Mention()+" (banme) permanently", DMSent.String())
		if reason, ok := h.guild.Banned(target.ID); !ok || reason != "scam links (by mod)" {
			t.Errorf("banned=%v with audit reason %q, want a ban with the reason", ok, reason)
		}
		if target.InGuild() {
			t.Error("still in the guild after /ban")
		}
		if c := h.storedCase(replyCase(t, in.Content)); c.Kind != storage.CaseBan || c.Duration != 0 || c.Reason != "scam links" {
			t.Errorf("stored got=%+v, want a permanent ban", c)
		}
		put := onlyRequest(t, in.Requests, "PUT", routeBan)
		var body struct {
			DeleteMessageSeconds int `json:"delete_message_seconds"`
		}
		if err := put.Decode(&body); err != nil || body.DeleteMessageSeconds != 86400 {
			t.Errorf("delete_message_seconds got=%d (%v), want a day", body.DeleteMessageSeconds, err)
		}
		if dm := requestIndex(in.Requests, "POST", routeMessages); dm < 0 || dm > requestIndex(in.Requests, "PUT", routeBan) {
			t.Errorf("the DM (request %d) did not precede the ban", dm)
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(target.ID)), "You were banned from Test Guild", "scam links", "Until: Permanent")
	})

	t.Run("Temporary", func(t *testing.T) {
		target := h.newMember("tempban")
		in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "cool off", "duration": "7d"})
		wantText(t, "reply", in.Content, "Banned "+target.Mention()+" (tempban) for 7 days", "I will lift the ban <t:")
		if _, ok := h.guild.Banned(target.ID); !ok {
			t.Error("not banned")
		}
		if c := h.storedCase(replyCase(t, in.Content)); c.Duration != 7*day {
			t.Errorf("stored duration got=%v, want 7 days", c.Duration)
		}
	})

	t.Run("NotMember", func(t *testing.T) {
		stranger := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"}).Owner()
		in := h.slash(h.mod, "ban", discordtest.Options{"user": stranger, "reason": "known raider"})
		wantText(t, "reply", in.Content, "Banned", "No DM was sent: they are not in this server.")
		if _, ok := h.guild.Banned(stranger.ID); !ok {
			t.Error("a user outside the server was not banned")
		}
	})

	t.Run("BotLacksPermission", func(t *testing.T) {
		h.withoutBotPermission(t, discord.PermissionBanMembers)
		target := h.newMember("safe")
		in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "x"})
		wantRefused(t, in, "I need the Ban Members permission to ban.")
		if _, banned := h.guild.Banned(target.ID); banned || len(h.casesOf(target)) != 0 || len(h.srv.DMs(target.ID)) != 0 {
			t.Error("a refused ban took effect, was stored or was DMed")
		}
	})

	t.Run("DiscordDown", func(t *testing.T) {
		target := h.newMember("spared")
		// More failures than the REST client retries a PUT: Discord is down.
		h.srv.FailNext("PUT", routeBan, 503, 10)
		in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "x"})
		wantRefused(t, in, "Discord had a problem (HTTP 503); try again in a minute. Nothing was recorded.")
		if _, banned := h.guild.Banned(target.ID); banned || !target.InGuild() || len(h.casesOf(target)) != 0 {
			t.Error("a failed ban took effect or was stored")
		}
		if dms := h.srv.DMs(target.ID); len(dms) != 2 || !strings.Contains(dms[1].Content, "you were not banned") {
			t.Errorf("DMs got=%d, want the notice and its retraction", len(dms))
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts discordtest.Options
			want string
		}{
			{"Duration", discordtest.Options{"duration": "a while"}, "I can't read that duration."},
			{"DeleteMessages", discordtest.Options{"delete_messages": "2d"}, "Choose how much of their messages to delete"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.opts["user"], tc.opts["reason"] = h.other, "x"
				wantRefused(t, h.slash(h.mod, "ban", tc.opts), tc.want)
			})
		}
		if _, banned := h.guild.Banned(h.other.ID); banned {
			t.Error("bad input banned someone")
		}
	})
}
