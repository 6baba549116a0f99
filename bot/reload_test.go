package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestSetLimits: new limits apply to the next command, and a member keeps
// what they spent: a smaller burst caps their allowance at once.
func TestSetLimits(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))
	h.slash(h.member, "mywarnings", nil)

	h.bot.SetLimits(Limits{MemberBurst: 1, MemberEvery: time.Hour})
	clock.Advance(time.Millisecond)
	if in := h.slash(h.member, "mywarnings", nil); strings.Contains(in.Content, "slow down") {
		t.Fatalf("got=%q, want the one command of the new burst answered", in.Content)
	}
	wantRefused(t, h.slash(h.member, "mywarnings", nil), "slow down, try again in 3600 s.")
	wantText(t, "/config limits show", h.slash(h.admin, "config limits show", nil).Content, "Members: 1 commands at once, then one every 1 hour")
}

// TestSetLimitsInFlight: a larger in-flight cap admits a command at once
// while an interaction admitted under the old cap still holds its slot.
func TestSetLimitsInFlight(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{InFlight: 1, Queue: 1}, clock))
	h.srv.Delay("POST", routeDMChannel, 3*time.Second)
	held := make(chan string, 1)
	go func() {
		in, err := h.invoke(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "slow"})
		if err != nil {
			held <- err.Error()
			return
		}
		held <- in.Content
	}()
	waitUntil(t, "the warning holds the slot", func() bool { return len(*h.bot.limits.slots.Load()) == 1 })

	h.bot.SetLimits(Limits{InFlight: 2, Queue: 1})
	start := time.Now()
	if in := h.slash(h.other, "ping", nil); strings.Contains(in.Content, "busy") {
		t.Errorf("got=%q, want the command answered under the new cap", in.Content)
	}
	if took := time.Since(start); took > queueWait {
		t.Errorf("the command waited %s, want it admitted at once", took)
	}
	wantText(t, "the held warning", <-held, "case #")
	if n := len(*h.bot.limits.slots.Load()); n != 0 {
		t.Errorf("%d slots held after every command ended, want 0", n)
	}
}

// TestSetLimitsConcurrent changes the limits while commands run; the race
// detector checks that every command reads them safely.
func TestSetLimitsConcurrent(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(unlimited(), clock))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			lim := unlimited()
			lim.InFlight, lim.MassAction = 1+i%4, 1+i%3
			h.bot.SetLimits(lim)
			h.bot.SetRetention(time.Duration(1+i%2)*365*day, day)
			time.Sleep(time.Millisecond)
		}
	}()
	var cmds sync.WaitGroup
	for _, m := range []*discordtest.Member{h.member, h.other, h.admin} {
		cmds.Add(1)
		go func() {
			defer cmds.Done()
			for range 10 {
				if _, err := h.invoke(m, "config limits show", nil); err != nil {
					t.Error(err)
				}
				if _, err := h.invoke(m, "mywarnings", nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	cmds.Wait()
	cancel()
	wg.Wait()
}

// TestSetRetention: a shorter operator period is swept by at once and
// bounds /config retention; a new after_leave applies to the next
// departure.
func TestSetRetention(t *testing.T) {
	clock := newTestClock()
	h := newRetentionHarness(t, clock, 0, 0)
	h.waitUntil("the sweep at start", h.swept)
	now := clock.Now()
	old := h.addCase(storage.NewCase{Kind: storage.CaseNote, TargetID: h.member.ID.String(), TargetName: "member",
		Reason: "a note", CreatedAt: now.Add(-40 * day)})
	settle()
	if !h.caseExists(old.Number) {
		t.Fatal("a case was swept with no retention")
	}

	h.bot.SetRetention(30*day, 7*day)
	h.waitUntil("the sweep after the change", func() bool { return !h.caseExists(old.Number) })
	wantRefused(t, h.slash(h.admin, "config retention", discordtest.Options{"period": "60d"}), "at most 30 days")

	h.guild.RemoveBot()
	h.waitUntil("the departure", func() bool { return len(h.departures()) == 1 })
	if d := h.departures()[0]; !d.DeleteAt.Equal(d.LeftAt.Add(7 * day).Truncate(time.Millisecond)) {
		t.Errorf("departure deletes at %s, want 7 days after %s", d.DeleteAt, d.LeftAt)
	}
}

// TestSetGuildIDs: the commands move to the new guilds, leave the ones
// dropped, and become global with an empty list, all over REST: the
// gateway never identifies or resumes again.
func TestSetGuildIDs(t *testing.T) {
	h := newHarness(t)
	identifies := gatewayOps(h.srv)
	second := h.srv.AddGuild(discordtest.GuildOptions{})
	ctx := context.Background()

	if err := h.bot.SetGuildIDs(ctx, []snowflake.ID{second.ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.srv.Commands(second.ID)); n != len(Definitions()) {
		t.Errorf("the new guild has %d commands, want %d", n, len(Definitions()))
	}
	if n := len(h.srv.Commands(h.guild.ID)); n != 0 {
		t.Errorf("the dropped guild has %d commands, want 0", n)
	}
	if err := h.bot.SetGuildIDs(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(h.srv.Commands(0)); n != len(Definitions()) {
		t.Errorf("%d global commands, want %d", n, len(Definitions()))
	}
	if n := len(h.srv.Commands(second.ID)); n != 0 {
		t.Errorf("a guild off the list has %d commands, want 0", n)
	}
	if got := gatewayOps(h.srv); got != identifies {
		t.Errorf("gateway IDENTIFY+RESUME count went from %d to %d, want no reconnection", identifies, got)
	}
	if in := h.slash(h.member, "ping", nil); !strings.Contains(in.Content, "Pong") {
		t.Errorf("/ping after the change got=%q", in.Content)
	}
}

// TestSetGuildIDsFailure: a registration Discord refuses leaves the
// previous list in force, so the same call again completes the change.
func TestSetGuildIDsFailure(t *testing.T) {
	h := newHarness(t)
	second := h.srv.AddGuild(discordtest.GuildOptions{})
	ctx := context.Background()
	h.srv.FailNext("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", 500, 10)
	if err := h.bot.SetGuildIDs(ctx, []snowflake.ID{second.ID}); err == nil {
		t.Fatal("SetGuildIDs succeeded while Discord refused it")
	}
	h.srv.ClearFaults()
	if err := h.bot.SetGuildIDs(ctx, []snowflake.ID{second.ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.srv.Commands(h.guild.ID)); n != 0 {
		t.Errorf("the dropped guild has %d commands after the retry, want 0", n)
	}
}

// gatewayOps counts the IDENTIFYs and RESUMEs srv has received.
func gatewayOps(srv *discordtest.Server) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && (m.Op == 2 || m.Op == 6) {
			n++
		}
	}
	return n
}
