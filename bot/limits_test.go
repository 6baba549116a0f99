package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
)

// unlimited are limits that no test of another command meets, so that
// those tests may send commands as fast as they like; the tests in this
// file set the limits they test.
func unlimited() Limits {
	return Limits{
		MemberBurst: 1 << 20, ModeratorBurst: 1 << 20, GuildBurst: 1 << 20,
		InFlight: 64, Queue: 1 << 16, MassAction: 1 << 20,
	}
}

// withLimits runs the harness's bot with lim (zero fields at their
// defaults) and the clock c.
func withLimits(lim Limits, c *testClock) harnessOption {
	return withBotOptions(func(o *Options) {
		o.Limits = lim
		o.Now = c.Now
	})
}

// invoke runs a command and returns the outcome even when the bot's answer
// is not what the harness's slash expects.
func (h *harness) invoke(m *discordtest.Member, command string, opts discordtest.Options) (*discordtest.Interaction, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return h.srv.InvokeSlash(ctx, h.guild, m, command, opts)
}

func TestLimitsMember(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))

	for i := range 5 {
		if in := h.slash(h.member, "mywarnings", nil); strings.Contains(in.Content, "slow down") {
			t.Fatalf("command %d of the burst got=%q, want it answered", i+1, in.Content)
		}
	}
	in := h.slash(h.member, "mywarnings", nil)
	wantRefused(t, in, "slow down, try again in 2 s.")

	t.Run("OtherMemberUnaffected", func(t *testing.T) {
		if in := h.slash(h.other, "mywarnings", nil); strings.Contains(in.Content, "slow down") {
			t.Errorf("got=%q, want another member answered", in.Content)
		}
	})
	t.Run("Refill", func(t *testing.T) {
		clock.Advance(2 * time.Second)
		if in := h.slash(h.member, "mywarnings", nil); strings.Contains(in.Content, "slow down") {
			t.Errorf("after 2 s got=%q, want one more command allowed", in.Content)
		}
		wantRefused(t, h.slash(h.member, "mywarnings", nil), "slow down, try again in 2 s.")
	})
	t.Run("Buttons", func(t *testing.T) {
		// Decided: a button press is a command; pressing "next page" in a
		// loop is refused like typing a command in a loop.
		msg := h.slash(h.mod, "warnings", discordtest.Options{"user": h.member})
		clock.Advance(time.Minute)
		for range 5 {
			h.slash(h.member, "mywarnings", nil)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if msg.Message == nil {
			t.Fatal("no /warnings message to press a button on")
		}
		in, err := h.srv.ClickForgedButton(ctx, h.guild, h.member, *msg.Message, warningsPageRoute+"/1/2/3/0")
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, in, "slow down")
	})
	t.Run("IdleForgotten", func(t *testing.T) {
		if n := h.bot.limits.bucketCount(); n == 0 {
			t.Fatal("no buckets held after commands")
		}
		clock.Advance(5 * time.Minute)
		h.slash(h.other, "mywarnings", nil)
		if n := h.bot.limits.bucketCount(); n != 2 {
			t.Errorf("buckets got=%d, want 2 (the last member's and the server's)", n)
		}
	})
}

// TestLimitsRaid: a raid of members uses up the server's allowance, and
// ten moderators warning at once all still succeed.
func TestLimitsRaid(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))

	var raiders []*discordtest.Member
	for i := range 12 {
		raiders = append(raiders, h.newMember(fmt.Sprintf("raider%d", i)))
	}
	for _, r := range raiders {
		for range 5 {
			if in := h.slash(r, "mywarnings", nil); strings.Contains(in.Content, "slow down") {
				t.Fatalf("within the server's burst got=%q", in.Content)
			}
		}
	}
	wantRefused(t, h.slash(h.newMember("late"), "mywarnings", nil), "Too many commands from this server: slow down, try again in 1 s.")

	mods := []*discordtest.Member{h.mod}
	for i := range 9 {
		mods = append(mods, h.guild.AddMember(discordtest.MemberOptions{Username: fmt.Sprintf("mod%d", i), Roles: []*discordtest.Role{h.modRole}}))
	}
	var wg sync.WaitGroup
	replies := make([]string, len(mods))
	for i, m := range mods {
		wg.Go(func() {
			in, err := h.invoke(m, "warn", discordtest.Options{"user": raiders[i], "reason": "raid"})
			if err != nil {
				replies[i] = err.Error()
				return
			}
			replies[i] = in.Content
		})
	}
	wg.Wait()
	for i, r := range replies {
		wantText(t, fmt.Sprintf("moderator %d's warning", i), r, "case #")
	}
}

