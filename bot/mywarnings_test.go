package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

func TestMyWarnings(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	me := h.member.ID.String()
	first := h.addCase(storage.NewCase{TargetID: me, TargetName: "member", Points: 1, Reason: "first @here"})
	revoked := h.addCase(storage.NewCase{TargetID: me, TargetName: "member", Points: 5, Reason: "revoked one"})
	if _, err := h.stores.Cases.Revoke(context.Background(), h.guild.ID.String(), revoked.Number, h.mod.ID.String(), "", now); err != nil {
		t.Fatal(err)
	}
	h.addCase(storage.NewCase{TargetID: me, TargetName: "member", Kind: storage.CaseNote, Reason: "secret note"})
	h.addCase(storage.NewCase{TargetID: me, TargetName: "member", Points: 1, Reason: "long gone",
		CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	second := h.addCase(storage.NewCase{TargetID: me, TargetName: "member", Points: 2, Reason: "second",
		ExpiresAt: now.Add(30 * 24 * time.Hour)})
	// Someone else's warning must not show.
	h.addCase(storage.NewCase{TargetID: h.other.ID.String(), TargetName: "other", Points: 1, Reason: "not yours"})

	text := func(t *testing.T) string {
		t.Helper()
		e := onlyEmbed(t, h.slash(h.member, "mywarnings", nil))
		if len(e.Fields) != 2 {
			t.Fatalf("fields got=%q, want the 2 active warnings", fieldNames(e))
		}
		if want := fmt.Sprintf("#%d · Warning · 2 points", second.Number); e.Fields[0].Name != want {
			t.Errorf("first field got=%q, want the newest, %q", e.Fields[0].Name, want)
		}
		if want := fmt.Sprintf("#%d · Warning · 1 point", first.Number); e.Fields[1].Name != want {
			t.Errorf("second field got=%q, want %q", e.Fields[1].Name, want)
		}
		if !strings.Contains(e.Description, "2 active warnings") || !strings.Contains(e.Description, "3 points") {
			t.Errorf("description got=%q, want 2 warnings worth 3 points", e.Description)
		}
		all := e.Description
		for _, f := range e.Fields {
			all += "\n" + f.Name + "\n" + f.Value
		}
		for _, hidden := range []string{"secret note", "revoked one", "long gone", "not yours"} {
			if strings.Contains(all, hidden) {
				t.Errorf("the list shows %q:\n%s", hidden, all)
			}
		}
		if !strings.Contains(e.Fields[0].Value, "expires <t:") {
			t.Errorf("field got=%q, want its expiry", e.Fields[0].Value)
		}
		return all
	}

	t.Run("ModeratorHidden", func(t *testing.T) {
		all := text(t)
		if strings.Contains(all, h.mod.ID.String()) || !strings.Contains(all, "By a moderator") {
			t.Errorf("the moderator is named by default:\n%s", all)
		}
	})

	t.Run("ModeratorShown", func(t *testing.T) {
		s := storage.DefaultGuildSettings(h.guild.ID.String())
		s.ShowModeratorNames = true
		if err := h.stores.Settings.Save(context.Background(), s, h.owner.ID.String(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if all := text(t); !strings.Contains(all, "By "+h.mod.Mention()) {
			t.Errorf("the moderator is not named although the server chose to:\n%s", all)
		}
	})

	t.Run("None", func(t *testing.T) {
		e := onlyEmbed(t, h.slash(h.helper, "mywarnings", nil))
		if len(e.Fields) != 0 || !strings.Contains(e.Description, "no active warnings") {
			t.Errorf("got description=%q fields=%q, want none", e.Description, fieldNames(e))
		}
	})
}
