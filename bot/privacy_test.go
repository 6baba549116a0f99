package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/privacy"
	"github.com/modbot/bot/storage"
)

// exportOf runs /privacy export as m and returns the attached document and
// its raw bytes, failing the test unless exactly privacy-export.json came.
func (h *harness) exportOf(m *discordtest.Member) (privacy.Document, string) {
	h.t.Helper()
	in := h.slash(m, "privacy export", nil)
	if in.Type != discord.InteractionResponseTypeDeferredCreateMessage || !in.Ephemeral || in.Message == nil {
		h.t.Fatalf("export got type=%d ephemeral=%v content=%q, want an ephemeral deferral filled in", in.Type, in.Ephemeral, in.Content)
	}
	files := in.Message.Files
	if len(files) != 1 || files[0].Name != privacy.FileName {
		h.t.Fatalf("export files got=%+v, want one %s", files, privacy.FileName)
	}
	var doc privacy.Document
	if err := json.Unmarshal(files[0].Data, &doc); err != nil {
		h.t.Fatalf("export is not the document: %v", err)
	}
	return doc, string(files[0].Data)
}

// verifyRecords fails the test unless every sealed record and the audit
// chain still check out.
func (h *harness) verifyRecords() {
	h.t.Helper()
	if _, err := storage.VerifyDatabase(context.Background(), h.db, h.keys); err != nil {
		h.t.Fatalf("VerifyDatabase: %v", err)
	}
}

func TestPrivacyExport(t *testing.T) {
	h := newHarness(t, withBotOptions(func(o *Options) { o.Retention = 365 * 24 * time.Hour }))
	guild := h.guild.ID.String()
	h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "member-canary: spam")
	h.seedCase(guild, storage.CaseNote, h.member, h.mod, "member-canary: note")
	h.seedCase(guild, storage.CaseWarning, h.other, h.mod, "other-canary: flood")
	_, elsewhere := h.caseElsewhere(0)

	t.Run("OnlyOwnRecords", func(t *testing.T) {
		doc, raw := h.exportOf(h.member)
		if doc.UserID != h.member.ID.String() || doc.GuildID != guild || len(doc.Cases) != 2 {
			t.Fatalf("document got user=%s guild=%s cases=%d, want the member's 2 cases here", doc.UserID, doc.GuildID, len(doc.Cases))
		}
		wantText(t, "export", raw, "member-canary: spam", "member-canary: note", "1 year")
		for _, leak := range []string{"other-canary", h.other.ID.String(), h.other.Username, elsewhere.Reason} {
			if strings.Contains(raw, leak) {
				t.Errorf("the export holds %q, which is about someone else or another server", leak)
			}
		}
	})

	t.Run("ModeratorsHidden", func(t *testing.T) {
		doc, raw := h.exportOf(h.other)
		if doc.Cases[0].Moderator != nil || strings.Contains(raw, h.mod.ID.String()) || strings.Contains(raw, `"mod"`) {
			t.Errorf("the export names the moderator while the server hides names: %s", raw)
		}
	})

	t.Run("ModeratorsShown", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.ShowModeratorNames = true })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ShowModeratorNames = false })
		doc, _ := h.exportOf(h.other)
		if m := doc.Cases[0].Moderator; m == nil || m.ID != h.mod.ID.String() || m.Name != h.mod.Username {
			t.Errorf("moderator got=%+v, want the mod, as the server shows names", m)
		}
	})

	t.Run("RateLimit", func(t *testing.T) {
		// The member exported once above; two more pass, the fourth waits.
		h.exportOf(h.member)
		h.exportOf(h.member)
		in := h.slash(h.member, "privacy export", nil)
		wantRefused(t, in, "3 times an hour")
		wantText(t, "refusal", in.Content, "Try again <t:")
		if in.Type != discord.InteractionResponseTypeCreateMessage || len(in.Message.Files) != 0 {
			t.Errorf("refusal got type=%d files=%d, want a plain message at once", in.Type, len(in.Message.Files))
		}
		// The limit is per member: someone else is not held up.
		h.exportOf(h.helper)
	})
}

func TestExportLimiter(t *testing.T) {
	l := newExportLimiter()
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := range exportsPerHour {
		if _, ok := l.take("g/u", t0.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("export %d refused", i+1)
		}
	}
	retry, ok := l.take("g/u", t0.Add(10*time.Minute))
	if ok || !retry.Equal(t0.Add(time.Hour)) {
		t.Errorf("fourth export got ok=%v retry=%v, want refused until %v", ok, retry, t0.Add(time.Hour))
	}
	if _, ok := l.take("g/u", t0.Add(time.Hour+time.Second)); !ok {
		t.Error("an export after the first left the window was refused")
	}
	l.giveBack("g/u", t0.Add(time.Hour+time.Second))
	if _, ok := l.take("g/u", t0.Add(time.Hour+2*time.Second)); !ok {
		t.Error("an export given back still counted")
	}
	if _, ok := l.take("g/v", t0.Add(10*time.Minute)); !ok {
		t.Error("another member's export was refused")
	}
	if _, ok := l.take("x/y", t0.Add(5*time.Hour)); !ok || len(l.recent) != 1 {
		t.Errorf("keys after the window got=%d, want only the new one (old ones swept)", len(l.recent))
	}
}

