package bot

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// schedulerPoll is the scheduler's interval in these tests: short, so a due
// action runs within a few milliseconds of the clock passing it.
const schedulerPoll = 20 * time.Millisecond

// newSchedulerHarness is a harness whose bot reads clock and polls often.
func newSchedulerHarness(t *testing.T, clock *testClock) *harness {
	return newHarness(t, withBotOptions(func(o *Options) {
		o.Now = clock.Now
		o.SchedulerInterval = schedulerPoll
	}))
}

// unbansOf returns the DELETE ban requests for m so far.
func (h *harness) unbansOf(m *discordtest.Member) []discordtest.Request {
	var out []discordtest.Request
	for _, r := range h.srv.RequestsTo("DELETE", routeBan) {
		if r.Path == fmt.Sprintf("/guilds/%s/bans/%s", h.guild.ID, m.ID) {
			out = append(out, r)
		}
	}
	return out
}

// waitUnbans waits until the fake has seen n DELETE ban requests for m.
func (h *harness) waitUnbans(t *testing.T, m *discordtest.Member, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(h.unbansOf(m)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("unban requests got=%d, want %d", len(h.unbansOf(m)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle lets the scheduler poll several times, so that an action it
// should not run would have run.
func settle() { time.Sleep(10 * schedulerPoll) }

// TestTemporaryBanAcrossRestart: a temporary ban whose end passes while the
// bot is stopped is lifted once, as soon as the bot is back, and recorded
// as a case by the bot. So is one whose unban a crashed run had claimed but
// not finished.
func TestTemporaryBanAcrossRestart(t *testing.T) {
	clock := newTestClock()
	h := newSchedulerHarness(t, clock)
	modlog := h.addModlog()
	target := h.newMember("tempbanned")
	in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "cool off", "duration": "1h"})
	ban := replyCase(t, in.Content)
	crashed := h.newMember("crashed")
	h.slash(h.mod, "ban", discordtest.Options{"user": crashed, "reason": "cool off", "duration": "30m"})
	settle()
	for _, m := range []*discordtest.Member{target, crashed} {
		if _, ok := h.guild.Banned(m.ID); !ok || len(h.unbansOf(m)) != 0 {
			t.Fatalf("the temporary ban of %s was not in place before its end", m.Username)
		}
	}

	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// A run that died after claiming the shorter ban's end left it running.
	clock.Advance(45 * time.Minute)
	claimed, err := h.stores.Schedule.ClaimDue(t.Context(), clock.Now(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d actions (%v), want the shorter ban's end", len(claimed), err)
	}
	clock.Advance(2 * time.Hour)
	h.restart(func(o *Options) { o.Now, o.SchedulerInterval = clock.Now, schedulerPoll })

	h.waitUnbans(t, target, 1)
	h.waitUnbans(t, crashed, 1)
	settle()
	for _, m := range []*discordtest.Member{target, crashed} {
		if n := len(h.unbansOf(m)); n != 1 {
			t.Errorf("unban requests for %s got=%d, want exactly 1", m.Username, n)
		}
		if _, ok := h.guild.Banned(m.ID); ok {
			t.Errorf("%s still banned after the ban's end", m.Username)
		}
		if n := len(h.casesOfKind(m, storage.CaseUnban)); n != 1 {
			t.Errorf("unban cases of %s got=%d, want 1", m.Username, n)
		}
	}
	unbans := h.casesOfKind(target, storage.CaseUnban)
	if len(unbans) != 1 {
		t.Fatalf("unban cases got=%d, want 1", len(unbans))
	}
	c := unbans[0]
	wantReason := fmt.Sprintf("temporary ban ended (case #%d)", ban)
	if c.ModeratorID != h.srv.BotUserID().String() || c.Reason != wantReason || c.LinkedCase != ban || c.TargetName != "tempbanned" {
		t.Errorf("unban case got=%+v, want one by the bot with reason %q", c, wantReason)
	}
	if r := h.unbansOf(target)[0]; r.AuditLogReason != wantReason {
		t.Errorf("audit log reason got=%q, want %q", r.AuditLogReason, wantReason)
	}
	wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), fmt.Sprintf("Case #%d · Unban", c.Number), wantReason)
}

// TestTemporaryBanEnds covers the scheduler while the bot runs: /unban
// cancels a timed unban, a ban lifted by hand is not lifted again, a
// failure on Discord's side is retried later, and a missing permission
// fails for good with a modlog note.
func TestTemporaryBanEnds(t *testing.T) {
	clock := newTestClock()
	h := newSchedulerHarness(t, clock)
	modlog := h.addModlog()
	tempBan := func(name string) *discordtest.Member {
		t.Helper()
		m := h.newMember(name)
		h.slash(h.mod, "ban", discordtest.Options{"user": m, "reason": "cool off", "duration": "1h"})
		return m
	}

	t.Run("UnbanCancels", func(t *testing.T) {
		m := tempBan("forgiven")
		in := h.slash(h.mod, "unban", discordtest.Options{"user": m.ID.String(), "reason": "forgiven"})
		wantText(t, "reply", in.Content, "Their temporary ban's scheduled end is cancelled.")
		clock.Advance(2 * time.Hour)
		settle()
		if n := len(h.unbansOf(m)); n != 1 {
			t.Errorf("unban requests got=%d, want only /unban's", n)
		}
		if n := len(h.casesOfKind(m, storage.CaseUnban)); n != 1 {
			t.Errorf("unban cases got=%d, want 1", n)
		}
	})

	t.Run("LiftedByHand", func(t *testing.T) {
		m := tempBan("byhand")
		// An admin lifts the ban in Discord itself, which the bot never hears of.
		if err := h.conn.Rest().DeleteBan(h.guild.ID, m.ID, rest.WithCtx(t.Context())); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour)
		h.waitUnbans(t, m, 2)
		settle()
		if n := len(h.unbansOf(m)); n != 2 {
			t.Errorf("unban requests got=%d, want the hand's and one try by the scheduler", n)
		}
		if n := len(h.casesOfKind(m, storage.CaseUnban)); n != 0 {
			t.Errorf("unban cases got=%d, want none for a ban already lifted", n)
		}
	})

	t.Run("RetriedAfterServerError", func(t *testing.T) {
		m := tempBan("retried")
		h.srv.FailNext("DELETE", routeBan, 502, 1)
		clock.Advance(2 * time.Hour)
		h.waitUnbans(t, m, 1)
		settle()
		if _, ok := h.guild.Banned(m.ID); !ok {
			t.Fatal("the failed unban lifted the ban")
		}
		clock.Advance(retryBase + time.Second)
		h.waitUnbans(t, m, 2)
		settle()
		if _, ok := h.guild.Banned(m.ID); ok {
			t.Error("still banned after the retry")
		}
		if n := len(h.casesOfKind(m, storage.CaseUnban)); n != 1 {
			t.Errorf("unban cases got=%d, want 1", n)
		}
	})

	t.Run("MissingPermission", func(t *testing.T) {
		m := tempBan("stuck")
		h.withoutBotPermission(t, discord.PermissionBanMembers)
		clock.Advance(2 * time.Hour)
		h.waitUnbans(t, m, 1)
		settle()
		clock.Advance(retryMax)
		settle()
		if n := len(h.unbansOf(m)); n != 1 {
			t.Errorf("unban requests got=%d, want 1: a missing permission is not retried", n)
		}
		if n := len(h.casesOfKind(m, storage.CaseUnban)); n != 0 {
			t.Errorf("unban cases got=%d, want none", n)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)),
			"Temporary ban not lifted", m.Mention(), "I lack the Ban Members permission", "/unban")
	})
}

// TestSchedulerShutdown: stopping the bot stops the scheduler with it; Run
// returns without waiting for the next poll.
func TestSchedulerShutdown(t *testing.T) {
	h := newHarness(t, withBotOptions(func(o *Options) { o.SchedulerInterval = time.Hour }))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		h.stop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the bot did not stop within 5s")
	}
}
