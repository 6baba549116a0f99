package bot

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// eraseFixture seeds a warning of h.member, turns on a modlog and counts
// the Erased hook's calls; it returns the modlog and the counter.
func eraseFixture(t *testing.T) (*harness, *discordtest.Channel, *atomic.Int32) {
	t.Helper()
	var hook atomic.Int32
	h := newHarness(t, withBotOptions(func(o *Options) {
		o.Erased = func(context.Context, []storage.Erasure) error { hook.Add(1); return nil }
	}))
	modlog := h.addModlog()
	h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "x")
	return h, modlog, &hook
}

// erasePreview runs /privacy erase on h.member as the admin.
func (h *harness) erasePreview() *discordtest.Interaction {
	h.t.Helper()
	in := h.slash(h.admin, "privacy erase", discordtest.Options{"user": h.member})
	if _, ok := findButton(in, "Erase"); !ok {
		h.t.Fatalf("no confirm button: %q", in.Content)
	}
	return in
}

// pressForged presses the button of custom ID id on in's message, as the
// fake lets a client press it again after the buttons are gone.
func (h *harness) pressForged(m *discordtest.Member, in *discordtest.Interaction, id string) *discordtest.Interaction {
	h.t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	out, err := h.srv.ClickForgedButton(ctx, h.guild, m, *in.Message, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// TestPrivacyEraseCancelAfterConfirm: a cancel that arrives after the
// erasure (a quick second click) must not claim that nothing was erased,
// nor replace the report.
func TestPrivacyEraseCancelAfterConfirm(t *testing.T) {
	h, _, _ := eraseFixture(t)
	in := h.erasePreview()
	cancel, _ := findButton(in, "Cancel")
	out := h.click(h.admin, in, "Erase")
	wantText(t, "report", out.Content, "Erased the records of")
	late := h.pressForged(h.admin, in, cancel.CustomID)
	if late.Type == discord.InteractionResponseTypeUpdateMessage || strings.Contains(late.Content, "nothing was erased") {
		t.Errorf("a cancel after the erasure got type=%d %q, want a refusal that leaves the report", late.Type, late.Content)
	}
	wantRefused(t, late, "already")
	h.verify()
}

// TestPrivacyEraseCancelThenErase: once cancelled, the confirm button
// erases nothing.
func TestPrivacyEraseCancelThenErase(t *testing.T) {
	h, _, hook := eraseFixture(t)
	in := h.erasePreview()
	confirm, _ := findButton(in, "Erase")
	wantText(t, "cancel", h.click(h.admin, in, "Cancel").Content, "nothing was erased")
	wantRefused(t, h.pressForged(h.admin, in, confirm.CustomID), "This confirmation has expired")
	if got := len(h.casesOf(h.member)); got != 1 || hook.Load() != 0 {
		t.Errorf("after cancel then erase: cases=%d hook=%d, want 1, 0", got, hook.Load())
	}
	h.verify()
}

// TestPrivacyEraseSecondPress: the confirm pressed again after the erasure
// erases nothing more: no second audit entry, ledger entry or modlog post.
func TestPrivacyEraseSecondPress(t *testing.T) {
	h, modlog, hook := eraseFixture(t)
	in := h.erasePreview()
	confirm, _ := findButton(in, "Erase")
	wantText(t, "report", h.click(h.admin, in, "Erase").Content, "Erased the records of")
	posts, audits := len(h.srv.Messages(modlog.ID)), len(h.audit())
	again := h.pressForged(h.admin, in, confirm.CustomID)
	if again.Type == discord.InteractionResponseTypeUpdateMessage || again.Type == discord.InteractionResponseTypeDeferredUpdateMessage {
		t.Errorf("a second press got type=%d %q, want a refusal that leaves the report", again.Type, again.Content)
	}
	wantRefused(t, again, "This confirmation has expired")
	if got := len(h.srv.Messages(modlog.ID)) - posts; got != 0 {
		t.Errorf("modlog posts after a second press got=%d, want 0", got)
	}
	if got := len(h.audit()) - audits; got != 0 {
		t.Errorf("audit entries after a second press got=%d, want 0", got)
	}
	if hook.Load() != 1 {
		t.Errorf("Erased hook calls got=%d, want 1", hook.Load())
	}
	h.verify()
}

// TestPrivacyErasePressedTwice: the confirm pressed twice at once erases
// once: one report, one modlog post, one audit entry, one ledger write.
func TestPrivacyErasePressedTwice(t *testing.T) {
	h, modlog, hook := eraseFixture(t)
	in := h.erasePreview()
	confirm, _ := findButton(in, "Erase")
	posts, audits := len(h.srv.Messages(modlog.ID)), len(h.audit())
	var wg sync.WaitGroup
	outs := make([]*discordtest.Interaction, 2)
	for i := range outs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := h.srv.ClickForgedButton(ctx, h.guild, h.admin, *in.Message, confirm.CustomID)
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	erased := 0
	for _, out := range outs {
		if strings.Contains(out.Content, "Erased the records of") {
			erased++
		} else {
			wantText(t, "second press", out.Content, "This confirmation has expired")
		}
	}
	if erased != 1 {
		t.Errorf("reports of an erasure got=%d, want 1", erased)
	}
	// The seeded warning has no post: only the erasure line is added.
	if got := len(h.srv.Messages(modlog.ID)) - posts; got != 1 {
		t.Errorf("modlog posts got=%d, want 1", got)
	}
	if got := len(h.audit()) - audits; got != 1 {
		t.Errorf("audit entries got=%d, want 1", got)
	}
	if hook.Load() != 1 {
		t.Errorf("Erased hook calls got=%d, want 1", hook.Load())
	}
	h.verify()
}