// TestPrivacyEraseRefused: only members with Manage Server may erase, and
// not their own records. /privacy carries no default member permissions
// (export is for everyone), so the handler's check is what holds.
func TestPrivacyEraseRefused(t *testing.T) {
	h := newHarness(t)
	guild := h.guild.ID.String()
	h.seedCase(guild, storage.CaseWarning, h.member, h.mod, "spam")
	h.seedCase(guild, storage.CaseWarning, h.admin, h.owner, "admin's own")
	for _, tc := range []struct {
		name   string
		actor  *discordtest.Member
		target *discordtest.Member
		want   string
	}{
		{"Moderator", h.mod, h.member, "Only members with the Manage Server permission can use /privacy erase."},
		{"Member", h.member, h.member, "Only members with the Manage Server permission can use /privacy erase."},
		// Decided: an admin does not wipe their own record; another admin can.
		{"Self", h.admin, h.admin, "You can't erase the records of yourself."},
		{"Owner", h.admin, h.owner, "You can't erase the records of the server owner."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := h.slash(tc.actor, "privacy erase", discordtest.Options{"user": tc.target})
			wantRefused(t, in, tc.want)
			if len(in.Components) != 0 {
				t.Errorf("a refusal carries buttons: %+v", in.Components)
			}
		})
	}
	if len(h.casesOf(h.member)) != 1 || len(h.casesOf(h.admin)) != 1 {
		t.Error("a refused erasure erased something")
	}
	h.verifyRecords()
}

