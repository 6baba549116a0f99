package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// autocomplete asks for /unwarn's case choices as m, having typed typed.
func (h *harness) autocomplete(m *discordtest.Member, typed string) []discordtest.Choice {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.Autocomplete(ctx, h.guild, m, "unwarn", discordtest.Options{"case": typed}, "case")
	if err != nil {
		h.t.Fatalf("autocomplete by %s: %v", m.Username, err)
	}
	return in.Choices
}

func TestUnwarn(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()

	t.Run("OK", func(t *testing.T) {
		ch := h.addModlog()
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = "" })
		w := h.seedCase(guild, storage.CaseWarning, h.member, h.admin, "spam")
		in := h.slash(h.mod, "unwarn", discordtest.Options{"case": w.Number, "reason": "it was a bot's fault"})
		wantText(t, "reply", in.Content, fmt.Sprintf("Revoked case #%d", w.Number), h.member.Mention(), "no longer counts (1 point)")

		c := h.storedCase(w.Number)
		if c.Revoked == nil || c.Revoked.ByID != h.mod.ID.String() || c.Revoked.Reason != "it was a bot's fault" || c.Revoked.At.IsZero() {
			t.Fatalf("stored revocation got=%+v, want one by mod with the reason", c.Revoked)
		}
		if c.Reason != "spam" || len(h.casesOf(h.member)) == 0 {
			t.Errorf("the revoked case must stay in the history unchanged, got=%+v", c)
		}
		pts, err := h.stores.Cases.ActivePoints(context.Background(), guild, h.member.ID.String(), time.Now())
		if err != nil || pts != 0 {
			t.Errorf("active points got=%d (%v), want 0", pts, err)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(ch.ID)), "Warning revoked", "it was a bot's fault")

		in = h.slash(h.mod, "unwarn", discordtest.Options{"case": w.Number, "reason": "again"})
		wantRefused(t, in, fmt.Sprintf("Case #%d was already revoked", w.Number))
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		w := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "x")
		opts := discordtest.Options{"case": w.Number, "reason": "helper says so"}
		wantRefused(t, h.slash(h.helper, "unwarn", opts), "Only moderators can use /unwarn")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		h.slash(h.helper, "unwarn", opts)
		if c := h.storedCase(w.Number); c.Revoked == nil || c.Revoked.ByID != h.helper.ID.String() {
			t.Errorf("stored revocation got=%+v, want one by the helper", c.Revoked)
		}
	})

	t.Run("TargetLeft", func(t *testing.T) {
		// A user who is not a member has no roles to outrank.
		gone := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "gone"}).Owner()
		w := h.seedCase(guild, storage.CaseWarning, gone, h.mod, "x")
		in := h.slash(h.mod, "unwarn", discordtest.Options{"case": w.Number, "reason": "they left"})
		wantText(t, "reply", in.Content, fmt.Sprintf("Revoked case #%d", w.Number))
		if h.storedCase(w.Number).Revoked == nil {
			t.Error("the warning of a user who left was not revoked")
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		warning := h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "x")
		note := h.seedCase(guild, storage.CaseNote, h.other, h.mod, "x")
		ban := h.seedCase(guild, storage.CaseBan, h.other, h.mod, "x")
		own := h.seedCase(guild, storage.CaseWarning, h.mod, h.admin, "x")
		above := h.seedCase(guild, storage.CaseWarning, h.admin, h.owner, "x")
		other, elsewhere := h.caseElsewhere(above.Number)
		for _, tc := range []struct {
			name   string
			actor  *discordtest.Member
			number int64
			reason string
			want   string
		}{
			{"NotModerator", h.member, warning.Number, "x", "Only moderators can use /unwarn"},
			{"Note", h.mod, note.Number, "x", fmt.Sprintf("Case #%d is a note, not a warning", note.Number)},
			{"Ban", h.mod, ban.Number, "x", "is a ban, not a warning"},
			{"Missing", h.mod, 999, "x", "There is no case #999 in this server."},
			{"OtherGuild", h.mod, elsewhere.Number, "x", fmt.Sprintf("There is no case #%d in this server.", elsewhere.Number)},
			{"Self", h.mod, own.Number, "x", "You can't revoke a warning of yourself."},
			{"HigherRole", h.mod, above.Number, "x", "is not below yours"},
			{"EmptyReason", h.mod, warning.Number, " ", "The reason must be 1–512 characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantRefused(t, h.slash(tc.actor, "unwarn", discordtest.Options{"case": tc.number, "reason": tc.reason}), tc.want)
			})
		}
		for _, c := range []storage.Case{warning, note, ban, own, above} {
			if h.storedCase(c.Number).Revoked != nil {
				t.Errorf("case #%d was revoked by a refused /unwarn", c.Number)
			}
		}
		got, err := h.stores.Cases.Get(context.Background(), other.ID.String(), elsewhere.Number)
		if err != nil || got.Revoked != nil {
			t.Errorf("the other guild's case got=%+v (%v), want it untouched", got.Revoked, err)
		}
	})

	t.Run("Autocomplete", func(t *testing.T) {
		// A guild of its own, so that earlier subtests' cases do not crowd the list.
		h := newHarness(t)
		guild := h.guild.ID.String()
		spam := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "spam links\nin #general")
		flood := h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "flooding")
		h.seedCase(guild, storage.CaseNote, h.member, h.mod, "flooding note")
		revoked := h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "flooding, revoked")
		if _, err := h.stores.Cases.Revoke(context.Background(), guild, revoked.Number, h.mod.ID.String(), "oops", time.Now()); err != nil {
			t.Fatal(err)
		}
		long := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, strings.Repeat("very long reason ", 20))

		choices := h.autocomplete(h.mod, "")
		var names []string
		for _, c := range choices {
			names = append(names, c.Name)
		}
		want := []string{
			fmt.Sprintf("#%d · warning · member · very long reason very", long.Number),
			fmt.Sprintf("#%d · warning · other · flooding", flood.Number),
			fmt.Sprintf("#%d · warning · member · spam links in #general", spam.Number),
		}
		if len(names) != 3 || !strings.HasPrefix(names[0], want[0]) || names[1] != want[1] || names[2] != want[2] {
			t.Fatalf("choices got=%q, want the active warnings newest first: %q", names, want)
		}
		if n := utf8.RuneCountInString(names[0]); n != 100 || !strings.HasSuffix(names[0], "…") {
			t.Errorf("long choice got=%q (%d characters), want it cut to 100 with an ellipsis", names[0], n)
		}
		if v, ok := choices[1].Value.(float64); !ok || int64(v) != flood.Number {
			t.Errorf("choice value got=%v, want the case number %d", choices[1].Value, flood.Number)
		}

		for _, tc := range []struct {
			typed string
			want  []int64
		}{
			{"FLOOD", []int64{flood.Number}},
			{"#" + fmt.Sprint(spam.Number), []int64{spam.Number}},
			{"nothing like it", nil},
		} {
			var got []int64
			for _, c := range h.autocomplete(h.mod, tc.typed) {
				got = append(got, int64(c.Value.(float64)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("typed %q: choices got=%v, want %v", tc.typed, got, tc.want)
			}
		}
		if got := h.autocomplete(h.member, ""); len(got) != 0 {
			t.Errorf("choices for a non-moderator got=%v, want none", got)
		}
	})
}
