package bot

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestWarnModalFieldEdges: the modal's fields as a modified client can
// send them, held to /warn's rules.
func TestWarnModalFieldEdges(t *testing.T) {
	h := newHarness(t)
	submit := func(values map[string]string) *discordtest.Interaction {
		t.Helper()
		return h.forgedSubmit(h.mod, fmt.Sprintf("/warn-user/%s/%s", h.guild.ID, h.other.ID), values)
	}

	t.Run("ControlCharsAndMentions", func(t *testing.T) {
		role := "<@&" + h.modRole.ID.String() + ">"
		in := submit(map[string]string{fieldReason: "\x00a\x07b\u202e @everyone " + role + " " + h.member.Mention()})
		// The harness fails the test if a reply or post pinged anyone.
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "ab @everyone "+role+" "+h.member.Mention() {
			t.Errorf("reason got %q, want the controls and the override removed", c.Reason)
		}
	})

	for _, tc := range []struct {
		name, points, expires string
		want                  string // "": accepted
	}{
		{"PlusSign", "+2", "", ""},
		{"Blank", "   ", "   ", ""},
		{"Negative", "-1", "", "Points must be a whole number from 1 to 100."},
		{"ArabicIndicDigit", "٣", "", "Points must be a whole number from 1 to 100."},
		{"FullwidthDigit", "３", "", "Points must be a whole number from 1 to 100."},
		{"Huge", "99999999999999999999", "", "Points must be a whole number from 1 to 100."},
		{"ExpiresZero", "", "0", "Expires: I can't read that duration."},
		{"ExpiresNegative", "", "-5d", "Expires: The duration must be longer than zero."},
		{"ExpiresHuge", "", "99999999999999d", "Expires: The duration can be at most 10 years."},
		{"ExpiresUnicodeDigit", "", "٣d", "Expires: I can't read that duration."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := submit(map[string]string{fieldReason: "x", fieldPoints: tc.points, fieldExpires: tc.expires})
			if tc.want != "" {
				wantRefused(t, in, tc.want)
				return
			}
			c := h.storedCase(replyCase(t, in.Content))
			if c.Points < minWarnPoints || c.Points > maxWarnPoints || !c.ExpiresAt.IsZero() {
				t.Errorf("stored points=%d expiry=%v, want points in range and the server's default (never)", c.Points, c.ExpiresAt)
			}
		})
	}

	t.Run("CustomIDs", func(t *testing.T) {
		for _, id := range []string{
			fmt.Sprintf("/warn-user/%s/%s/%s", h.guild.ID, h.other.ID, h.other.ID),
			fmt.Sprintf("/warn-user/%s/%s/", h.guild.ID, h.other.ID),
			fmt.Sprintf("/warn-user/%s/-%s", h.guild.ID, h.other.ID),
			fmt.Sprintf("/warn-user/%s/0", h.guild.ID),
			fmt.Sprintf("/warn-msg/%s/%s/1/2/3", h.guild.ID, h.other.ID),
			fmt.Sprintf("/warn-msg/%s/%s/1/0", h.guild.ID, h.other.ID),
		} {
			wantRefused(t, h.forgedSubmit(h.mod, id, map[string]string{fieldReason: "x"}), "This form is damaged or out of date")
		}
	})

	t.Run("Targets", func(t *testing.T) {
		id := func(target fmt.Stringer) string { return fmt.Sprintf("/warn-user/%s/%s", h.guild.ID, target) }
		wantRefused(t, h.forgedSubmit(h.mod, id(h.owner.ID), map[string]string{fieldReason: "x"}), "You can't warn the server owner.")
		wantRefused(t, h.forgedSubmit(h.admin, id(h.srv.BotUserID()), map[string]string{fieldReason: "x"}), "You can't warn the bot.")
		wantRefused(t, h.forgedSubmit(h.mod, id(h.mod.ID), map[string]string{fieldReason: "x"}), "You can't warn yourself.")
		wantRefused(t, h.forgedSubmit(h.mod, id(h.admin.ID), map[string]string{fieldReason: "x"}), "is not below yours")
	})
}

// TestMessageLinkSeal: a case's message link is covered by the records'
// seal, as `bot audit verify` checks it, and /case reason leaves it alone.
func TestMessageLinkSeal(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	msg := h.srv.PostMemberMessage(h.guild.Channels()[0], h.member, "hello")
	warnMsg := func() int64 {
		t.Helper()
		opened, err := h.srv.InvokeMessageCommand(ctx, h.guild, h.mod, menuWarnMessage, msg)
		if err != nil {
			t.Fatal(err)
		}
		return replyCase(t, h.submit(h.mod, opened, map[string]string{fieldReason: "spam"}).Content)
	}
	a, b := warnMsg(), warnMsg()
	link := h.storedCase(a).MessageLink
	wantText(t, "case reason", h.slash(h.mod, "case reason", discordtest.Options{"number": a, "reason": "edited"}).Content, "Updated the reason")
	if c := h.storedCase(a); c.MessageLink != link || c.Reason != "edited" {
		t.Errorf("after /case reason got link=%q reason=%q, want the link %q kept", c.MessageLink, c.Reason, link)
	}
	h.verify()

	exec := func(q string, args ...any) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+h.db.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	caught := func(what string) {
		t.Helper()
		if rep, err := storage.VerifyDatabase(ctx, h.db, h.keys); err == nil {
			t.Errorf("%s: VerifyDatabase passed: %+v", what, rep)
		}
	}
	exec(`CREATE TABLE saved AS SELECT * FROM case_message_links`)
	exec(`UPDATE case_message_links SET link = (SELECT link FROM saved WHERE case_number = ?) WHERE case_number = ?`, b, a)
	caught("a link copied from another case")
	exec(`UPDATE case_message_links SET link = (SELECT link FROM saved WHERE case_number = ?) WHERE case_number = ?`, a, a)
	h.verify()
	exec(`UPDATE case_message_links SET case_number = ? WHERE case_number = ?`, b+100, b)
	caught("a link moved to another case")
	exec(`UPDATE case_message_links SET case_number = ? WHERE case_number = ?`, b, b+100)
	h.verify()
	exec(`DELETE FROM case_message_links WHERE case_number = ?`, a)
	caught("a deleted link")
	exec(`INSERT INTO case_message_links SELECT * FROM saved WHERE case_number = ?`, a)
	h.verify()
	exec(`INSERT INTO case_message_links (guild_id, case_number, link, row_mac) SELECT guild_id, 1000, link, row_mac FROM saved WHERE case_number = ?`, a)
	caught("an added link")
	exec(`DELETE FROM case_message_links WHERE case_number = 1000`)
	exec(`DROP TABLE saved`)
	h.verify()
}
