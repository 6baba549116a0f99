package bot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestAttackRaidBrakeEscalation: a compromised moderator account (Timeout
// Members or a moderator role is enough to /warn) bans members through an
// escalation rule. The bans are the bot's own (moderator = bot), and
// raidBrake is only consulted by the /ban and /kick handlers, so the brake
// never counts them: 12 bans in the same instant, brake at 10.
func TestAttackRaidBrakeEscalation(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))
	h.addModlog()
	h.slash(h.admin, "config escalation add", discordtest.Options{"points": 1, "action": "ban"})
	banned := 0
	for i := range 12 {
		m := h.newMember(fmt.Sprintf("victim%d", i))
		in, err := h.invoke(h.mod, "warn", discordtest.Options{"user": m, "reason": "x", "points": 1})
		if err != nil {
			t.Fatalf("warn %d: %v", i, err)
		}
		_ = in
		if len(h.casesOfKind(m, storage.CaseBan)) > 0 {
			banned++
		}
	}
	if banned > DefaultLimits().MassAction {
		t.Errorf("one moderator banned %d members within a minute through /warn escalation; the raid brake allows %d",
			banned, DefaultLimits().MassAction)
	}
}

// TestAttackRaidBrakeSelfLift: a paused moderator who also has Manage
// Server lifts their own pause and carries on; the brake then costs a
// compromised admin account one extra command.
func TestAttackRaidBrakeSelfLift(t *testing.T) {
	clock := newTestClock()
	h := newHarness(t, withLimits(Limits{}, clock))
	h.addModlog()
	for i := range 10 {
		h.slash(h.admin, "ban", discordtest.Options{"user": h.newMember(fmt.Sprintf("r%d", i)), "reason": "raid"})
	}
	wantRefused(t, h.slash(h.admin, "ban", discordtest.Options{"user": h.newMember("r10"), "reason": "raid"}), "paused")
	in, err := h.invoke(h.admin, "config limits lift", discordtest.Options{"moderator": h.admin})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(in.Content, "can ban and kick again") {
		t.Errorf("a paused moderator lifted their own pause: %q", in.Content)
	}
}
