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

func TestCase(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	warning := h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "first reason")

	t.Run("View", func(t *testing.T) {
		in := h.slash(h.mod, "case view", discordtest.Options{"number": warning.Number})
		if !in.Ephemeral || len(in.Embeds) != 1 {
			t.Fatalf("reply ephemeral=%v embeds=%d, want one ephemeral embed", in.Ephemeral, len(in.Embeds))
		}
		wantText(t, "case embed", embedText(in.Embeds[0]),
			fmt.Sprintf("Case #%d · Warning", warning.Number), "first reason", h.member.Mention(), h.mod.Mention(), "Points: 1")
	})

	t.Run("ReasonKeepsHistory", func(t *testing.T) {
		ch := h.addModlog()
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModlogChannelID = "" })
		in := h.slash(h.mod, "case reason", discordtest.Options{"number": warning.Number, "reason": "second reason"})
		wantText(t, "reply", in.Content, fmt.Sprintf("Updated the reason of case #%d", warning.Number))
		h.slash(h.admin, "case reason", discordtest.Options{"number": warning.Number, "reason": "third <@" + h.owner.ID.String() + ">"})
		if c := h.storedCase(warning.Number); c.Reason != "third <@"+h.owner.ID.String()+">" {
			t.Errorf("stored reason got=%q, want the latest", c.Reason)
		}
		hist, err := h.stores.Cases.History(context.Background(), guild, warning.Number)
		if err != nil || len(hist) != 2 || hist[0].OldReason != "first reason" || hist[1].OldReason != "second reason" ||
			hist[0].ChangedByID != h.mod.ID.String() || hist[1].ChangedByID != h.admin.ID.String() {
			t.Fatalf("history got=%+v (%v), want the two earlier reasons with their editors", hist, err)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(ch.ID)), "reason edited", "third")

		in = h.slash(h.mod, "case view", discordtest.Options{"number": warning.Number})
		if len(in.Embeds) != 2 {
			t.Fatalf("embeds got=%d, want the case and its history", len(in.Embeds))
		}
		wantText(t, "case embed", embedText(in.Embeds[0]), "third")
		history := embedText(in.Embeds[1])
		wantText(t, "history", history, "Earlier reasons", "first reason", "second reason", h.mod.Mention(), h.admin.Mention())
		if strings.Index(history, "first reason") > strings.Index(history, "second reason") {
			t.Errorf("history got=%q, want oldest first", history)
		}
	})

	t.Run("NoteText", func(t *testing.T) {
		note := h.seedCase(guild, storage.CaseNote, h.member, h.mod, "short")
		long := strings.Repeat("n", 800)
		h.slash(h.mod, "case reason", discordtest.Options{"number": note.Number, "reason": long})
		if c := h.storedCase(note.Number); c.Reason != long {
			t.Errorf("a note's text may be up to 1000 characters; stored %d", len(c.Reason))
		}
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		view := discordtest.Options{"number": warning.Number}
		edit := discordtest.Options{"number": warning.Number, "reason": "helper's reason"}
		wantRefused(t, h.slash(h.helper, "case view", view), "Only moderators can use /case")
		wantRefused(t, h.slash(h.helper, "case reason", edit), "Only moderators can use /case")
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		wantText(t, "view", embedText(h.slash(h.helper, "case view", view).Embeds[0]), fmt.Sprintf("Case #%d", warning.Number))
		h.slash(h.helper, "case reason", edit)
		if c := h.storedCase(warning.Number); c.Reason != "helper's reason" {
			t.Errorf("stored reason got=%q, want the helper's", c.Reason)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		own := h.seedCase(guild, storage.CaseWarning, h.mod, h.admin, "about mod")
		_, elsewhere := h.caseElsewhere(own.Number)
		before := h.storedCase(warning.Number).Reason
		for _, tc := range []struct {
			name    string
			actor   *discordtest.Member
			command string
			opts    discordtest.Options
			want    string
		}{
			{"NotModeratorView", h.member, "case view", discordtest.Options{"number": warning.Number}, "Only moderators can use /case"},
			{"NotModeratorReason", h.member, "case reason", discordtest.Options{"number": warning.Number, "reason": "x"}, "Only moderators can use /case"},
			{"MissingView", h.mod, "case view", discordtest.Options{"number": 999}, "There is no case #999 in this server."},
			{"MissingReason", h.mod, "case reason", discordtest.Options{"number": 999, "reason": "x"}, "There is no case #999 in this server."},
			{"OtherGuild", h.mod, "case view", discordtest.Options{"number": elsewhere.Number},
				fmt.Sprintf("There is no case #%d in this server.", elsewhere.Number)},
			{"EmptyReason", h.mod, "case reason", discordtest.Options{"number": warning.Number, "reason": "\t"}, "yours is empty"},
			{"LongReason", h.mod, "case reason", discordtest.Options{"number": warning.Number, "reason": strings.Repeat("r", 513)},
				"The reason must be 1–512 characters; yours has 513."},
			{"OwnCase", h.mod, "case reason", discordtest.Options{"number": own.Number, "reason": "x"}, "You can't edit a case about yourself."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantRefused(t, h.slash(tc.actor, tc.command, tc.opts), tc.want)
			})
		}
		if got := h.storedCase(warning.Number).Reason; got != before {
			t.Errorf("reason got=%q, want %q: a refused edit changed it", got, before)
		}
		if got := h.storedCase(own.Number).Reason; got != "about mod" {
			t.Errorf("reason got=%q, want it unchanged", got)
		}
	})
}

// TestHistoryEmbedFits: a long edit history keeps the newest reasons and
// says how many older ones it left out, within the space it was given.
func TestHistoryEmbedFits(t *testing.T) {
	var hist []storage.ReasonChange
	for i := int64(1); i <= 20; i++ {
		hist = append(hist, storage.ReasonChange{Revision: i, OldReason: fmt.Sprintf("r%02d ", i) + strings.Repeat("*", 500),
			ChangedByID: "123456789012345678", ChangedAt: time.Unix(1_700_000_000, 0)})
	}
	e := historyEmbed(hist, 3000)
	if n := embedSize(e); n > 3000 {
		t.Errorf("size got=%d, want at most 3000", n)
	}
	if !strings.Contains(e.Description, "r20") || strings.Contains(e.Description, "r01") {
		t.Errorf("description got=%q, want the newest reasons only", e.Description)
	}
	lines := strings.Split(e.Description, "\n")
	var older int
	if _, err := fmt.Sscanf(lines[0], "… and %d older", &older); err != nil || older+len(lines)-1 != len(hist) {
		t.Errorf("description got=%q, want it to start by counting the %d reasons it left out", e.Description, len(hist)-len(lines)+1)
	}
}