func TestPrivacyErase(t *testing.T) {
	var erased atomic.Int32
	var ledger atomic.Int32
	var ledgerFails atomic.Bool
	h := newHarness(t, withBotOptions(func(o *Options) {
		o.Erased = func(_ context.Context, e []storage.Erasure) error {
			if ledgerFails.Load() {
				return errors.New("the ledger's disk is full")
			}
			erased.Add(1)
			ledger.Add(int32(len(e)))
			return nil
		}
	}))
	ctx := context.Background()
	guild := h.guild.ID.String()
	modlog := h.addModlog()
	warned := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam"})
	h.slash(h.mod, "case reason", discordtest.Options{"number": replyCase(t, warned.Content), "reason": "spam, twice"})
	h.slash(h.mod, "note", discordtest.Options{"user": h.member, "text": "watch them"})
	h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "other's warning"})
	ban := h.seedCase(guild, storage.CaseBan, h.member, h.mod, "raid")
	if _, err := h.stores.Schedule.Add(ctx, storage.NewScheduledAction{GuildID: guild, Kind: storage.ActionUnban,
		TargetID: h.member.ID.String(), DueAt: time.Now().Add(24 * time.Hour), CaseNumber: ban.Number}, time.Now()); err != nil {
		t.Fatal(err)
	}
	posted := h.srv.Messages(modlog.ID)
	if len(posted) != 4 {
		t.Fatalf("modlog posts got=%d, want 4", len(posted))
	}

	preview := func() *discordtest.Interaction {
		t.Helper()
		in := h.slash(h.admin, "privacy erase", discordtest.Options{"user": h.member})
		if !in.Ephemeral {
			t.Error("the preview is not ephemeral")
		}
		wantText(t, "preview", in.Content, h.member.Mention(), "3 cases: 1 ban, 1 note, 1 warning",
			"1 earlier reason", "3 modlog messages", "pending timed unban", "not be reused")
		return in
	}

	t.Run("Cancel", func(t *testing.T) {
		in := preview()
		wantRefused(t, h.click(h.mod, in, "Erase"), "Only "+h.admin.Mention())
		out := h.click(h.admin, in, "Cancel")
		wantText(t, "cancel", out.Content, "nothing was erased")
		if len(out.Components) != 0 {
			t.Error("the buttons stay after a cancel")
		}
		if got := len(h.casesOf(h.member)); got != 3 || len(h.srv.Messages(modlog.ID)) != 4 || erased.Load() != 0 {
			t.Errorf("after cancel: cases=%d modlog=%d erased hook=%d, want 3, 4, 0", got, len(h.srv.Messages(modlog.ID)), erased.Load())
		}
	})

	t.Run("ForgedAndStale", func(t *testing.T) {
		in := preview()
		old := confirmButton{route: privacyEraseRoute, invoker: h.admin.ID, target: h.member.ID, issued: time.Now().Add(-time.Hour), key: "0123456789abcdef", confirm: true}
		// A key no preview made is refused, whoever presses it.
		unknown := confirmButton{route: privacyEraseRoute, invoker: h.admin.ID, target: h.member.ID, issued: time.Now().Truncate(time.Second), key: "0123456789abcdef", confirm: true}
		// A confirmation waiting for the moderator, as if they had lost
		// Manage Server since their preview.
		asMod := confirmButton{route: privacyEraseRoute, invoker: h.mod.ID, target: h.member.ID, issued: time.Now().Truncate(time.Second), confirm: true}
		key, err := h.bot.handlers.erasures.put(pendingConfirm{invoker: asMod.invoker, target: asMod.target, issued: asMod.issued})
		if err != nil {
			t.Fatal(err)
		}
		asMod.key = key
		for _, tc := range []struct {
			who  *discordtest.Member
			id   string
			want string
		}{
			{h.admin, "/privacy-erase/1/2", "damaged or out of date"},
			{h.admin, fmt.Sprintf("/privacy-erase/%s/%s/1/delete", h.admin.ID, h.member.ID), "damaged or out of date"},
			{h.admin, fmt.Sprintf("/privacy-erase/%s/%s/1/nothex/confirm", h.admin.ID, h.member.ID), "damaged or out of date"},
			{h.admin, old.customID(), "This confirmation has expired"},
			{h.admin, unknown.customID(), "This confirmation has expired"},
			// A confirmation of the moderator's still meets the server's
			// own check of Manage Server.
			{h.mod, asMod.customID(), "Only members with the Manage Server permission"},
		} {
			out, err := h.srv.ClickForgedButton(ctx, h.guild, tc.who, *in.Message, tc.id)
			if err != nil {
				t.Fatalf("click %q: %v", tc.id, err)
			}
			wantText(t, "forged "+tc.id, out.Content, tc.want)
		}
		if got := len(h.casesOf(h.member)); got != 3 {
			t.Errorf("cases after forged buttons got=%d, want 3", got)
		}
	})

	// An erasure the ledger cannot record is not made: a restored backup
	// would bring the member back.
	t.Run("LedgerFails", func(t *testing.T) {
		in := preview()
		ledgerFails.Store(true)
		out := h.click(h.admin, in, "Erase")
		ledgerFails.Store(false)
		wantText(t, "ledger failure", out.Content, "error ID")
		if got := len(h.casesOf(h.member)); got != 3 || len(h.srv.Messages(modlog.ID)) != 4 {
			t.Errorf("after a failed ledger write: cases=%d modlog=%d, want 3, 4 (nothing erased)", got, len(h.srv.Messages(modlog.ID)))
		}
	})

	t.Run("Confirm", func(t *testing.T) {
		in := preview()
		h.srv.FailNext("DELETE", "/channels/{channel_id}/messages/{message_id}", 403, 1)
		out := h.click(h.admin, in, "Erase")
		wantText(t, "report", out.Content, "Erased the records of "+h.member.Mention(), "3 cases", "1 earlier reason",
			"Deleted 2 of 3 modlog messages", "could not delete 1", "Kept 1 pending timed unban")
		if len(out.Components) != 0 {
			t.Error("the buttons stay after the erasure")
		}
		if got := h.casesOf(h.member); len(got) != 0 {
			t.Errorf("the member's cases after the erasure got=%d, want 0", len(got))
		}
		if got := h.casesOf(h.other); len(got) != 1 {
			t.Errorf("another member's cases got=%d, want 1 kept", len(got))
		}
		h.verifyRecords()
		if erased.Load() != 1 || ledger.Load() == 0 {
			t.Errorf("Erased hook calls got=%d with %d erasures, want 1 call with the member's", erased.Load(), ledger.Load())
		}
		rec, err := h.stores.Privacy.MemberRecords(ctx, guild, h.member.ID.String())
		if err != nil || len(rec.Scheduled) != 1 || rec.Scheduled[0].State != storage.StatePending {
			t.Errorf("the pending unban got=%+v (%v), want it kept", rec.Scheduled, err)
		}

		// The first delete failed: the member's warning post stays, their
		// other posts are gone, the other member's post stays.
		msgs := h.srv.Messages(modlog.ID)
		if len(msgs) != 3 || msgs[0].ID != posted[0].ID || msgs[1].ID != posted[3].ID {
			t.Fatalf("modlog after the erasure got=%d messages, want the undeletable post, the other member's and the erasure line", len(msgs))
		}
		line := lastEmbed(t, "modlog", msgs)
		wantText(t, "modlog line", line, "The records of a member were erased by "+h.admin.Mention())
		for _, leak := range []string{h.member.ID.String(), h.member.Mention()} {
			if strings.Contains(line, leak) {
				t.Errorf("the modlog line names the member: %q", line)
			}
		}

		// Case numbers are never reused.
		next := h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "again"})
		if n := replyCase(t, next.Content); n <= ban.Number {
			t.Errorf("the next case got #%d, want above the erased #%d", n, ban.Number)
		}
		h.verifyRecords()
	})

	t.Run("NothingLeft", func(t *testing.T) {
		// A member the records hold nothing about gets no buttons.
		in := h.slash(h.admin, "privacy erase", discordtest.Options{"user": h.helper})
		wantText(t, "empty preview", in.Content, "nothing to erase")
		if len(in.Components) != 0 {
			t.Error("an empty preview carries buttons")
		}
	})
	pingOK(t, h)
}

