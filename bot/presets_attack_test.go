package bot

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestPresetNameTricks: names that look alike. Names are the same preset
// when they fold to the same letters (the Kelvin sign is a K), otherwise
// distinct; a name with invisible characters is refused, since it would
// look like another; and a typed name expands to the preset it folds to,
// never to a look-alike.
func TestPresetNameTricks(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	guild := h.guild.ID.String()
	h.addPreset("kick", "plain kick", 0)
	wantText(t, "kelvin", h.addPreset("\u212aick", "kelvin kick", 0).Content, "Replaced")
	h.addPreset("spam", "plain spam", 0)
	wantRefused(t, h.addPreset("spam\u200b", "invisible spam", 0), "invisible characters")
	h.addPreset("İhlal", "dotted", 0)
	h.addPreset("ihlal", "dotless", 0)
	got, err := h.stores.Presets.List(ctx, guild)
	if err != nil || len(got) != 4 {
		t.Fatalf("presets got=%+v, %v; want 4", got, err)
	}
	for typed, want := range map[string]string{
		"KICK": "kelvin kick", "spam": "plain spam", "spam\u200b": "spam\u200b",
		"İhlal": "dotted", "IHLAL": "dotless", "spam\u200c": "spam\u200c",
	} {
		in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": typed})
		if c := h.storedCase(replyCase(t, in.Content)); c.Reason != want {
			t.Errorf("reason %q expanded to %q, want %q", typed, c.Reason, want)
		}
	}
	h.verify()
}

// TestPresetCapConcurrent: adds racing for the last free place never pass
// the cap.
func TestPresetCapConcurrent(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	ctx := context.Background()
	for i := range maxPresets - 1 {
		if _, err := h.stores.Presets.Put(ctx, guild, storage.ReasonPreset{Name: fmt.Sprintf("p%d", i), Text: "x"}, maxPresets, h.admin.ID.String(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			h.slash(h.admin, "config reasons add", discordtest.Options{"name": fmt.Sprintf("q%d", i), "text": "x"})
		})
	}
	wg.Wait()
	if got, _ := h.stores.Presets.List(ctx, guild); len(got) != maxPresets {
		t.Errorf("presets got=%d, want %d", len(got), maxPresets)
	}
	h.verify()
}
