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

// complete asks for the choices of option focused of command as m, with
// opts as typed so far.
func (h *harness) complete(m *discordtest.Member, command string, opts discordtest.Options, focused string) []discordtest.Choice {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.Autocomplete(ctx, h.guild, m, command, opts, focused)
	if err != nil {
		h.t.Fatalf("autocomplete of /%s %s by %s: %v", command, focused, m.Username, err)
	}
	return in.Choices
}

func choiceNames(cs []discordtest.Choice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// addPreset adds a preset through /config reasons add, as the admin.
func (h *harness) addPreset(name, text string, points int) *discordtest.Interaction {
	h.t.Helper()
	opts := discordtest.Options{"name": name, "text": text}
	if points > 0 {
		opts["points"] = points
	}
	return h.slash(h.admin, "config reasons add", opts)
}

func TestReasonPresets(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()

	t.Run("Refusals", func(t *testing.T) {
		for _, m := range []*discordtest.Member{h.mod, h.member} {
			for cmd, opts := range map[string]discordtest.Options{
				"config reasons add":    {"name": "spam", "text": "Spam"},
				"config reasons remove": {"name": "spam"},
				"config reasons list":   {},
			} {
				wantRefused(t, h.slash(m, cmd, opts), "Only members with the Manage Server permission can use /config.")
			}
		}
		wantRefused(t, h.addPreset(strings.Repeat("n", maxPresetName+1), "x", 0), "The name can be at most 32 characters; yours has 33.")
		wantRefused(t, h.addPreset("two\nlines", "x", 0), "one line")
		wantRefused(t, h.addPreset("zw\u200b", "x", 0), "invisible characters")
		wantRefused(t, h.slash(h.admin, "config reasons remove", discordtest.Options{"name": "nothing"}), "There is no preset reason named nothing")
		if got, _ := h.stores.Presets.List(context.Background(), guild); len(got) != 0 {
			t.Errorf("presets after refusals: %+v, want none", got)
		}
	})

	t.Run("AddListRemove", func(t *testing.T) {
		in := h.addPreset("spam", "Posting spam links @everyone", 3)
		wantText(t, "add", in.Content, "Added the preset reason **spam** (3 points on /warn)")
		in = h.addPreset("Spam", "Posting spam links", 2)
		wantText(t, "replace", in.Content, "Replaced the preset reason **Spam** (2 points on /warn)")
		h.addPreset("flood", "Flooding the chat", 0)
		list := h.slash(h.admin, "config reasons list", nil)
		if len(list.Embeds) != 1 {
			t.Fatalf("list got %d embeds, want 1", len(list.Embeds))
		}
		wantText(t, "list", embedText(list.Embeds[0]), "Preset reasons (2 of 25)", "**flood**: Flooding the chat", "**Spam** (2 points on /warn): Posting spam links")
		var actions []string
		for _, e := range h.audit() {
			if strings.HasPrefix(e.Action, "preset.") {
				actions = append(actions, e.Action)
			}
		}
		if fmt.Sprint(actions) != "[preset.add preset.replace preset.add]" {
			t.Errorf("audit actions got=%v, want add, replace, add", actions)
		}
		// /config reasons remove completes preset names for managers only.
		if got := choiceNames(h.complete(h.admin, "config reasons remove", discordtest.Options{"name": "fl"}, "name")); len(got) != 1 || got[0] != "flood · Flooding the chat" {
			t.Errorf("remove choices got=%q", got)
		}
		if got := h.complete(h.mod, "config reasons remove", discordtest.Options{"name": ""}, "name"); len(got) != 0 {
			t.Errorf("remove choices for a member without Manage Server got=%v, want none", got)
		}
		wantText(t, "remove", h.slash(h.admin, "config reasons remove", discordtest.Options{"name": "FLOOD"}).Content, "Removed the preset reason **flood**")
		h.verify()
	})

	t.Run("Autocomplete", func(t *testing.T) {
		h.addPreset("long", strings.Repeat("a very long reason ", 10), 0)
		defer h.slash(h.admin, "config reasons remove", discordtest.Options{"name": "long"})
		choices := h.complete(h.mod, "warn", discordtest.Options{"user": h.member, "reason": ""}, "reason")
		names := choiceNames(choices)
		if len(names) != 2 || !strings.HasPrefix(names[0], "long · a very long reason") || names[1] != "Spam · Posting spam links" {
			t.Fatalf("choices got=%q, want long and Spam", names)
		}
		if n := utf8.RuneCountInString(names[0]); n != maxChoiceName {
			t.Errorf("long label has %d characters, want it cut to %d", n, maxChoiceName)
		}
		if choices[1].Value != "Spam" {
			t.Errorf("choice value got=%v, want the preset's name", choices[1].Value)
		}
		if got := choiceNames(h.complete(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "LINKS"}, "reason")); len(got) != 1 || got[0] != "Spam · Posting spam links" {
			t.Errorf("choices matching the text got=%q", got)
		}
		// Every reason option offers them.
		for _, tc := range []struct {
			command string
			opts    discordtest.Options
		}{
			{"timeout", discordtest.Options{"user": h.member, "duration": "1h"}},
			{"untimeout", discordtest.Options{"user": h.member}},
			{"kick", discordtest.Options{"user": h.member}},
			{"ban", discordtest.Options{"user": h.member}},
			{"unban", discordtest.Options{"user": h.member.ID.String()}},
			{"unwarn", discordtest.Options{"case": 1}},
			{"clearwarnings", discordtest.Options{"user": h.member}},
			{"case reason", discordtest.Options{"number": 1}},
		} {
			tc.opts["reason"] = "spam"
			if got := choiceNames(h.complete(h.mod, tc.command, tc.opts, "reason")); len(got) != 1 || !strings.HasPrefix(got[0], "Spam") {
				t.Errorf("/%s reason choices got=%q, want Spam", tc.command, got)
			}
			if got := h.complete(h.member, tc.command, tc.opts, "reason"); len(got) != 0 {
				t.Errorf("/%s reason choices for a non-moderator got=%v, want none", tc.command, got)
			}
		}
	})

	t.Run("Expands", func(t *testing.T) {
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": " SPAM "})
		c := h.storedCase(replyCase(t, in.Content))
		if c.Reason != "Posting spam links" || c.Points != 2 {
			t.Errorf("warning got reason=%q points=%d, want the preset's text and points", c.Reason, c.Points)
		}
		in = h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam", "points": 5})
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "Posting spam links" || c.Points != 5 {
			t.Errorf("warning with points got reason=%q points=%d, want the preset's text and 5", c.Reason, c.Points)
		}
		in = h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam links"})
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != "spam links" || c.Points != 1 {
			t.Errorf("a reason that is not a preset's name got reason=%q points=%d, want it as typed", c.Reason, c.Points)
		}
		in = h.slash(h.mod, "note", discordtest.Options{"user": h.member, "text": "spam"})
		note := replyCase(t, in.Content)
		in = h.slash(h.mod, "case reason", discordtest.Options{"number": note, "reason": "Spam"})
		wantText(t, "case reason", in.Content, "Updated the reason")
		if c := h.storedCase(note); c.Reason != "Posting spam links" {
			t.Errorf("case reason got=%q, want the preset's text", c.Reason)
		}
		in = h.slash(h.mod, "timeout", discordtest.Options{"user": h.other, "duration": "1h", "reason": "spam"})
		cs := h.casesOfKind(h.other, storage.CaseTimeout)
		if len(cs) != 1 || cs[0].Reason != "Posting spam links" || cs[0].Points != 0 {
			t.Errorf("timeout cases got=%+v (reply %q), want one with the preset's text and no points", cs, in.Content)
		}
		// A non-moderator typing a preset's name is refused as before.
		wantRefused(t, h.slash(h.member, "warn", discordtest.Options{"user": h.other, "reason": "spam"}), "Only moderators can use /warn")
	})

	t.Run("TooMany", func(t *testing.T) {
		have, _ := h.stores.Presets.List(context.Background(), guild)
		for i := len(have); i < maxPresets; i++ {
			h.addPreset(fmt.Sprintf("p%02d", i), "x", 0)
		}
		wantRefused(t, h.addPreset("one-more", "x", 0), "already has 25 preset reasons")
		wantText(t, "replace at the limit", h.addPreset("p24", "y", 0).Content, "Replaced")
		if got := h.complete(h.mod, "warn", discordtest.Options{"user": h.member, "reason": ""}, "reason"); len(got) != maxChoices {
			t.Errorf("choices with %d presets got %d, want %d", maxPresets, len(got), maxChoices)
		}
	})
}

