package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestClearWarningsPressedTwice: the confirm button pressed twice at once
// revokes once: one report, one modlog post, one audit entry per warning.
func TestClearWarningsPressedTwice(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	modlog := h.addModlog()
	for range 3 {
		h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "x")
	}
	in := h.slash(h.mod, "clearwarnings", discordtest.Options{"user": h.member, "reason": "slate"})
	b, ok := findButton(in, "Revoke all")
	if !ok {
		t.Fatalf("no confirm button: %q", in.Content)
	}
	posts, audits, dms := len(h.srv.Messages(modlog.ID)), len(h.audit()), len(h.srv.DMs(h.member.ID))
	var wg sync.WaitGroup
	outs := make([]*discordtest.Interaction, 2)
	for i := range outs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := h.srv.ClickForgedButton(ctx, h.guild, h.mod, *in.Message, b.CustomID)
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
	revoked := 0
	for _, out := range outs {
		if strings.Contains(out.Content, "Revoked 3 warnings") {
			revoked++
		} else {
			wantText(t, "second press", out.Content, "This confirmation has expired")
		}
	}
	if revoked != 1 {
		t.Errorf("reports of a revocation got=%d, want 1", revoked)
	}
	if got := len(h.srv.Messages(modlog.ID)) - posts; got != 1 {
		t.Errorf("modlog posts got=%d, want 1", got)
	}
	if got := len(h.audit()) - audits; got != 3 {
		t.Errorf("audit entries got=%d, want 3", got)
	}
	if got := len(h.srv.DMs(h.member.ID)) - dms; got != 1 {
		t.Errorf("DMs got=%d, want 1", got)
	}
	h.verify()
}

// TestClearWarningsBetweenPreviewAndPress: what may change between the
// preview and the press: a restart, the member leaving, the member
// climbing the hierarchy.
func TestClearWarningsBetweenPreviewAndPress(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	preview := func(m *discordtest.Member) *discordtest.Interaction {
		t.Helper()
		h.seedCase(guild, storage.CaseWarning, m, h.mod, "x")
		return h.slash(h.mod, "clearwarnings", discordtest.Options{"user": m, "reason": "slate"})
	}

	t.Run("Left", func(t *testing.T) {
		m := h.newMember("leaver")
		in := preview(m)
		h.guild.KickAs(h.admin, m, "bye")
		wantText(t, "report", h.click(h.mod, in, "Revoke all").Content, "Revoked 1 warning of "+m.Mention())
	})

	t.Run("Promoted", func(t *testing.T) {
		m := h.newMember("climber")
		in := preview(m)
		m.AddRole(h.modRole)
		wantRefused(t, h.click(h.mod, in, "Revoke all"), "is not below yours")
		if c := h.casesOfKind(m, storage.CaseWarning); len(c) != 1 || c[0].Revoked != nil {
			t.Errorf("the climber's warnings got=%+v, want one, not revoked", c)
		}
	})

	t.Run("WarnedMeanwhile", func(t *testing.T) {
		m := h.newMember("busy")
		in := preview(m)
		wantText(t, "preview", in.Content, "Revoke 1 active warning")
		later := h.seedCase(guild, storage.CaseWarning, m, h.mod, "after the preview")
		out := h.click(h.mod, in, "Revoke all")
		wantText(t, "report", out.Content, "Revoked 1 warning of "+m.Mention(),
			"1 warning given since you asked was left as it is: run /clearwarnings again")
		for _, c := range h.casesOfKind(m, storage.CaseWarning) {
			if c.Number == later.Number && c.Revoked != nil {
				t.Errorf("case #%d, given after the preview, was revoked", c.Number)
			}
			if c.Number != later.Number && c.Revoked == nil {
				t.Errorf("case #%d, shown in the preview, was not revoked", c.Number)
			}
		}
	})

	t.Run("Restart", func(t *testing.T) {
		m := h.newMember("patient")
		in := preview(m)
		h.restart(nil)
		wantRefused(t, h.click(h.mod, in, "Revoke all"), "This confirmation has expired")
	})
	h.verify()
}

// TestClearWarningsThousand: a member with 1000 active warnings: all are
// revoked in one go, and the preview, the report and the modlog post stay
// within Discord's limits (the fake checks them) with the list cut short.
func TestClearWarningsThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("1000 warnings")
	}
	h := newHarness(t)
	modlog := h.addModlog()
	batch := make([]storage.BatchCase, 1000)
	for i := range batch {
		batch[i] = storage.BatchCase{NewCase: storage.NewCase{GuildID: h.guild.ID.String(), Kind: storage.CaseWarning,
			TargetID: h.member.ID.String(), TargetName: h.member.Username, ModeratorID: h.mod.ID.String(), ModeratorName: "mod",
			Reason: "r", Points: 1, CreatedAt: time.Now()}}
	}
	if err := storage.NewCases(h.db, h.keys).CreateBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	// The longest reason, all markdown, which escaping doubles.
	in := h.slash(h.mod, "clearwarnings", discordtest.Options{"user": h.member, "reason": strings.Repeat("*", maxReason)})
	wantText(t, "preview", in.Content, "Revoke 1000 active warnings", "and 980 more")
	audit := storage.NewAudit(h.db, h.keys)
	before, err := audit.List(context.Background(), 0, 2000)
	if err != nil {
		t.Fatal(err)
	}
	out := h.click(h.mod, in, "Revoke all")
	wantText(t, "report", out.Content, "Revoked 1000 warnings", "and 980 more", "(1000 points)")
	wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "Warnings cleared", "1000 active warnings", "and 980 more")
	if after, err := audit.List(context.Background(), before[len(before)-1].Seq, 2000); err != nil || len(after) != 1000 {
		t.Errorf("audit entries got=%d (%v), want 1000", len(after), err)
	}
	for _, c := range h.casesOf(h.member) {
		if c.Revoked == nil {
			t.Fatalf("case #%d not revoked", c.Number)
		}
	}
	h.verify()
}

// TestClearWarningsCancelAfterConfirm: a cancel that arrives after the
// confirm (a quick second click, before the buttons are gone) must not
// claim that nothing was revoked, nor replace the report.
func TestClearWarningsCancelAfterConfirm(t *testing.T) {
	h := newHarness(t)
	h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "x")
	in := h.slash(h.mod, "clearwarnings", discordtest.Options{"user": h.member, "reason": "slate"})
	cancel, _ := findButton(in, "Cancel")
	out := h.click(h.mod, in, "Revoke all")
	wantText(t, "report", out.Content, "Revoked 1 warning")
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	late, err := h.srv.ClickForgedButton(ctx, h.guild, h.mod, *in.Message, cancel.CustomID)
	if err != nil {
		t.Fatal(err)
	}
	// An update (type 7) would replace the report on the message.
	if late.Type == discord.InteractionResponseTypeUpdateMessage || strings.Contains(late.Content, "no warning was revoked") {
		t.Errorf("a cancel after the confirm got type=%d %q, want a refusal that leaves the report", late.Type, late.Content)
	}
	wantRefused(t, late, "already")
}
