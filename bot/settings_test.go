package bot

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// audit returns the guild's audit entries, after checking the chain.
func (h *harness) audit() []storage.AuditEntry {
	h.t.Helper()
	a := storage.NewAudit(h.db, h.keys)
	if _, err := a.Verify(context.Background()); err != nil {
		h.t.Fatalf("audit chain: %v", err)
	}
	entries, err := a.List(context.Background(), 0, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

func (h *harness) settings() storage.GuildSettings {
	h.t.Helper()
	s, err := h.stores.Settings.Get(context.Background(), h.guild.ID.String())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// showText runs /config show as m and returns its fields as "name: value"
// lines.
func (h *harness) showText(m *discordtest.Member) string {
	h.t.Helper()
	e := onlyEmbed(h.t, h.slash(m, "config show", nil))
	var lines []string
	for _, f := range e.Fields {
		lines = append(lines, f.Name+": "+f.Value)
	}
	return strings.Join(lines, "\n")
}

func TestConfigRefused(t *testing.T) {
	h := newHarness(t)
	before := h.settings()
	for _, tc := range []struct {
		command string
		opts    discordtest.Options
	}{
		{"config show", nil},
		{"config modlog", nil},
		{"config modroles", discordtest.Options{"action": "add", "role": h.helperRole}},
		{"config dm", discordtest.Options{"enabled": false}},
		{"config expiry", discordtest.Options{"duration": "7d"}},
		{"config moderator-names", discordtest.Options{"show": true}},
	} {
		for _, m := range []*discordtest.Member{h.mod, h.member} {
			in := h.slash(m, tc.command, tc.opts)
			if !in.Ephemeral || len(in.Embeds) != 0 || in.Content != "Only members with the Manage Server permission can use /config." {
				t.Errorf("/%s by %s: got content=%q embeds=%d, want an ephemeral refusal", tc.command, m.Username, in.Content, len(in.Embeds))
			}
		}
	}
	if got := h.audit(); len(got) != 0 {
		t.Errorf("audit entries got=%d, want none after refusals", len(got))
	}
	if got := h.settings(); !got.UpdatedAt.IsZero() || got.DMEnabled != before.DMEnabled {
		t.Errorf("settings changed after refusals: %+v", got)
	}
}

func TestConfig(t *testing.T) {
	h := newHarness(t)
	modlog := h.guild.AddTextChannel("mod-log")

	if got := h.showText(h.admin); !strings.Contains(got, "Modlog channel: Off") || !strings.Contains(got, "DMs to members: On") ||
		!strings.Contains(got, "expire after: Never") || !strings.Contains(got, "Moderator roles: None") ||
		!strings.Contains(got, "Moderator names: Hidden") || !strings.Contains(got, "Escalation: None") {
		t.Errorf("/config show of a new guild got:\n%s", got)
	}

	// Each step runs in order on one guild; saved reports whether it must
	// append an audit entry, and check looks at the stored settings.
	steps := []struct {
		name    string
		by      *discordtest.Member
		command string
		opts    discordtest.Options
		reply   string
		saved   bool
		check   func(s storage.GuildSettings) bool
	}{
		{"DMOff", h.admin, "config dm", discordtest.Options{"enabled": false}, "DMs are off", true,
			func(s storage.GuildSettings) bool { return !s.DMEnabled }},
		{"DMOffAgain", h.owner, "config dm", discordtest.Options{"enabled": false}, "already off; nothing changed", false,
			func(s storage.GuildSettings) bool { return !s.DMEnabled }},
		{"DMOn", h.owner, "config dm", discordtest.Options{"enabled": true}, "DMs are on", true,
			func(s storage.GuildSettings) bool { return s.DMEnabled }},
		{"Expiry", h.admin, "config expiry", discordtest.Options{"duration": "30d"}, "expire after 30 days", true,
			func(s storage.GuildSettings) bool { return s.WarningExpiry == 30*24*time.Hour }},
		{"ErrExpirySyntax", h.admin, "config expiry", discordtest.Options{"duration": "soon"}, "I can't read that duration", false,
			func(s storage.GuildSettings) bool { return s.WarningExpiry == 30*24*time.Hour }},
		{"ExpiryNever", h.owner, "config expiry", discordtest.Options{"duration": "never"}, "never expire", true,
			func(s storage.GuildSettings) bool { return s.WarningExpiry == 0 }},
		{"ExpiryBack", h.owner, "config expiry", discordtest.Options{"duration": "2w"}, "expire after 14 days", true,
			func(s storage.GuildSettings) bool { return s.WarningExpiry == 14*24*time.Hour }},
		{"ModeratorNames", h.admin, "config moderator-names", discordtest.Options{"show": true}, "Members now see which moderator", true,
			func(s storage.GuildSettings) bool { return s.ShowModeratorNames }},
		{"ModroleAdd", h.admin, "config modroles", discordtest.Options{"action": "add", "role": h.helperRole}, "now count as moderators", true,
			func(s storage.GuildSettings) bool {
				return slices.Equal(s.ModeratorRoleIDs, []string{h.helperRole.ID.String()})
			}},
		{"ModroleAddAgain", h.owner, "config modroles", discordtest.Options{"action": "add", "role": h.helperRole}, "already a moderator role", false,
			func(s storage.GuildSettings) bool { return len(s.ModeratorRoleIDs) == 1 }},
		{"ErrModroleEveryone", h.owner, "config modroles", discordtest.Options{"action": "add", "role": h.guild.Everyone()}, "@everyone can't be a moderator role", false,
			func(s storage.GuildSettings) bool { return len(s.ModeratorRoleIDs) == 1 }},
		{"ModroleAddSecond", h.owner, "config modroles", discordtest.Options{"action": "add", "role": h.memberRole}, "now count as moderators", true,
			func(s storage.GuildSettings) bool { return len(s.ModeratorRoleIDs) == 2 }},
		{"ModroleRemove", h.admin, "config modroles", discordtest.Options{"action": "remove", "role": h.memberRole}, "no longer a moderator role", true,
			func(s storage.GuildSettings) bool {
				return slices.Equal(s.ModeratorRoleIDs, []string{h.helperRole.ID.String()})
			}},
		{"ModroleRemoveAgain", h.admin, "config modroles", discordtest.Options{"action": "remove", "role": h.memberRole}, "is not a moderator role", false,
			func(s storage.GuildSettings) bool { return len(s.ModeratorRoleIDs) == 1 }},
		{"Modlog", h.admin, "config modlog", discordtest.Options{"channel": modlog}, "Cases will be posted in " + modlog.Mention() + ". I posted a test message there.", true,
			func(s storage.GuildSettings) bool { return s.ModlogChannelID == modlog.ID.String() }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := len(h.audit())
			in := h.slash(st.by, st.command, st.opts)
			if !in.Ephemeral || !strings.Contains(in.Content, st.reply) {
				t.Errorf("reply got=%q (ephemeral %v), want it to contain %q", in.Content, in.Ephemeral, st.reply)
			}
			entries := h.audit()
			want := before
			if st.saved {
				want++
			}
			if len(entries) != want {
				t.Fatalf("audit entries got=%d, want %d", len(entries), want)
			}
			if st.saved {
				last := entries[len(entries)-1]
				if last.Action != "settings.update" || last.ActorID != st.by.ID.String() || last.GuildID != h.guild.ID.String() {
					t.Errorf("audit entry got=%+v, want settings.update by %s", last, st.by.Username)
				}
			}
			if s := h.settings(); !st.check(s) {
				t.Errorf("settings got=%+v", s)
			}
		})
	}

	t.Run("ModlogTestPost", func(t *testing.T) {
		msgs := h.srv.Messages(modlog.ID)
		if len(msgs) != 1 || len(msgs[0].Embeds) != 1 || !strings.Contains(msgs[0].Embeds[0].Description, h.admin.Mention()) {
			t.Errorf("modlog messages got=%+v, want one test post naming the admin", msgs)
		}
	})

	t.Run("Show", func(t *testing.T) {
		got := h.showText(h.owner)
		for _, want := range []string{
			"Modlog channel: " + modlog.Mention(),
			"DMs to members: On",
			"expire after: 14 days",
			"Moderator roles: " + h.helperRole.Mention(),
			"Moderator names: Shown",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("/config show got:\n%s\nwant it to contain %q", got, want)
			}
		}
	})

	t.Run("ModlogOff", func(t *testing.T) {
		before := len(h.audit())
		in := h.slash(h.owner, "config modlog", nil)
		if !in.Ephemeral || !strings.Contains(in.Content, "The modlog is off") {
			t.Errorf("reply got=%q, want the modlog off", in.Content)
		}
		if s := h.settings(); s.ModlogChannelID != "" {
			t.Errorf("modlog channel got=%q, want none", s.ModlogChannelID)
		}
		if got := len(h.audit()); got != before+1 {
			t.Errorf("audit entries got=%d, want %d", got, before+1)
		}
		if got := h.showText(h.admin); !strings.Contains(got, "Modlog channel: Off") {
			t.Errorf("/config show got:\n%s\nwant the modlog off", got)
		}
		in = h.slash(h.owner, "config modlog", nil)
		if !strings.Contains(in.Content, "already off") {
			t.Errorf("reply got=%q, want already off", in.Content)
		}
	})

}