func TestLimitsBusy(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{InFlight: 1, Queue: 1}, clock))

	// The DM of a warning is held, and with it the only slot.
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
	queued := make(chan *discordtest.Interaction, 1)
	go func() {
		in, _ := h.invoke(h.other, "ping", nil)
		queued <- in
	}()
	waitUntil(t, "a command waits", func() bool { return h.bot.limits.admitted.Load() == 2 })

	wantRefused(t, h.slash(h.admin, "ping", nil), "busy, try again")
	if in := <-queued; in == nil {
		t.Error("the queued command was not answered")
	} else {
		wantRefused(t, in, "busy, try again")
	}
	wantText(t, "the held warning", <-held, "case #")
}

func TestLimitsAutocomplete(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{ModeratorBurst: 1}, clock))
	h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "one"})
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		in, err := h.srv.Autocomplete(ctx, h.guild, h.mod, "unwarn", discordtest.Options{"case": "1"}, "case")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if in.Type != discord.InteractionResponseTypeAutocompleteResult || len(in.Choices) != 0 {
			t.Errorf("got type=%d choices=%v, want an empty autocomplete result", in.Type, in.Choices)
		}
	}
}

func TestRaidBrake(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))
	modlog := h.addModlog()
	ban := func(name string) *discordtest.Interaction {
		t.Helper()
		return h.slash(h.mod, "ban", discordtest.Options{"user": h.newMember(name), "reason": "raid"})
	}
	for i := range 10 {
		wantText(t, fmt.Sprintf("ban %d", i+1), ban(fmt.Sprintf("r%d", i)).Content, "Banned")
	}
	spared := h.newMember("spared")
	in := h.slash(h.mod, "kick", discordtest.Options{"user": spared, "reason": "raid"})
	wantRefused(t, in, "You have banned or kicked 10 members within a minute, so your bans and kicks are paused")
	if !spared.InGuild() {
		t.Error("the kick past the brake took effect")
	}
	wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "Raid brake", h.mod.Mention(), "/config limits lift")
	wantText(t, "owner's DM", lastEmbed(t, "owner's DM", h.srv.DMs(h.owner.ID)), "Raid brake", h.mod.Mention())
	wantRefused(t, ban("r11"), "paused")

	t.Run("Lift", func(t *testing.T) {
		wantRefused(t, h.slash(h.member, "config limits lift", discordtest.Options{"moderator": h.mod}), "Manage Server")
		in := h.slash(h.admin, "config limits lift", discordtest.Options{"moderator": h.mod})
		wantText(t, "lift", in.Content, "can ban and kick again")
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "Raid brake lifted")
		wantText(t, "ban after the lift", ban("r12").Content, "Banned")
		wantText(t, "lift again", h.slash(h.admin, "config limits lift", discordtest.Options{"moderator": h.mod}).Content, "is not paused")
	})
	t.Run("NextMinute", func(t *testing.T) {
		clock.Advance(15 * time.Second) // the moderator's own allowance refills; the brake's minute goes on
		for i := range 9 {
			ban(fmt.Sprintf("s%d", i))
		}
		wantRefused(t, ban("s9"), "paused")
		clock.Advance(time.Minute)
		wantText(t, "ban a minute later", ban("s10").Content, "Banned")
	})
	t.Run("Show", func(t *testing.T) {
		in := h.slash(h.admin, "config limits show", nil)
		wantText(t, "show", in.Content, "Members: 5 commands at once", "more than 10 members within a minute")
	})
}

// TestDMAfterRateLimit: a DM that Discord answers with 429 is sent again
// once the limit resets, not dropped.
func TestDMAfterRateLimit(t *testing.T) {
	h := newHarness(t)
	h.srv.RateLimit("POST", routeMessages, 0, time.Second)
	in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "paced"})
	wantText(t, "reply", in.Content, DMSent.String())
	wantText(t, "DM", lastEmbed(t, "DM", h.srv.DMs(h.member.ID)), "paced")
}