// TestCaseAutocomplete: /case view and /case reason complete case numbers
// from the recent cases of every kind, for moderators only.
func TestCaseAutocomplete(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	w := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "spam links")
	n := h.seedCase(guild, storage.CaseNote, h.other, h.mod, "watch them")
	revoked := h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "flood")
	if _, err := h.stores.Cases.Revoke(context.Background(), guild, revoked.Number, h.mod.ID.String(), "oops", time.Now()); err != nil {
		t.Fatal(err)
	}
	numbers := func(cs []discordtest.Choice) string {
		var out []int64
		for _, c := range cs {
			out = append(out, int64(c.Value.(float64)))
		}
		return fmt.Sprint(out)
	}
	for _, path := range []struct {
		command string
		opts    discordtest.Options
	}{
		{"case view", discordtest.Options{}},
		{"case reason", discordtest.Options{"reason": "x"}},
	} {
		ask := func(m *discordtest.Member, typed string) []discordtest.Choice {
			opts := discordtest.Options{"number": typed}
			for k, v := range path.opts {
				opts[k] = v
			}
			return h.complete(m, path.command, opts, "number")
		}
		if got, want := numbers(ask(h.mod, "")), fmt.Sprint([]int64{revoked.Number, n.Number, w.Number}); got != want {
			t.Errorf("/%s: choices got=%s, want every recent case newest first %s", path.command, got, want)
		}
		if got, want := numbers(ask(h.mod, "watch")), fmt.Sprint([]int64{n.Number}); got != want {
			t.Errorf("/%s: choices for a reason got=%s, want %s", path.command, got, want)
		}
		if got, want := numbers(ask(h.mod, "member")), fmt.Sprint([]int64{w.Number}); got != want {
			t.Errorf("/%s: choices for a name got=%s, want %s", path.command, got, want)
		}
		if got, want := numbers(ask(h.mod, fmt.Sprintf("#%d", w.Number))), fmt.Sprint([]int64{w.Number}); got != want {
			t.Errorf("/%s: choices for a number got=%s, want %s", path.command, got, want)
		}
		if got := ask(h.member, ""); len(got) != 0 {
			t.Errorf("/%s: choices for a non-moderator got=%v, want none", path.command, got)
		}
		label := ask(h.mod, fmt.Sprint(n.Number))
		if len(label) != 1 || label[0].Name != fmt.Sprintf("#%d · note · other · watch them", n.Number) {
			t.Errorf("/%s: label got=%v", path.command, label)
		}
	}

	t.Run("OlderThanTheScan", func(t *testing.T) {
		for range autocompleteScan {
			h.seedCase(guild, storage.CaseNote, h.other, h.mod, "filler")
		}
		got := h.complete(h.mod, "case view", discordtest.Options{"number": fmt.Sprint(w.Number)}, "number")
		if len(got) == 0 || int64(got[0].Value.(float64)) != w.Number {
			t.Errorf("typing the number of a case older than the last %d got=%s, want it first", autocompleteScan, numbers(got))
		}
		if got := h.complete(h.member, "case view", discordtest.Options{"number": fmt.Sprint(w.Number)}, "number"); len(got) != 0 {
			t.Errorf("a non-moderator typing a number got=%v, want no choices", got)
		}
		// /unwarn offers it only while it counts.
		if got := h.autocomplete(h.mod, fmt.Sprint(w.Number)); len(got) == 0 || int64(got[0].Value.(float64)) != w.Number {
			t.Errorf("/unwarn: typing an old active warning's number got=%s, want it first", numbers(got))
		}
		if got := h.autocomplete(h.mod, fmt.Sprint(revoked.Number)); len(got) != 0 && int64(got[0].Value.(float64)) == revoked.Number {
			t.Errorf("/unwarn offered revoked case #%d", revoked.Number)
		}
	})
}

