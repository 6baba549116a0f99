package bot

import (
	"fmt"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestConfigEscalation(t *testing.T) {
	h := newHarness(t)
	rules := func() []storage.EscalationRule {
		t.Helper()
		s, err := h.stores.Settings.Get(t.Context(), h.guild.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		return s.Escalations
	}

	t.Run("Add", func(t *testing.T) {
		in := h.slash(h.admin, "config escalation add", discordtest.Options{"points": 5, "action": "ban", "duration": "7d"})
		wantText(t, "reply", in.Content, "from below 5 to 5 or more, I will ban them for 7 days automatically")
		h.slash(h.admin, "config escalation add", discordtest.Options{"points": 3, "action": "kick"})
		got := rules()
		want := []storage.EscalationRule{{Points: 3, Action: storage.EscalateKick}, {Points: 5, Action: storage.EscalateBan, Duration: 7 * day}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rules got=%v, want %v", got, want)
		}
		in = h.slash(h.admin, "config escalation add", discordtest.Options{"points": 3, "action": "timeout", "duration": "1h"})
		wantText(t, "reply", in.Content, "It replaces the rule that would kick.")
		if r := rules(); len(r) != 2 || r[0].Action != storage.EscalateTimeout || r[0].Duration != time.Hour {
			t.Errorf("rules got=%v, want the 3-point rule replaced by a 1-hour timeout", r)
		}
	})

	t.Run("List", func(t *testing.T) {
		in := h.slash(h.admin, "config escalation list", nil)
		wantText(t, "list", in.Content, "At 3 points: time out for 1 hour", "At 5 points: ban for 7 days")
		if !in.Ephemeral {
			t.Error("the list is not ephemeral")
		}
	})

	t.Run("Remove", func(t *testing.T) {
		in := h.slash(h.admin, "config escalation remove", discordtest.Options{"points": 5})
		wantText(t, "reply", in.Content, "Removed the rule at 5 points (ban for 7 days).")
		in = h.slash(h.admin, "config escalation remove", discordtest.Options{"points": 5})
		wantText(t, "reply", in.Content, "There is no rule at 5 points; nothing changed.")
		if r := rules(); len(r) != 1 {
			t.Errorf("rules got=%v, want one", r)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts discordtest.Options
			want string
		}{
			{"TimeoutWithoutDuration", discordtest.Options{"points": 2, "action": "timeout"}, "A timeout rule needs a duration"},
			{"TimeoutTooLong", discordtest.Options{"points": 2, "action": "timeout", "duration": "30d"}, "at most 28 days"},
			{"KickWithDuration", discordtest.Options{"points": 2, "action": "kick", "duration": "1d"}, "A kick has no duration"},
			{"ZeroPoints", discordtest.Options{"points": 0, "action": "kick"}, "Points must be 1 to 1000."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantRefused(t, h.slash(h.admin, "config escalation add", tc.opts), tc.want)
			})
		}
		if r := rules(); len(r) != 1 {
			t.Errorf("rules got=%v, want bad input to change nothing", r)
		}
	})

	t.Run("RefusedForModerator", func(t *testing.T) {
		for _, cmd := range []struct {
			name string
			opts discordtest.Options
		}{
			{"config escalation add", discordtest.Options{"points": 9, "action": "kick"}},
			{"config escalation remove", discordtest.Options{"points": 3}},
			{"config escalation list", nil},
		} {
			wantRefused(t, h.slash(h.mod, cmd.name, cmd.opts), "Only members with the Manage Server permission can use /config.")
		}
		if r := rules(); len(r) != 1 {
			t.Errorf("rules got=%v, want a moderator to change nothing", r)
		}
	})
}

func TestEscalation(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()
	botID := h.srv.BotUserID().String()
	for _, r := range []discordtest.Options{
		{"points": 2, "action": "timeout", "duration": "10m"},
		{"points": 4, "action": "kick"},
		{"points": 6, "action": "ban", "duration": "1d"},
	} {
		h.slash(h.admin, "config escalation add", r)
	}
	warn := func(m *discordtest.Member, points int) *discordtest.Interaction {
		t.Helper()
		return h.slash(h.mod, "warn", discordtest.Options{"user": m, "reason": "rule breaking", "points": points})
	}

	t.Run("AtThreshold", func(t *testing.T) {
		m := h.newMember("climber")
		first := warn(m, 1)
		if n := len(h.casesOfKind(m, storage.CaseTimeout)); n != 0 {
			t.Fatalf("timeouts after 1 point got=%d, want 0; reply %q", n, first.Content)
		}
		in := warn(m, 1)
		w := replyCase(t, in.Content)
		wantText(t, "reply", in.Content, "Escalation: they reached the 2-point rule, so I timed them out for 10 minutes automatically: case #")
		if _, ok := m.TimedOutUntil(); !ok {
			t.Error("not timed out at the threshold")
		}
		ts := h.casesOfKind(m, storage.CaseTimeout)
		if len(ts) != 1 {
			t.Fatalf("timeout cases got=%d, want 1", len(ts))
		}
		c := ts[0]
		if c.ModeratorID != botID || c.LinkedCase != w || c.Duration != 10*time.Minute {
			t.Errorf("timeout case got=%+v, want one by the bot linked to warning #%d", c, w)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "Timeout", fmt.Sprintf("Triggered by: case #%d", w))

		// Past the threshold, nothing new is crossed.
		in = warn(m, 1)
		if n := len(h.casesOfKind(m, storage.CaseTimeout)); n != 1 {
			t.Errorf("timeouts after a third point got=%d, want still 1; reply %q", n, in.Content)
		}

		// Revoking drops the points below the rule; the next warning crosses
		// it again.
		for _, c := range h.casesOfKind(m, storage.CaseWarning)[1:] {
			h.slash(h.mod, "unwarn", discordtest.Options{"case": int(c.Number), "reason": "appeal"})
		}
		h.slash(h.mod, "untimeout", discordtest.Options{"user": m, "reason": "appeal"})
		in = warn(m, 1)
		wantText(t, "reply", in.Content, "They now have 2 points active.", "reached the 2-point rule")
		if n := len(h.casesOfKind(m, storage.CaseTimeout)); n != 2 {
			t.Errorf("timeouts after re-crossing got=%d, want 2", n)
		}
	})

	t.Run("HighestRuleOnce", func(t *testing.T) {
		m := h.newMember("jumper")
		in := warn(m, 5)
		wantText(t, "reply", in.Content, "reached the 4-point rule, so I kicked them automatically")
		if m.InGuild() {
			t.Error("still in the guild after crossing the kick rule")
		}
		if k, to := len(h.casesOfKind(m, storage.CaseKick)), len(h.casesOfKind(m, storage.CaseTimeout)); k != 1 || to != 0 {
			t.Errorf("kicks=%d timeouts=%d, want only the highest rule applied once", k, to)
		}
	})

	t.Run("Failed", func(t *testing.T) {
		h.withoutBotPermission(t, discord.PermissionBanMembers)
		m := h.newMember("lucky")
		in := warn(m, 6)
		w := replyCase(t, in.Content)
		wantText(t, "reply", in.Content, "Escalation: the 6-point rule (ban for 1 day) was not applied. I need the Ban Members permission to ban.",
			"The warning is recorded")
		if c := h.storedCase(w); c.Kind != storage.CaseWarning || c.Points != 6 {
			t.Errorf("warning got=%+v, want it kept", c)
		}
		if n := len(h.casesOfKind(m, storage.CaseBan)); n != 0 {
			t.Errorf("ban cases got=%d, want none for a failed ban", n)
		}
		if _, banned := h.guild.Banned(m.ID); banned || !m.InGuild() {
			t.Error("the failed escalation banned or removed them")
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)),
			fmt.Sprintf("Escalation failed · case #%d", w), "I need the Ban Members permission", m.Mention())
	})
}
