package bot

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// menu has m use the user context-menu entry name on target.
func (h *harness) menu(m *discordtest.Member, name string, target *discordtest.Member) *discordtest.Interaction {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.InvokeUserCommand(ctx, h.guild, m, name, target)
	if err != nil {
		h.t.Fatalf("%s by %s: %v", name, m.Username, err)
	}
	return in
}

// submit has m submit the modal the bot opened with values.
func (h *harness) submit(m *discordtest.Member, opened *discordtest.Interaction, values map[string]string) *discordtest.Interaction {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.SubmitModal(ctx, h.guild, m, opened, values)
	if err != nil {
		h.t.Fatalf("submit by %s: %v", m.Username, err)
	}
	return in
}

// forgedSubmit has m submit any custom ID and values, as a modified client can.
func (h *harness) forgedSubmit(m *discordtest.Member, customID string, values map[string]string) *discordtest.Interaction {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.SubmitForgedModal(ctx, h.guild, m, customID, values)
	if err != nil {
		h.t.Fatalf("forged submit by %s: %v", m.Username, err)
	}
	return in
}

// openedModal fails the test unless in is a modal, and returns it.
func openedModal(t *testing.T, in *discordtest.Interaction) discordtest.Modal {
	t.Helper()
	m, err := discordtest.ParseModal(in)
	if err != nil {
		t.Fatalf("got type=%d content=%q, want a modal: %v", in.Type, in.Content, err)
	}
	return m
}

