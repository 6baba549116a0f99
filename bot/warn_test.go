package bot

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// The helpers in this file serve the tests of every case command
// (/warn, /note, /unwarn, /case).

// tweakSettings changes the guild's stored settings.
func (h *harness) tweakSettings(change func(s *storage.GuildSettings)) {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.stores.Settings.Get(ctx, h.guild.ID.String())
	if err != nil {
		h.t.Fatal(err)
	}
	change(&s)
	if err := h.stores.Settings.Save(ctx, s, h.owner.ID.String(), time.Now()); err != nil {
		h.t.Fatal(err)
	}
}

// addModlog creates a modlog channel and points the settings at it.
func (h *harness) addModlog() *discordtest.Channel {
	h.t.Helper()
	ch := h.guild.AddTextChannel("modlog")
	h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = ch.ID.String() })
	return ch
}

// casesOf returns every case stored against m in the test guild.
func (h *harness) casesOf(m *discordtest.Member) []storage.Case {
	h.t.Helper()
	cs, err := h.stores.Cases.ListForUser(context.Background(), h.guild.ID.String(), m.ID.String(), true, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return cs
}

// storedCase returns case number of the test guild.
func (h *harness) storedCase(number int64) storage.Case {
	h.t.Helper()
	c, err := h.stores.Cases.Get(context.Background(), h.guild.ID.String(), number)
	if err != nil {
		h.t.Fatalf("case #%d: %v", number, err)
	}
	return c
}

// seedCase stores a case directly, bypassing the bot.
func (h *harness) seedCase(guildID string, kind storage.CaseKind, target, by *discordtest.Member, reason string) storage.Case {
	h.t.Helper()
	points := 0
	if kind == storage.CaseWarning {
		points = 1
	}
	c, err := h.stores.Cases.Create(context.Background(), storage.NewCase{
		GuildID: guildID, Kind: kind, TargetID: target.ID.String(), TargetName: target.Username,
		ModeratorID: by.ID.String(), ModeratorName: by.Username, Reason: reason, Points: points,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// caseElsewhere stores a case in a second guild under a number above
// above, one the test guild has not reached, so that only the guild check
// can keep a command from finding it.
func (h *harness) caseElsewhere(above int64) (*discordtest.Guild, storage.Case) {
	h.t.Helper()
	g := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere"})
	for {
		c := h.seedCase(g.ID.String(), storage.CaseWarning, g.Owner(), g.Owner(), "elsewhere")
		if c.Number > above {
			return g, c
		}
	}
}

var caseRef = regexp.MustCompile(`case #(\d+)`)

// replyCase returns the case number that a reply names.
func replyCase(t *testing.T, content string) int64 {
	t.Helper()
	m := caseRef.FindStringSubmatch(content)
	if m == nil {
		t.Fatalf("reply got=%q, want a case number", content)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// wantText fails the test unless got holds every one of wants.
func wantText(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s got=%q, want it to contain %q", what, got, w)
		}
	}
}

// wantRefused checks an ephemeral refusal that contains want.
func wantRefused(t *testing.T, in *discordtest.Interaction, want string) {
	t.Helper()
	if !in.Ephemeral {
		t.Errorf("refusal %q is not ephemeral", in.Content)
	}
	wantText(t, "refusal", in.Content, want)
}

// embedText is everything an embed shows, for searching.
func embedText(e discord.Embed) string {
	var b strings.Builder
	b.WriteString(e.Title + "\n" + e.Description + "\n")
	for _, f := range e.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if e.Footer != nil {
		b.WriteString(e.Footer.Text)
	}
	return b.String()
}

// lastEmbed returns the text of the first embed of the last message.
func lastEmbed(t *testing.T, what string, msgs []discordtest.Message) string {
	t.Helper()
	if len(msgs) == 0 || len(msgs[len(msgs)-1].Embeds) == 0 {
		t.Fatalf("%s: no message with an embed", what)
	}
	return embedText(msgs[len(msgs)-1].Embeds[0])
}

func TestWarn(t *testing.T) {
	h := newHarness(t)
	stranger := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"}).Owner()
	mod2 := h.guild.AddMember(discordtest.MemberOptions{Username: "mod2", Roles: []*discordtest.Role{h.modRole}})
	bot, _ := h.guild.Bot()

	t.Run("OK", func(t *testing.T) {
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spamming links", "points": 3, "expires": "12h"})
		if !in.Ephemeral || in.Type != discord.InteractionResponseTypeDeferredCreateMessage {
			t.Errorf("response type=%v ephemeral=%v, want an ephemeral deferral", in.Type, in.Ephemeral)
		}
		n := replyCase(t, in.Content)
		wantText(t, "reply", in.Content, h.member.Mention(), "3 points", "expires <t:", DMSent.String(), "They now have 3 points active.")

		c := h.storedCase(n)
		if c.Kind != storage.CaseWarning || c.TargetID != h.member.ID.String() || c.TargetName != "member" ||
			c.ModeratorID != h.mod.ID.String() || c.ModeratorName != "mod" || c.Reason != "spamming links" || c.Points != 3 {
			t.Errorf("stored got=%+v, want a 3-point warning of member by mod", c)
		}
		if got := c.ExpiresAt.Sub(c.CreatedAt); got != 12*time.Hour {
			t.Errorf("expiry got=%v after creation, want 12h", got)
		}
		dm := lastEmbed(t, "DM", h.srv.DMs(h.member.ID))
		wantText(t, "DM", dm, "Test Guild", "spamming links", "#"+strconv.FormatInt(n, 10), "Points: 3", "Warned by: a moderator", "/mywarnings")
	})

	t.Run("ServerDefaultsModlogAndNames", func(t *testing.T) {
		ch := h.addModlog()
		h.tweakSettings(func(s *storage.GuildSettings) {
			s.WarningExpiry = 30 * 24 * time.Hour
			s.ShowModeratorNames = true
		})
		defer h.tweakSettings(func(s *storage.GuildSettings) {
			s.WarningExpiry, s.ShowModeratorNames, s.ModlogChannelID = 0, false, ""
		})
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "rude"})
		c := h.storedCase(replyCase(t, in.Content))
		if c.Points != 1 || c.ExpiresAt.Sub(c.CreatedAt) != 30*24*time.Hour {
			t.Errorf("stored points=%d expiry=%v, want 1 point and the server's 30 days", c.Points, c.ExpiresAt.Sub(c.CreatedAt))
		}
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.other.ID)), "Warned by: mod")
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(ch.ID)),
			fmt.Sprintf("Case #%d · Warning", c.Number), "rude", h.other.Mention(), h.mod.Mention())

		in = h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "rude again", "expires": "never"})
		if c := h.storedCase(replyCase(t, in.Content)); !c.ExpiresAt.IsZero() {
			t.Errorf("expires:never stored expiry %v, want none", c.ExpiresAt)
		}
		wantText(t, "reply", in.Content, "never expires")
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		in := h.slash(h.helper, "warn", discordtest.Options{"user": h.member, "reason": "x"})
		wantRefused(t, in, "Only moderators can use /warn")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		in = h.slash(h.helper, "warn", discordtest.Options{"user": h.member, "reason": "from a helper"})
		if c := h.storedCase(replyCase(t, in.Content)); c.ModeratorID != h.helper.ID.String() {
			t.Errorf("stored moderator got=%s, want the helper", c.ModeratorID)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			actor  *discordtest.Member
			target *discordtest.Member
			want   string
		}{
			{"NotModerator", h.member, h.other, "Only moderators can use /warn"},
			{"Self", h.mod, h.mod, "You can't warn yourself."},
			{"Bot", h.mod, bot, "You can't warn the bot."},
			{"Owner", h.admin, h.owner, "You can't warn the server owner."},
			{"EqualRole", h.mod, mod2, "is not below yours"},
			{"HigherRole", h.mod, h.admin, "is not below yours"},
			// Decided: no warning for a non-member, who could not be told
			// and has nothing to lose; the refusal points to /note.
			{"NotMember", h.mod, stranger, "They are not a member of this server. To keep a record anyway, use /note."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(h.casesOf(tc.target))
				in := h.slash(tc.actor, "warn", discordtest.Options{"user": tc.target, "reason": "no"})
				wantRefused(t, in, tc.want)
				if got := len(h.casesOf(tc.target)); got != before {
					t.Errorf("cases of %s got=%d, want %d: a refusal stored something", tc.target.Username, got, before)
				}
			})
		}
		// The owner may warn anyone else, even above every role.
		in := h.slash(h.owner, "warn", discordtest.Options{"user": h.admin, "reason": "owner's call"})
		replyCase(t, in.Content)
	})

	t.Run("BadInput", func(t *testing.T) {
		before := len(h.casesOf(h.other))
		for _, tc := range []struct {
			name string
			opts discordtest.Options
			want string
		}{
			{"EmptyReason", discordtest.Options{"reason": " \n "}, "The reason must be 1–512 characters; yours is empty."},
			{"LongReason", discordtest.Options{"reason": strings.Repeat("é", 513)}, "yours has 513"},
			{"BadExpiry", discordtest.Options{"reason": "x", "expires": "soon"}, "I can't read that duration."},
			{"ZeroPoints", discordtest.Options{"reason": "x", "points": 0}, "Points must be 1 to 100."},
			{"TooManyPoints", discordtest.Options{"reason": "x", "points": 101}, "Points must be 1 to 100."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.opts["user"] = h.other
				wantRefused(t, h.slash(h.mod, "warn", tc.opts), tc.want)
			})
		}
		if got := len(h.casesOf(h.other)); got != before {
			t.Errorf("cases got=%d, want %d: bad input stored something", got, before)
		}
	})

	t.Run("MentionsPingNobody", func(t *testing.T) {
		ch := h.addModlog()
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = "" })
		reason := "@everyone " + h.admin.Mention() + " look"
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": reason})
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != reason {
			t.Errorf("stored reason got=%q, want %q", c.Reason, reason)
		}
		// Embeds escape markdown, so the closing ">" is escaped.
		shown := escapeMarkdown(reason)
		wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.member.ID)), shown)
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(ch.ID)), shown)
		if p := h.srv.Pings(); len(p) != 0 {
			t.Errorf("pings got=%+v, want none", p)
		}
	})

	t.Run("DMClosed", func(t *testing.T) {
		h.other.CloseDMs()
		defer h.other.OpenDMs()
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "closed DMs"})
		wantText(t, "reply", in.Content, DMClosed.String())
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "closed DMs" {
			t.Errorf("stored reason got=%q, want the case kept", c.Reason)
		}
	})

	t.Run("DMsOff", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.DMEnabled = false })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.DMEnabled = true })
		before := len(h.srv.DMs(h.other.ID))
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "quietly"})
		wantText(t, "reply", in.Content, DMDisabled.String())
		if got := len(h.srv.DMs(h.other.ID)); got != before {
			t.Errorf("DMs got=%d, want %d with DMs off", got, before)
		}
	})

	t.Run("ModlogDeleted", func(t *testing.T) {
		h.addModlog().Delete()
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = "" })
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "no modlog"})
		wantText(t, "reply", in.Content, "The modlog channel no longer exists")
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "no modlog" {
			t.Errorf("stored reason got=%q, want the case kept", c.Reason)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		const n = 10
		numbers := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				in, err := h.srv.InvokeSlash(ctx, h.guild, h.mod, "warn", discordtest.Options{"user": h.other, "reason": fmt.Sprintf("burst %d", i)})
				if err != nil {
					errs[i] = err
					return
				}
				m := caseRef.FindStringSubmatch(in.Content)
				if m == nil {
					errs[i] = fmt.Errorf("reply %q names no case", in.Content)
					return
				}
				numbers[i], _ = strconv.ParseInt(m[1], 10, 64)
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[int64]bool{}
		lo, hi := numbers[0], numbers[0]
		for _, x := range numbers {
			seen[x] = true
			lo, hi = min(lo, x), max(hi, x)
		}
		if len(seen) != n || hi-lo != n-1 {
			t.Errorf("case numbers got=%v, want %d distinct consecutive numbers", numbers, n)
		}
	})
}
