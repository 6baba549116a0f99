package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// addCase stores a case in the harness's guild, by h.mod unless n says
// otherwise, as /warn and /note would.
func (h *harness) addCase(n storage.NewCase) storage.Case {
	h.t.Helper()
	n.GuildID = h.guild.ID.String()
	if n.Kind == "" {
		n.Kind = storage.CaseWarning
	}
	if n.ModeratorID == "" {
		n.ModeratorID, n.ModeratorName = h.mod.ID.String(), h.mod.Username
	}
	c, err := h.stores.Cases.Create(context.Background(), n)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// click has m click the button labelled label on the message of in.
func (h *harness) click(m *discordtest.Member, in *discordtest.Interaction, label string) *discordtest.Interaction {
	h.t.Helper()
	if in.Message == nil {
		h.t.Fatal("the interaction has no message to click on")
	}
	b, ok := findButton(in, label)
	if !ok {
		h.t.Fatalf("no button %q on the message; components: %+v", label, in.Components)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.srv.ClickButton(ctx, h.guild, m, *in.Message, b.CustomID)
	if err != nil {
		h.t.Fatalf("click %q as %s: %v", label, m.Username, err)
	}
	return out
}

func findButton(in *discordtest.Interaction, label string) (discord.ButtonComponent, bool) {
	for _, row := range in.Components {
		for _, c := range row.Components() {
			if b, ok := c.(discord.ButtonComponent); ok && b.Label == label {
				return b, true
			}
		}
	}
	return discord.ButtonComponent{}, false
}

// onlyEmbed returns the single embed of an ephemeral answer.
func onlyEmbed(t *testing.T, in *discordtest.Interaction) discord.Embed {
	t.Helper()
	if !in.Ephemeral {
		t.Errorf("the answer is not ephemeral")
	}
	if len(in.Embeds) != 1 {
		t.Fatalf("embeds got=%d, want 1 (content %q)", len(in.Embeds), in.Content)
	}
	return in.Embeds[0]
}

// fieldNames lists the names of an embed's fields, for messages.
func fieldNames(e discord.Embed) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Name)
	}
	return out
}

func footer(e discord.Embed) string {
	if e.Footer == nil {
		return ""
	}
	return e.Footer.Text
}

