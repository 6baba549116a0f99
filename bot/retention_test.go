package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// newRetentionHarness is a harness whose bot reads clock, polls often, and
// runs with the operator's retention and after_leave given.
func newRetentionHarness(t *testing.T, clock *testClock, retention, afterLeave time.Duration) *harness {
	t.Helper()
	return newHarness(t, withBotOptions(func(o *Options) { retentionOptions(o, clock, retention, afterLeave) }))
}

func retentionOptions(o *Options, clock *testClock, retention, afterLeave time.Duration) {
	o.Now = clock.Now
	o.SchedulerInterval = schedulerPoll
	o.Retention = retention
	o.AfterLeave = afterLeave
}

// retention returns the storage behind the harness's stores.
func (h *harness) retention() *storage.Retention {
	return storage.NewRetention(h.db, h.keys)
}

// verify fails the test unless every record matches its seal.
func (h *harness) verify() {
	h.t.Helper()
	if rep, err := storage.VerifyDatabase(context.Background(), h.db, h.keys); err != nil || rep.Unsealed {
		h.t.Fatalf("VerifyDatabase: %+v, %v", rep, err)
	}
}

// waitUntil polls cond until it holds, or fails the test after 5 seconds
// naming what.
func (h *harness) waitUntil(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// caseExists reports whether the guild still holds case number.
func (h *harness) caseExists(number int64) bool {
	h.t.Helper()
	_, err := h.stores.Cases.Get(context.Background(), h.guild.ID.String(), number)
	return err == nil
}

// swept reports whether the bot's retainer has finished a sweep.
func (h *harness) swept() bool {
	r := h.bot.retain
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.lastSweep.IsZero()
}

// departures returns the pending deletions.
func (h *harness) departures() []storage.Departure {
	h.t.Helper()
	d, err := h.retention().Departures(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func TestConfigRetention(t *testing.T) {
	h := newRetentionHarness(t, newTestClock(), 365*day, 30*day)
	period := func() time.Duration {
		t.Helper()
		d, err := h.retention().GuildPeriod(context.Background(), h.guild.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if got := h.showText(h.admin); !strings.Contains(got, "Retention: Cases that no longer count") ||
		!strings.Contains(got, "deleted 365 days after they stop counting, the bot's own") {
		t.Errorf("/config show before any choice got:\n%s", got)
	}
	for _, tc := range []struct {
		name, period, reply string
		want                time.Duration
	}{
		{"ErrLonger", "2y", "at most 365 days after they stop counting; its operator set that. Choose 365 days or less", 0},
		{"ErrForever", "never", "can't be kept forever", 0},
		{"ErrSyntax", "soon", "Or type 'off'", 0},
		{"Shorter", "90d", "deleted 90 days after they stop counting, as this server chose.", 90 * day},
		{"Off", "off", "deleted 365 days after they stop counting, the bot's own retention.", 0},
		{"Same", "1y", "the bot's own retention.", 365 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := h.slash(h.admin, "config retention", discordtest.Options{"period": tc.period})
			if !in.Ephemeral || !strings.Contains(in.Content, tc.reply) {
				t.Errorf("/config retention %s: got %q, want an ephemeral reply containing %q", tc.period, in.Content, tc.reply)
			}
			if got := period(); got != tc.want {
				t.Errorf("the guild's period: got=%v, want %v", got, tc.want)
			}
		})
	}
	h.slash(h.admin, "config retention", discordtest.Options{"period": "30d"})
	if got := h.showText(h.admin); !strings.Contains(got, "deleted 30 days after they stop counting, as this server chose") {
		t.Errorf("/config show after 30d got:\n%s", got)
	}
	in := h.slash(h.mod, "config retention", discordtest.Options{"period": "1d"})
	if in.Content != "Only members with the Manage Server permission can use /config." || period() != 30*day {
		t.Errorf("/config retention by a moderator: got %q and period %v, want a refusal", in.Content, period())
	}
	h.verify()

	t.Run("NoOperatorRetention", func(t *testing.T) {
		h := newRetentionHarness(t, newTestClock(), 0, 30*day)
		if got := h.showText(h.admin); !strings.Contains(got, "are kept until a member's records are erased") {
			t.Errorf("/config show without retention got:\n%s", got)
		}
		in := h.slash(h.admin, "config retention", discordtest.Options{"period": "5y"})
		if !strings.Contains(in.Content, "deleted 1825 days after") {
			t.Errorf("/config retention 5y without an operator's limit: got %q", in.Content)
		}
	})
}

// TestRetentionSweepAcrossRestart: the bot sweeps at start and daily,
// deleting only cases that stopped counting longer ago than the retention,
// and a new bot on the same database does so again.
func TestRetentionSweepAcrossRestart(t *testing.T) {
	clock := newTestClock()
	h := newRetentionHarness(t, clock, 30*day, 30*day)
	h.waitUntil("the sweep at start", h.swept)
	now := clock.Now()
	note := func(at time.Time) storage.Case {
		return h.addCase(storage.NewCase{Kind: storage.CaseNote, TargetID: h.member.ID.String(), TargetName: "member",
			Reason: "a note", CreatedAt: at})
	}
	old := note(now.Add(-40 * day))
	recent := note(now.Add(-10 * day))
	active := h.addCase(storage.NewCase{TargetID: h.member.ID.String(), TargetName: "member", Reason: "counts", Points: 1, CreatedAt: now.Add(-90 * day)})
	expired := h.addCase(storage.NewCase{TargetID: h.member.ID.String(), TargetName: "member", Reason: "expired", Points: 1,
		CreatedAt: now.Add(-90 * day), ExpiresAt: now.Add(-31 * day)})

	// The sweep at start ran before these cases existed; the next is a
	// day later.
	settle()
	if !h.caseExists(old.Number) {
		t.Fatal("a case was swept before the day was over")
	}
	clock.Advance(day + time.Minute)
	h.waitUntil("the daily sweep", func() bool { return !h.caseExists(old.Number) && !h.caseExists(expired.Number) })
	if !h.caseExists(recent.Number) || !h.caseExists(active.Number) {
		t.Error("the sweep deleted a case that is not past its retention")
	}
	h.verify()

	clock.Advance(21 * day)
	h.restart(func(o *Options) { retentionOptions(o, clock, 30*day, 30*day) })
	h.waitUntil("the sweep at start", func() bool { return !h.caseExists(recent.Number) })
	settle()
	if !h.caseExists(active.Number) {
		t.Error("the sweep after the restart deleted an active warning")
	}
	h.verify()
}

// TestGuildLeave: a server that removes the bot has its records deleted
// after retention.after_leave, unless the bot is added back before; an
// outage deletes nothing.
func TestGuildLeave(t *testing.T) {
	t.Run("Deleted", func(t *testing.T) {
		clock := newTestClock()
		h := newRetentionHarness(t, clock, 0, 30*day)
		c := h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "spam")
		h.slash(h.admin, "config retention", discordtest.Options{"period": "90d"})
		left := clock.Now()
		h.guild.RemoveBot()
		h.waitUntil("the departure", func() bool { return len(h.departures()) == 1 })
		if d := h.departures()[0]; d.GuildID != h.guild.ID.String() || !d.DeleteAt.Equal(left.Add(30*day).Truncate(time.Millisecond)) {
			t.Errorf("departure: %+v, want the guild's, 30 days on", d)
		}
		h.verify()
		clock.Advance(29 * day)
		settle()
		if !h.caseExists(c.Number) {
			t.Fatal("the guild's records went before after_leave was over")
		}
		clock.Advance(day + time.Minute)
		h.waitUntil("the deletion", func() bool { return len(h.departures()) == 0 })
		if h.caseExists(c.Number) {
			t.Error("the case of a guild left 30 days ago is still there")
		}
		if d, err := h.retention().GuildPeriod(context.Background(), h.guild.ID.String()); err != nil || d != 0 {
			t.Errorf("the guild's retention period after the deletion: %v, %v; want none", d, err)
		}
		h.verify()
	})
	t.Run("AddedBack", func(t *testing.T) {
		clock := newTestClock()
		h := newRetentionHarness(t, clock, 0, 30*day)
		c := h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "spam")
		h.guild.RemoveBot()
		h.waitUntil("the departure", func() bool { return len(h.departures()) == 1 })
		clock.Advance(10 * day)
		h.guild.AddBotBack()
		h.waitUntil("the cancellation", func() bool { return len(h.departures()) == 0 })
		clock.Advance(30 * day)
		settle()
		if !h.caseExists(c.Number) {
			t.Error("the case of a guild that added the bot back was deleted")
		}
		h.verify()
	})
	t.Run("AddedBackAfterDeletion", func(t *testing.T) {
		clock := newTestClock()
		h := newRetentionHarness(t, clock, 0, 30*day)
		ctx, guild := context.Background(), h.guild.ID.String()
		h.addPreset("spam", "Spamming invites", 2)
		h.slash(h.admin, "config dm", discordtest.Options{"enabled": false})
		// Both are read, so both sit in the stores' caches.
		if s, err := h.stores.Settings.Get(ctx, guild); err != nil || s.DMEnabled {
			t.Fatalf("settings before leaving: DMs %v, %v; want off", s.DMEnabled, err)
		}
		if p, err := h.stores.Presets.List(ctx, guild); err != nil || len(p) != 1 {
			t.Fatalf("presets before leaving: %v, %v; want one", p, err)
		}
		h.guild.RemoveBot()
		h.waitUntil("the departure", func() bool { return len(h.departures()) == 1 })
		clock.Advance(30*day + time.Minute)
		h.waitUntil("the deletion", func() bool { return len(h.departures()) == 0 })
		h.guild.AddBotBack()
		settle()
		if s, err := h.stores.Settings.Get(ctx, guild); err != nil || !s.DMEnabled {
			t.Errorf("settings of a guild whose records were deleted: DMs %v, %v; want the default, on", s.DMEnabled, err)
		}
		if p, err := h.stores.Presets.List(ctx, guild); err != nil || len(p) != 0 {
			t.Errorf("presets of a guild whose records were deleted: %v, %v; want none", p, err)
		}
	})
	t.Run("Outage", func(t *testing.T) {
		clock := newTestClock()
		h := newRetentionHarness(t, clock, 0, 30*day)
		c := h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "spam")
		h.guild.Outage()
		settle()
		clock.Advance(31 * day)
		settle()
		h.guild.Recover()
		settle()
		if d := h.departures(); len(d) != 0 || !h.caseExists(c.Number) {
			t.Errorf("after an outage: departures %+v, case kept %v; want none and kept", d, h.caseExists(c.Number))
		}
		h.verify()
	})
	t.Run("KeptWhenAfterLeaveIsZero", func(t *testing.T) {
		clock := newTestClock()
		h := newRetentionHarness(t, clock, 0, 0)
		c := h.seedCase(h.guild.ID.String(), storage.CaseWarning, h.member, h.mod, "spam")
		h.guild.RemoveBot()
		settle()
		clock.Advance(400 * day)
		settle()
		if d := h.departures(); len(d) != 0 || !h.caseExists(c.Number) {
			t.Errorf("with after_leave 0: departures %+v, case kept %v; want none and kept", d, h.caseExists(c.Number))
		}
	})
}