// messageLinks counts the stored message links, through a connection of
// its own.
func (h *harness) messageLinks() int {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+h.db.Path()+"?mode=ro")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM case_message_links`).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestWarnMenu(t *testing.T) {
	h := newHarness(t)
	mod2 := h.guild.AddMember(discordtest.MemberOptions{Username: "mod2", Roles: []*discordtest.Role{h.modRole}})
	elsewhere := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"})
	stranger := elsewhere.Owner()
	modlog := h.addModlog()

	t.Run("Modal", func(t *testing.T) {
		m := openedModal(t, h.menu(h.mod, menuWarn, h.member))
		if m.Title != "Warn member" || m.CustomID != fmt.Sprintf("/warn-user/%s/%s", h.guild.ID, h.member.ID) {
			t.Errorf("modal got %s, want Warn member for the member", m)
		}
		reason, ok := m.Field(fieldReason)
		if !ok || reason.Style != 2 || reason.Required == nil || !*reason.Required || reason.MaxLength == nil || *reason.MaxLength != maxReason {
			t.Errorf("reason field got=%+v, want a required paragraph of at most %d", reason, maxReason)
		}
		for _, f := range []string{fieldPoints, fieldExpires} {
			if in, ok := m.Field(f); !ok || in.Style != 1 || in.Required == nil || *in.Required {
				t.Errorf("%s field got=%+v (%v), want an optional short field", f, in, ok)
			}
		}
	})

	t.Run("OK", func(t *testing.T) {
		opened := h.menu(h.mod, menuWarn, h.member)
		in := h.submit(h.mod, opened, map[string]string{fieldReason: "spamming links", fieldPoints: " 3 ", fieldExpires: "12h"})
		if !in.Ephemeral || in.Type != discord.InteractionResponseTypeDeferredCreateMessage {
			t.Errorf("response type=%v ephemeral=%v, want an ephemeral deferral", in.Type, in.Ephemeral)
		}
		wantText(t, "reply", in.Content, "Warned "+h.member.Mention(), "3 points", "expires <t:", DMSent.String(), "They now have 3 points active.")
		c := h.storedCase(replyCase(t, in.Content))
		if c.Kind != storage.CaseWarning || c.TargetID != h.member.ID.String() || c.ModeratorID != h.mod.ID.String() ||
			c.Reason != "spamming links" || c.Points != 3 || c.MessageLink != "" {
			t.Errorf("stored got=%+v, want a 3-point warning of member by mod, with no message", c)
		}
		if got := c.ExpiresAt.Sub(c.CreatedAt); got != 12*time.Hour {
			t.Errorf("expiry got=%v after creation, want 12h", got)
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.member.ID)), "spamming links", "Points: 3")
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), fmt.Sprintf("Case #%d · Warning", c.Number))
	})

	t.Run("Defaults", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.WarningExpiry = 30 * 24 * time.Hour })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.WarningExpiry = 0 })
		in := h.submit(h.mod, h.menu(h.mod, menuWarn, h.other), map[string]string{fieldReason: "rude"})
		c := h.storedCase(replyCase(t, in.Content))
		if c.Points != 1 || c.ExpiresAt.Sub(c.CreatedAt) != 30*24*time.Hour {
			t.Errorf("stored points=%d expiry=%v, want 1 point and the server's 30 days", c.Points, c.ExpiresAt.Sub(c.CreatedAt))
		}
		in = h.submit(h.mod, h.menu(h.mod, menuWarn, h.other), map[string]string{fieldReason: "rude", fieldExpires: "never"})
		if c := h.storedCase(replyCase(t, in.Content)); !c.ExpiresAt.IsZero() {
			t.Errorf("expires never stored expiry %v, want none", c.ExpiresAt)
		}
	})

	t.Run("OpenRefused", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			actor, target *discordtest.Member
			want          string
		}{
			// Discord would show the entry to anyone, as it does /warn:
			// the server-side check is what refuses.
			{"NotModerator", h.member, h.other, "Only moderators can use /warn"},
			{"Self", h.mod, h.mod, "You can't warn yourself."},
			{"Owner", h.admin, h.owner, "You can't warn the server owner."},
			{"EqualRole", h.mod, mod2, "is not below yours"},
			{"HigherRole", h.mod, h.admin, "is not below yours"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := h.menu(tc.actor, menuWarn, tc.target)
				if in.Type == discord.InteractionResponseTypeModal {
					t.Fatalf("%s opened the modal on %s", tc.actor.Username, tc.target.Username)
				}
				wantRefused(t, in, tc.want)
			})
		}
	})

	t.Run("SubmitRefused", func(t *testing.T) {
		id := func(g, target fmt.Stringer) string { return fmt.Sprintf("/warn-user/%s/%s", g, target) }
		before := len(h.casesOf(h.member)) + len(h.casesOf(h.admin))
		for _, tc := range []struct {
			name     string
			actor    *discordtest.Member
			customID string
			want     string
		}{
			// A moderator who lost the role between opening and
			// submitting, or a forged submit: the same check as /warn.
			{"NotModerator", h.other, id(h.guild.ID, h.member.ID), "Only moderators can use /warn"},
			{"Hierarchy", h.mod, id(h.guild.ID, h.admin.ID), "is not below yours"},
			{"OtherGuild", h.mod, id(elsewhere.ID, h.member.ID), "This form is damaged or out of date"},
			{"NotMember", h.mod, id(h.guild.ID, stranger.ID), "They are not a member of this server."},
			{"CutShort", h.mod, "/warn-user/" + h.guild.ID.String(), "This form is damaged or out of date"},
			{"NotSnowflake", h.mod, "/warn-user/" + h.guild.ID.String() + "/me", "This form is damaged or out of date"},
			{"UnknownRoute", h.mod, "/warn-someone/1/2", "This form is damaged or out of date"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := h.forgedSubmit(tc.actor, tc.customID, map[string]string{fieldReason: "forged"})
				wantRefused(t, in, tc.want)
			})
		}
		if got := len(h.casesOf(h.member)) + len(h.casesOf(h.admin)); got != before {
			t.Errorf("cases got=%d, want %d: a refused submit stored something", got, before)
		}
	})

	t.Run("BadFields", func(t *testing.T) {
		before := len(h.casesOf(h.other))
		for _, tc := range []struct {
			name   string
			values map[string]string
			want   string
		}{
			{"PointsNotANumber", map[string]string{fieldReason: "x", fieldPoints: "abc"}, "Points must be a whole number from 1 to 100."},
			{"ZeroPoints", map[string]string{fieldReason: "x", fieldPoints: "0"}, "Points must be a whole number from 1 to 100."},
			{"TooManyPoints", map[string]string{fieldReason: "x", fieldPoints: "101"}, "Points must be a whole number from 1 to 100."},
			{"BadExpiry", map[string]string{fieldReason: "x", fieldExpires: "soon"}, "Expires: I can't read that duration."},
			{"BlankReason", map[string]string{fieldReason: " \n "}, "The reason must be 1–512 characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := h.submit(h.mod, h.menu(h.mod, menuWarn, h.other), tc.values)
				wantRefused(t, in, tc.want)
				wantText(t, "refusal", in.Content, "Nothing was recorded.")
			})
		}
		// A forged submit is held to /warn's bounds, which the modal
		// leaves to Discord's client.
		in := h.forgedSubmit(h.mod, fmt.Sprintf("/warn-user/%s/%s", h.guild.ID, h.other.ID),
			map[string]string{fieldReason: strings.Repeat("x", maxReason+1)})
		wantRefused(t, in, "yours has 513. Nothing was recorded.")
		if got := len(h.casesOf(h.other)); got != before {
			t.Errorf("cases got=%d, want %d: bad fields stored something", got, before)
		}
	})
}

func TestWarnMessageMenu(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	modlog := h.addModlog()
	ch := h.guild.Channels()[0]
	const secret = "message-canary: buy cheap followers"
	msg := h.srv.PostMemberMessage(ch, h.member, secret)
	link := fmt.Sprintf("https://discord.com/channels/%s/%s/%s", h.guild.ID, ch.ID, msg.ID)

	open := func(m *discordtest.Member, target discordtest.Message) *discordtest.Interaction {
		t.Helper()
		in, err := h.srv.InvokeMessageCommand(ctx, h.guild, m, menuWarnMessage, target)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}

	t.Run("Refused", func(t *testing.T) {
		wantRefused(t, open(h.other, msg), "Only moderators can use /warn")
		wantRefused(t, open(h.mod, h.srv.PostMemberMessage(ch, h.admin, "hi")), "is not below yours")
		if n := h.messageLinks(); n != 0 {
			t.Errorf("links got=%d after refusals, want 0", n)
		}
	})

	var number int64
	t.Run("RecordsTheLink", func(t *testing.T) {
		m := openedModal(t, open(h.mod, msg))
		if m.Title != "Warn member" || !strings.HasPrefix(m.CustomID, "/warn-msg/") {
			t.Errorf("modal got %s, want the message variant for the member", m)
		}
		in := h.submit(h.mod, open(h.mod, msg), map[string]string{fieldReason: "spam in #general", fieldPoints: "2"})
		number = replyCase(t, in.Content)
		c := h.storedCase(number)
		if c.MessageLink != link || c.TargetID != h.member.ID.String() || c.Points != 2 {
			t.Errorf("stored got=%+v, want a 2-point warning of the author linking %s", c, link)
		}
		if strings.Contains(c.Reason, "canary") {
			t.Errorf("the case holds the message's content: %q", c.Reason)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), link)
		view := h.slash(h.mod, "case view", discordtest.Options{"number": number})
		if len(view.Embeds) == 0 {
			t.Fatalf("/case view got %q, want an embed", view.Content)
		}
		wantText(t, "/case view", embedText(view.Embeds[0]), "Message", link)
		h.verifyRecords()
	})

	t.Run("ForgedMessageIDs", func(t *testing.T) {
		// The link is made from the guild the submit comes from; a custom
		// ID naming another guild is refused.
		id := fmt.Sprintf("/warn-msg/%d/%s/%s/%s", h.guild.ID+1, h.member.ID, ch.ID, msg.ID)
		wantRefused(t, h.forgedSubmit(h.mod, id, map[string]string{fieldReason: "x"}), "This form is damaged")
		wantRefused(t, h.forgedSubmit(h.mod, "/warn-msg/"+h.guild.ID.String()+"/"+h.member.ID.String()+"/1",
			map[string]string{fieldReason: "x"}), "This form is damaged")
	})

	t.Run("SealedAtRest", func(t *testing.T) {
		var raw string
		for _, p := range []string{h.db.Path(), h.db.Path() + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			raw += string(b)
		}
		for _, leak := range []string{link, msg.ID.String(), "canary"} {
			if strings.Contains(raw, leak) {
				t.Errorf("the database file holds %q in the clear", leak)
			}
		}
	})

	t.Run("Export", func(t *testing.T) {
		doc, raw := h.exportOf(h.member)
		found := false
		for _, c := range doc.Cases {
			found = found || (c.Number == number && c.MessageLink == link)
		}
		if !found || strings.Contains(raw, "canary") {
			t.Errorf("export got %s, want case #%d with the link and never the message's content", raw, number)
		}
	})

	t.Run("Erasure", func(t *testing.T) {
		if n := h.messageLinks(); n != 1 {
			t.Fatalf("links got=%d before the erasure, want 1", n)
		}
		in := h.slash(h.admin, "privacy erase", discordtest.Options{"user": h.member})
		out := h.click(h.admin, in, "Erase")
		wantText(t, "report", out.Content, "Erased the records of "+h.member.Mention())
		if n := h.messageLinks(); n != 0 {
			t.Errorf("links got=%d after the erasure, want 0", n)
		}
		h.verifyRecords()
	})
}

func TestWarningsMenu(t *testing.T) {
	h := newHarness(t)
	h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "first-canary"})
	in := h.menu(h.helper, menuWarnings, h.member)
	wantRefused(t, in, "Only moderators can use /warnings")
	in = h.menu(h.mod, menuWarnings, h.member)
	if !in.Ephemeral || len(in.Embeds) == 0 {
		t.Fatalf("Warnings got ephemeral=%v embeds=%d, want an ephemeral list", in.Ephemeral, len(in.Embeds))
	}
	want := h.slash(h.mod, "warnings", discordtest.Options{"user": h.member})
	if got, w := embedText(in.Embeds[0]), embedText(want.Embeds[0]); got != w {
		t.Errorf("Warnings got %q, want what /warnings shows: %q", got, w)
	}
	wantText(t, "Warnings", embedText(in.Embeds[0]), "first-canary")
}

// TestWarnMenuPreset: a preset's name typed as the Warn… modal's reason
// stands for its text and points, as it does on /warn.
func TestWarnMenuPreset(t *testing.T) {
	h := newHarness(t)
	h.addPreset("spam", "Posting spam links", 3)

	in := h.submit(h.mod, h.menu(h.mod, menuWarn, h.member), map[string]string{fieldReason: " SPAM "})
	c := h.storedCase(replyCase(t, in.Content))
	if c.Reason != "Posting spam links" || c.Points != 3 {
		t.Errorf("modal warning got reason=%q points=%d, want the preset's text and 3 points as /warn gives", c.Reason, c.Points)
	}
	in = h.submit(h.mod, h.menu(h.mod, menuWarn, h.member), map[string]string{fieldReason: "spam", fieldPoints: "5"})
	if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "Posting spam links" || c.Points != 5 {
		t.Errorf("modal warning with points got reason=%q points=%d, want the preset's text and 5", c.Reason, c.Points)
	}
	in = h.submit(h.mod, h.menu(h.mod, menuWarn, h.member), map[string]string{fieldReason: "spam links"})
	if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "spam links" || c.Points != 1 {
		t.Errorf("a reason that is no preset's name got reason=%q points=%d, want it as typed", c.Reason, c.Points)
	}
	// What /warn gives for the same input.
	in = h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": " SPAM "})
	if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "Posting spam links" || c.Points != 3 {
		t.Errorf("/warn got reason=%q points=%d", c.Reason, c.Points)
	}
}

// TestWarnMenuSlowDiscord: a modal must be Discord's first answer, so the
// menus ask Discord nothing they can do without before opening it, and when
// the router has had to defer anyway, the moderator is told to try again.
func TestWarnMenuSlowDiscord(t *testing.T) {
	h := newHarness(t)
	ch := h.guild.Channels()[0]

	t.Run("AuthorSlow", func(t *testing.T) {
		// Members added after the bot started are not in its cache (the
		// fake sends no member events): the menu fetches them, and does
		// not wait for a slow answer. Without the author's roles the
		// hierarchy waits for the submit, which refuses.
		boss := h.guild.AddMember(discordtest.MemberOptions{Username: "boss", Roles: []*discordtest.Role{h.modRole}})
		h.srv.Delay("GET", routeMember, 2*time.Second)
		defer h.srv.Delay("GET", routeMember, 0)
		in, err := h.srv.InvokeMessageCommand(context.Background(), h.guild, h.mod, menuWarnMessage, h.srv.PostMemberMessage(ch, boss, "hi"))
		if err != nil {
			t.Fatal(err)
		}
		openedModal(t, in)
		wantRefused(t, h.submit(h.mod, in, map[string]string{fieldReason: "x"}), "is not below yours")
		if n := len(h.casesOf(boss)); n != 0 {
			t.Errorf("cases of the boss got=%d, want 0", n)
		}
	})

	t.Run("AuthorFetchFails", func(t *testing.T) {
		// The checks that need the author's roles wait for the submit.
		m := h.newMember("unlucky")
		h.srv.FailNext("GET", routeMember, 403, 1)
		in, err := h.srv.InvokeMessageCommand(context.Background(), h.guild, h.mod, menuWarnMessage, h.srv.PostMemberMessage(ch, m, "hi"))
		if err != nil {
			t.Fatal(err)
		}
		openedModal(t, in)
	})

	t.Run("GuildSlow", func(t *testing.T) {
		h.guild.Outage()
		defer h.guild.Recover()
		h.srv.Delay("GET", "/guilds/{guild_id}", 2*time.Second)
		h.srv.Delay("GET", "/guilds/{guild_id}/roles", 2*time.Second)
		defer h.srv.Delay("GET", "/guilds/{guild_id}", 0)
		defer h.srv.Delay("GET", "/guilds/{guild_id}/roles", 0)
		in := h.menu(h.mod, menuWarn, h.member)
		if in.Type != discord.InteractionResponseTypeModal {
			wantRefused(t, in, "That took me too long, so the form could not open. Nothing was recorded")
		}
	})
}

// TestWarnMenuEscalates: a warning given through the modal escalates as
// /warn's does, with the bot's own permissions and the member's, fetched
// afresh for the submit, checked the same way.
func TestWarnMenuEscalates(t *testing.T) {
	h := newHarness(t)
	h.slash(h.admin, "config escalation add", discordtest.Options{"points": 2, "action": "timeout", "duration": "10m"})
	warn := func(m *discordtest.Member) *discordtest.Interaction {
		t.Helper()
		return h.submit(h.mod, h.menu(h.mod, menuWarn, m), map[string]string{fieldReason: "rule breaking", fieldPoints: "2"})
	}

	t.Run("Applied", func(t *testing.T) {
		m := h.newMember("climber")
		in := warn(m)
		wantText(t, "reply", in.Content, "Escalation: they reached the 2-point rule, so I timed them out for 10 minutes automatically")
		if _, ok := m.TimedOutUntil(); !ok || len(h.casesOfKind(m, storage.CaseTimeout)) != 1 {
			t.Error("not timed out at the threshold")
		}
	})

	t.Run("BotLacksPermission", func(t *testing.T) {
		h.withoutBotPermission(t, discord.PermissionModerateMembers)
		m := h.newMember("lucky")
		in := warn(m)
		wantText(t, "reply", in.Content, "was not applied. I need the Timeout Members permission", "The warning is recorded")
		if _, ok := m.TimedOutUntil(); ok {
			t.Error("timed out without the permission")
		}
	})

	t.Run("AdministratorTarget", func(t *testing.T) {
		// Discord never times out an administrator; the submit carries no
		// resolved member, so the bot must work out the permissions itself.
		adminRole := h.guild.AddRole("Low admins", discord.PermissionAdministrator, 2)
		m := h.guild.AddMember(discordtest.MemberOptions{Username: "lowadmin", Roles: []*discordtest.Role{adminRole}})
		// The bot learns of the new role from the gateway (the fake sends
		// no role events; a fresh GUILD_CREATE carries it).
		h.guild.Recover()
		var opened *discordtest.Interaction
		h.waitUntil("the new role is known", func() bool {
			opened = h.menu(h.mod, menuWarn, m)
			return opened.Type == discord.InteractionResponseTypeModal
		})
		in := h.submit(h.mod, opened, map[string]string{fieldReason: "rule breaking", fieldPoints: "2"})
		replyCase(t, in.Content)
		wantText(t, "reply", in.Content, "was not applied", "someone with the Administrator permission")
		if _, ok := m.TimedOutUntil(); ok {
			t.Error("timed out an administrator")
		}
	})
}