func TestWarnings(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	target := h.member.ID.String()
	active := h.addCase(storage.NewCase{TargetID: target, TargetName: "member", Points: 2, Reason: "spam @everyone *twice*"})
	revoked := h.addCase(storage.NewCase{TargetID: target, TargetName: "member", Points: 3, Reason: "misread"})
	if _, err := h.stores.Cases.Revoke(context.Background(), h.guild.ID.String(), revoked.Number, h.admin.ID.String(), "my mistake", now); err != nil {
		t.Fatal(err)
	}
	expired := h.addCase(storage.NewCase{TargetID: target, TargetName: "member", Points: 1, Reason: "old",
		CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	note := h.addCase(storage.NewCase{TargetID: target, TargetName: "member", Kind: storage.CaseNote, Reason: "keep an eye on them"})
	timeout := h.addCase(storage.NewCase{TargetID: target, TargetName: "member", Kind: storage.CaseTimeout, Reason: "flooding", Duration: time.Hour})

	t.Run("OK", func(t *testing.T) {
		e := onlyEmbed(t, h.slash(h.mod, "warnings", discordtest.Options{"user": h.member}))
		if len(e.Fields) != 1 || !strings.HasPrefix(e.Fields[0].Name, fmt.Sprintf("#%d · Warning · 2 points", active.Number)) {
			t.Fatalf("fields got=%q, want only the active warning #%d", fieldNames(e), active.Number)
		}
		if !strings.Contains(e.Description, h.member.Mention()) || !strings.Contains(e.Description, "Active points: **2**") {
			t.Errorf("description got=%q, want the member and 2 active points", e.Description)
		}
		v := e.Fields[0].Value
		for _, want := range []string{`spam @everyone \*twice\*`, h.mod.Mention(), "<t:"} {
			if !strings.Contains(v, want) {
				t.Errorf("field got=%q, want it to contain %q", v, want)
			}
		}
	})

	t.Run("All", func(t *testing.T) {
		in := h.slash(h.mod, "warnings", discordtest.Options{"user": h.member, "all": true})
		e := onlyEmbed(t, in)
		names := fieldNames(e)
		if len(names) != 5 {
			t.Fatalf("fields got=%q, want all 5 cases", names)
		}
		// Newest first.
		want := []string{
			fmt.Sprintf("#%d · Timeout", timeout.Number),
			fmt.Sprintf("#%d · Note", note.Number),
			fmt.Sprintf("#%d · Warning · 1 point · expired", expired.Number),
			fmt.Sprintf("#%d · Warning · 3 points · revoked", revoked.Number),
			fmt.Sprintf("#%d · Warning · 2 points", active.Number),
		}
		for i, w := range want {
			if names[i] != w {
				t.Errorf("field %d got=%q, want %q", i, names[i], w)
			}
		}
		if v := e.Fields[3].Value; !strings.Contains(v, "Revoked on") || !strings.Contains(v, "my mistake") || !strings.Contains(v, h.admin.Mention()) {
			t.Errorf("revoked field got=%q, want who revoked it and why", v)
		}
		if v := e.Fields[0].Value; !strings.Contains(v, "for 1 hour") {
			t.Errorf("timeout field got=%q, want its duration", v)
		}
		if !strings.Contains(e.Description, "Active points: **2**") {
			t.Errorf("description got=%q, want 2 active points", e.Description)
		}
		if len(in.Components) != 0 {
			t.Errorf("components got=%d rows, want none for one page", len(in.Components))
		}
	})

	t.Run("ErrNotModerator", func(t *testing.T) {
		in := h.slash(h.other, "warnings", discordtest.Options{"user": h.member})
		if !in.Ephemeral || len(in.Embeds) != 0 || !strings.Contains(in.Content, "Only moderators can use /warnings") {
			t.Errorf("got content=%q embeds=%d ephemeral=%v, want an ephemeral refusal", in.Content, len(in.Embeds), in.Ephemeral)
		}
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		in := h.slash(h.helper, "warnings", discordtest.Options{"user": h.member})
		if len(in.Embeds) != 0 {
			t.Fatalf("a helper without the moderator role got the list")
		}
		s := storage.DefaultGuildSettings(h.guild.ID.String())
		s.ModeratorRoleIDs = []string{h.helperRole.ID.String()}
		if err := h.stores.Settings.Save(context.Background(), s, h.owner.ID.String(), time.Now()); err != nil {
			t.Fatal(err)
		}
		e := onlyEmbed(t, h.slash(h.helper, "warnings", discordtest.Options{"user": h.member}))
		if len(e.Fields) != 1 {
			t.Errorf("fields got=%q, want the active warning", fieldNames(e))
		}
	})

	t.Run("Empty", func(t *testing.T) {
		e := onlyEmbed(t, h.slash(h.mod, "warnings", discordtest.Options{"user": h.admin}))
		if len(e.Fields) != 0 || !strings.Contains(e.Description, "No active warnings.") {
			t.Errorf("got description=%q fields=%q, want none", e.Description, fieldNames(e))
		}
	})
}

func TestWarningsPages(t *testing.T) {
	h := newHarness(t)
	var numbers []int64
	for i := range 12 {
		c := h.addCase(storage.NewCase{TargetID: h.other.ID.String(), TargetName: "other", Points: 1,
			Reason: fmt.Sprintf("warning %d: %s", i+1, strings.Repeat("long reason ", 100))})
		numbers = append(numbers, c.Number)
	}
	first := h.slash(h.mod, "warnings", discordtest.Options{"user": h.other})
	e := onlyEmbed(t, first)
	if got := footer(e); got != "Page 1 of 3 · 12 active warnings" {
		t.Errorf("footer got=%q, want page 1 of 3", got)
	}
	if len(e.Fields) != warningsPerPage || !strings.HasPrefix(e.Fields[0].Name, fmt.Sprintf("#%d ", numbers[11])) {
		t.Errorf("fields got=%q, want the 5 newest", fieldNames(e))
	}
	if !strings.Contains(e.Description, "Active points: **12**") {
		t.Errorf("description got=%q, want 12 active points", e.Description)
	}
	if v := e.Fields[0].Value; !strings.Contains(v, "…") || len([]rune(v)) > 1024 {
		t.Errorf("a long reason is not cut short: %d characters", len([]rune(v)))
	}
	if prev, ok := findButton(first, "◀"); !ok || !prev.Disabled {
		t.Errorf("◀ on page 1 got=%+v, want disabled", prev)
	}

	t.Run("ErrNotInvoker", func(t *testing.T) {
		in := h.click(h.admin, first, "▶")
		if in.Type != discord.InteractionResponseTypeCreateMessage || !in.Ephemeral {
			t.Errorf("response got type=%v ephemeral=%v, want a new ephemeral message", in.Type, in.Ephemeral)
		}
		if want := "Only " + h.mod.Mention() + " can turn these pages."; in.Content != want {
			t.Errorf("content got=%q, want %q", in.Content, want)
		}
		for _, r := range in.Requests {
			if r.Method == "PATCH" {
				t.Errorf("a refused click edited a message: %s %s", r.Method, r.Path)
			}
		}
	})

	t.Run("OK", func(t *testing.T) {
		// The refused click left page 1 in place: its ▶ is still there.
		second := h.click(h.mod, first, "▶")
		if second.Type != discord.InteractionResponseTypeUpdateMessage {
			t.Fatalf("response type got=%v, want an update (7)", second.Type)
		}
		if second.Message == nil || second.Message.ID != first.Message.ID {
			t.Errorf("the click did not update the same message")
		}
		e := onlyEmbed(t, second)
		if got := footer(e); got != "Page 2 of 3 · 12 active warnings" {
			t.Errorf("footer got=%q, want page 2 of 3", got)
		}
		if len(e.Fields) != warningsPerPage || !strings.HasPrefix(e.Fields[0].Name, fmt.Sprintf("#%d ", numbers[6])) {
			t.Errorf("fields got=%q, want warnings 7 down to 3", fieldNames(e))
		}
		third := h.click(h.mod, second, "▶")
		e = onlyEmbed(t, third)
		if got := footer(e); got != "Page 3 of 3 · 12 active warnings" || len(e.Fields) != 2 {
			t.Errorf("footer got=%q with %d fields, want page 3 with 2", got, len(e.Fields))
		}
		if next, ok := findButton(third, "▶"); !ok || !next.Disabled {
			t.Errorf("▶ on the last page got=%+v, want disabled", next)
		}
		back := h.click(h.mod, third, "◀")
		if got := footer(onlyEmbed(t, back)); got != "Page 2 of 3 · 12 active warnings" {
			t.Errorf("footer got=%q, want page 2 again", got)
		}
	})
}

// TestForgedPageButtonE2E: a page button whose custom ID was cut short or
// padded (a client may send any custom ID) is refused, and the
// bot keeps serving. A router that indexed the ID's segments by the route's
// pattern would panic here and end the process.
func TestForgedPageButtonE2E(t *testing.T) {
	h := newHarness(t)
	h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam"})
	list := h.slash(h.mod, "warnings", discordtest.Options{"user": h.member})
	if list.Message == nil {
		t.Fatal("/warnings sent no message to put a button on")
	}
	for _, id := range []string{"/warnings-page", "/warnings-page/1", "/warnings-page/1/2/3", "/warnings-page/1/2/3/1/9", "/nope/1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := h.srv.ClickForgedButton(ctx, h.guild, h.mod, *list.Message, id)
		cancel()
		if err != nil {
			t.Fatalf("click %q: %v", id, err)
		}
		if !strings.Contains(out.Content, "damaged or out of date") {
			t.Errorf("click %q got=%q, want a refusal", id, out.Content)
		}
	}
	pingOK(t, h)
}
