package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestClearWarnings(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	ctx := context.Background()
	modlog := h.addModlog()
	mod2 := h.guild.AddMember(discordtest.MemberOptions{Username: "mod2", Roles: []*discordtest.Role{h.modRole}})

	active := func(m *discordtest.Member) int {
		n := 0
		for _, c := range h.casesOfKind(m, storage.CaseWarning) {
			if c.Active(time.Now()) {
				n++
			}
		}
		return n
	}
	// press clicks a button by its custom ID, even one no longer shown.
	press := func(m *discordtest.Member, in *discordtest.Interaction, id string) *discordtest.Interaction {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := h.srv.ClickForgedButton(ctx, h.guild, m, *in.Message, id)
		if err != nil {
			t.Fatalf("click %q: %v", id, err)
		}
		return out
	}
	preview := func(m, target *discordtest.Member, reason string) *discordtest.Interaction {
		t.Helper()
		return h.slash(m, "clearwarnings", discordtest.Options{"user": target, "reason": reason})
	}

	t.Run("Refusals", func(t *testing.T) {
		h.seedCase(guild, storage.CaseWarning, h.mod, h.admin, "x")
		h.seedCase(guild, storage.CaseWarning, h.admin, h.owner, "x")
		for _, tc := range []struct {
			name          string
			actor, target *discordtest.Member
			want          string
		}{
			{"NotModerator", h.member, h.other, "Only moderators can use /clearwarnings"},
			{"Self", h.mod, h.mod, "You can't clear the warnings of yourself."},
			{"HigherRole", h.mod, h.admin, "is not below yours"},
			{"SameRole", h.mod, mod2, "is not below yours"},
			{"Owner", h.admin, h.owner, "the server owner"},
			{"Nothing", h.mod, h.other, "has no active warnings: there is nothing to clear"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := preview(tc.actor, tc.target, "x")
				wantRefused(t, in, tc.want)
				if len(in.Components) != 0 {
					t.Errorf("a refusal carries buttons: %+v", in.Components)
				}
			})
		}
		wantRefused(t, preview(h.mod, h.member, " "), "The reason must be 1–512 characters")
		if active(h.mod) != 1 || active(h.admin) != 1 {
			t.Error("a refused /clearwarnings revoked a warning")
		}
	})

	t.Run("CancelAndOtherModerator", func(t *testing.T) {
		w := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "x")
		defer h.stores.Cases.Revoke(ctx, guild, w.Number, h.mod.ID.String(), "test cleanup", time.Now())
		in := preview(h.mod, h.member, "clean slate")
		wantText(t, "preview", in.Content, "Revoke 1 active warning of "+h.member.Mention(), fmt.Sprintf("case #%d", w.Number))
		wantRefused(t, h.click(mod2, in, "Revoke all"), "Only "+h.mod.Mention()+", who asked for this")
		wantRefused(t, h.click(h.admin, in, "Cancel"), "Only "+h.mod.Mention())
		confirm, _ := findButton(in, "Revoke all")
		out := h.click(h.mod, in, "Cancel")
		wantText(t, "cancel", out.Content, "Cancelled: no warning was revoked.")
		if len(out.Components) != 0 {
			t.Error("the buttons stay after a cancel")
		}
		// The cancel spent the confirmation.
		wantRefused(t, press(h.mod, in, confirm.CustomID), "This confirmation has expired")
		if active(h.member) != 1 {
			t.Error("a cancelled /clearwarnings revoked a warning")
		}
	})

	t.Run("ForgedAndStale", func(t *testing.T) {
		w := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "x")
		defer h.stores.Cases.Revoke(ctx, guild, w.Number, h.mod.ID.String(), "test cleanup", time.Now())
		in := preview(h.mod, h.member, "clean slate")
		b, _ := findButton(in, "Revoke all")
		parts := strings.Split(b.CustomID, "/")
		key := parts[len(parts)-2]
		old := confirmButton{route: clearWarningsRoute, invoker: h.mod.ID, target: h.member.ID, issued: time.Now().Add(-time.Hour), key: key, confirm: true}
		unknown := confirmButton{route: clearWarningsRoute, invoker: h.mod.ID, target: h.member.ID, issued: time.Now(), key: "0123456789abcdef", confirm: true}
		retarget := confirmButton{route: clearWarningsRoute, invoker: h.mod.ID, target: h.other.ID, issued: time.Now(), key: key, confirm: true}
		for _, tc := range []struct {
			id   string
			want string
		}{
			{"/clear-warnings/1/2/3", "damaged or out of date"},
			{fmt.Sprintf("/clear-warnings/%s/%s/1/%s/revoke", h.mod.ID, h.member.ID, key), "damaged or out of date"},
			{fmt.Sprintf("/clear-warnings/%s/%s/1/xyz/confirm", h.mod.ID, h.member.ID), "damaged or out of date"},
			{old.customID(), "This confirmation has expired"},
			{unknown.customID(), "This confirmation has expired"},
			// The key names a confirmation of another time: refused, and
			// spent.
			{retarget.customID(), "This confirmation has expired"},
		} {
			wantText(t, "forged "+tc.id, press(h.mod, in, tc.id).Content, tc.want)
		}
		if active(h.member) != 1 {
			t.Error("a forged button revoked a warning")
		}
	})

	t.Run("Confirm", func(t *testing.T) {
		a := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "spam")
		note := h.seedCase(guild, storage.CaseNote, h.member, h.mod, "a note")
		other := h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "someone else's")
		b := h.addCase(storage.NewCase{Kind: storage.CaseWarning, TargetID: h.member.ID.String(), TargetName: h.member.Username,
			Reason: "flood", Points: 3})
		in := preview(h.mod, h.member, "a clean slate @everyone")
		wantText(t, "preview", in.Content, "Revoke 2 active warnings of "+h.member.Mention(), "4 points",
			fmt.Sprintf("cases #%d and #%d", a.Number, b.Number), "a clean slate")
		posts := len(h.srv.Messages(modlog.ID))
		dms := len(h.srv.DMs(h.member.ID))
		auditBefore := len(h.audit())

		confirm, _ := findButton(in, "Revoke all")
		out := h.click(h.mod, in, "Revoke all")
		wantText(t, "report", out.Content, "Revoked 2 warnings of "+h.member.Mention(),
			fmt.Sprintf("cases #%d and #%d", a.Number, b.Number), "no longer count (4 points)", DMSent.String())
		if len(out.Components) != 0 {
			t.Error("the buttons stay after the revocation")
		}
		for _, n := range []int64{a.Number, b.Number} {
			c := h.storedCase(n)
			if c.Revoked == nil || c.Revoked.ByID != h.mod.ID.String() || c.Revoked.Reason != "a clean slate @everyone" {
				t.Errorf("case #%d revocation got=%+v, want by mod with the reason", n, c.Revoked)
			}
		}
		if h.storedCase(note.Number).Revoked != nil || h.storedCase(other.Number).Revoked != nil {
			t.Error("a note or another member's warning was revoked")
		}
		var revokes []string
		for _, e := range h.audit()[auditBefore:] {
			revokes = append(revokes, e.Action+" "+e.Details)
		}
		if want := fmt.Sprint([]string{fmt.Sprintf("case.revoke case %d", a.Number), fmt.Sprintf("case.revoke case %d", b.Number)}); fmt.Sprint(revokes) != want {
			t.Errorf("audit entries got=%q, want %s", revokes, want)
		}
		msgs := h.srv.Messages(modlog.ID)
		if len(msgs) != posts+1 {
			t.Fatalf("modlog posts got=%d, want one summary", len(msgs)-posts)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", msgs), "Warnings cleared", h.mod.Mention(), "2 active warnings",
			fmt.Sprintf("#%d and #%d", a.Number, b.Number), "4 points", "a clean slate")
		if got := h.srv.DMs(h.member.ID); len(got) != dms+1 {
			t.Errorf("DMs to the member got=%d, want 1", len(got)-dms)
		} else {
			wantText(t, "DM", lastEmbed(t, "DM", got), "Your warnings in Test Guild were cleared", "a clean slate", "Warnings revoked: 2", "Cleared by: a moderator")
		}
		h.verify()

		// The button is spent; the member has nothing left to clear.
		wantRefused(t, press(h.mod, in, confirm.CustomID), "This confirmation has expired")
		wantRefused(t, preview(h.mod, h.member, "again"), "nothing to clear")
	})

	// The summary is filed with the member's cases: erasing their records
	// deletes it in Discord too.
	t.Run("ErasedWithTheMember", func(t *testing.T) {
		has := func() bool {
			for _, m := range h.srv.Messages(modlog.ID) {
				if len(m.Embeds) > 0 && m.Embeds[0].Title == "Warnings cleared" && strings.Contains(m.Embeds[0].Description, h.member.Mention()) {
					return true
				}
			}
			return false
		}
		if !has() {
			t.Fatal("no summary about the member in the modlog")
		}
		h.click(h.admin, h.slash(h.admin, "privacy erase", discordtest.Options{"user": h.member}), "Erase")
		if has() {
			t.Error("the summary outlived the member's erasure")
		}
	})

	t.Run("DMsOff", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.DMEnabled = false })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.DMEnabled = true })
		quiet := h.newMember("quiet")
		h.seedCase(guild, storage.CaseWarning, quiet, h.mod, "x")
		out := h.click(h.mod, preview(h.mod, quiet, "ok"), "Revoke all")
		wantText(t, "report", out.Content, "Revoked 1 warning", DMDisabled.String())
		if got := len(h.srv.DMs(quiet.ID)); got != 0 {
			t.Errorf("DMs with DMs off got=%d, want none", got)
		}
	})

	// A moderator who lost the role between the preview and the press is
	// refused at the press.
	t.Run("LostModeratorRole", func(t *testing.T) {
		target := h.newMember("target")
		h.seedCase(guild, storage.CaseWarning, target, h.mod, "x")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		in := preview(h.helper, target, "ok")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		wantRefused(t, h.click(h.helper, in, "Revoke all"), "Only moderators can use /clearwarnings")
		if active(target) != 1 {
			t.Error("a press by a former moderator revoked a warning")
		}
	})
}

// TestCaseList: a long list reads as a short one does, "cases #…".
func TestCaseList(t *testing.T) {
	seq := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "case #1"},
		{2, "cases #1 and #2"},
		{20, "cases #1, #2, #3, #4, #5, #6, #7, #8, #9, #10, #11, #12, #13, #14, #15, #16, #17, #18, #19 and #20"},
		{1000, "cases #1, #2, #3, #4, #5, #6, #7, #8, #9, #10, #11, #12, #13, #14, #15, #16, #17, #18, #19, #20 and 980 more"},
	} {
		if got := caseList(seq(tc.n)); got != tc.want {
			t.Errorf("caseList of %d got=%q, want %q", tc.n, got, tc.want)
		}
	}
}
