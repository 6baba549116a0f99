package bot

import (
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
)

// TestValidationOrder pins which refusal a moderator sees when a command
// has two things wrong: options are checked in the order the command lists
// them (/timeout's duration before its reason), and typed input before the
// case it names is looked up (/unwarn's reason before the case).
func TestValidationOrder(t *testing.T) {
	h := newHarness(t)
	t.Run("TimeoutDurationBeforeReason", func(t *testing.T) {
		in := h.slash(h.mod, "timeout", discordtest.Options{"user": h.member, "duration": "banana", "reason": "   "})
		t.Logf("reply: %q", in.Content)
		if strings.Contains(in.Content, "reason") {
			t.Errorf("/timeout with a bad duration and a blank reason got=%q, want the duration refused first", in.Content)
		}
	})
	t.Run("UnwarnReasonBeforeCase", func(t *testing.T) {
		in := h.slash(h.mod, "unwarn", discordtest.Options{"case": 987654, "reason": "   "})
		t.Logf("reply: %q", in.Content)
		if !strings.Contains(in.Content, "reason") {
			t.Errorf("/unwarn of a missing case with a blank reason got=%q, want the reason refused first", in.Content)
		}
	})
}