// TestPrivacyInDM: /privacy is refused outside a server, before anything
// is read or deferred.
func TestPrivacyInDM(t *testing.T) {
	for _, sub := range []string{"export", "erase"} {
		t.Run(sub, func(t *testing.T) {
			db, kr := openTestStorage(t)
			rec := &recordedREST{}
			h, _ := recordedHandlers(NewStores(db, kr), rec, 800000000000000004, time.Now)
			h.exports = newExportLimiter()
			user := map[string]any{"id": "800000000000000009", "username": "someone", "discriminator": "0"}
			opt := map[string]any{"name": sub, "type": 1}
			if sub == "erase" {
				opt["options"] = []any{map[string]any{"name": "user", "type": 6, "value": "800000000000000009"}}
			}
			raw, err := json.Marshal(map[string]any{
				"id": snowflake.New(time.Now()).String(), "type": 2, "application_id": "1", "token": "tok", "version": 1,
				"channel_id": "800000000000000001", "locale": "en-US", "user": user, "context": discord.InteractionContextTypeBotDM,
				"data": map[string]any{"id": "2", "name": "privacy", "type": 1, "options": []any{opt}},
			})
			if err != nil {
				t.Fatal(err)
			}
			in, err := discord.UnmarshalInteraction(raw)
			if err != nil {
				t.Fatal(err)
			}
			newRouter(h.routes(), h).dispatch(&event{Interaction: in, ctx: context.Background(), rest: rec})
			calls := rec.called("CreateInteractionResponse")
			if len(calls) != 1 {
				t.Fatalf("callbacks got=%d, want 1", len(calls))
			}
			resp := calls[0].data.(discord.InteractionResponse)
			msg, ok := resp.Data.(discord.MessageCreate)
			if resp.Type != discord.InteractionResponseTypeCreateMessage || !ok || !strings.Contains(msg.Content, "works only in a server") {
				t.Errorf("answer got=%+v, want the refusal", resp)
			}
			if n := len(rec.called("CreateFollowupMessage")); n != 0 {
				t.Errorf("follow-ups got=%d, want none", n)
			}
		})
	}
}

// failingModlog is a ModlogStore whose every record fails.
type failingModlog struct{ calls *atomic.Int32 }

func (f failingModlog) RecordBatch(context.Context, []storage.ModlogMessage) (int, error) {
	f.calls.Add(1)
	return 0, storage.ErrBusy
}

// TestModlogRecordFailure: a modlog post whose record fails still counts
// as posted, and the command succeeds; only the log hears of it.
func TestModlogRecordFailure(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, withBotOptions(func(o *Options) { o.Stores.Modlog = failingModlog{&calls} }))
	modlog := h.addModlog()
	in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam"})
	wantText(t, "reply", in.Content, "Warned "+h.member.Mention())
	if strings.Contains(in.Content, "modlog") || strings.Contains(in.Content, "error ID") {
		t.Errorf("reply got=%q, want no modlog or error note", in.Content)
	}
	waitUntil(t, "the record is tried", func() bool { return calls.Load() > 0 })
	if calls.Load() != 1 || len(h.srv.Messages(modlog.ID)) != 1 {
		t.Errorf("record calls got=%d, modlog posts=%d, want 1 and 1", calls.Load(), len(h.srv.Messages(modlog.ID)))
	}
}

// TestPrivacyExportTooLarge: an export too large for one Discord file is
// refused with what to do, not sent and failed.
func TestPrivacyExportTooLarge(t *testing.T) {
	h := newHarness(t)
	h.bot.handlers.exportLimit = 200
	h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "spam")
	in := h.slash(h.member, "privacy export", nil)
	wantText(t, "too large", in.Content, "too many for one file", "bot privacy export")
	if len(in.Followups) != 0 {
		t.Errorf("a follow-up (the file) was sent: %d", len(in.Followups))
	}
}