// TestPresetListFits: the list shows every preset, even 25 with long texts
// full of characters that escaping doubles, within an embed's limits.
func TestPresetListFits(t *testing.T) {
	h := newHarness(t)
	for i := range maxPresets {
		h.addPreset(fmt.Sprintf("preset_%02d_%s", i, strings.Repeat("n", 20)), strings.Repeat("*_", maxReason/2), maxWarnPoints)
	}
	list := h.slash(h.admin, "config reasons list", nil)
	if len(list.Embeds) != 1 {
		t.Fatalf("list got %d embeds, want 1", len(list.Embeds))
	}
	text := embedText(list.Embeds[0])
	for i := range maxPresets {
		wantText(t, "list", text, fmt.Sprintf(`preset\_%02d\_`, i))
	}
	if n := utf8.RuneCountInString(list.Embeds[0].Description); n > embedDescriptionMax {
		t.Errorf("description of %d characters, over %d", n, embedDescriptionMax)
	}
}

func TestHasInvisible(t *testing.T) {
	for s, want := range map[string]bool{
		"spam": false, "two words": false, "İhlal": false,
		"اخطار\u200cها":    false, // ZWNJ inside a Persian word
		"👨\u200d👩\u200d👧":  false, // a family emoji
		"zw\u200b":         true,
		"\u200cspam":       true,
		"spam\u200d":       true,
		"a \u200cb":        true,
		"a\u3164b":         true, // Hangul filler
		"a\u034fb":         true, // combining grapheme joiner
		"soft\u00adhyphen": true,
		"rtl\u200fmark":    true,
		"word\u2060joiner": true,
		"bom\ufeff":        true,
	} {
		if got := hasInvisible(s); got != want {
			t.Errorf("hasInvisible(%q) got=%v, want %v", s, got, want)
		}
	}
}
