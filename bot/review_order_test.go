package bot

import (
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
)

// TestReviewValidationOrder pins which refusal a moderator sees when a
// command has two things wrong. Before the refactor /timeout checked the
// duration before the reason, and /unwarn checked the reason before looking
// the case up; the table-driven path and the caseOf prologue swapped both.
func TestReviewValidationOrder(t *testing.T) {
	h := newHarness(t)
	t.Run("TimeoutDurationBeforeReason", func(t *testing.T) {
		in := h.slash(h.mod, "timeout", discordtest.Options{"user": h.member, "duration": "banana", "reason": "   "})
		t.Logf("reply: %q", in.Content)
		if strings.Contains(in.Content, "reason") {
			t.Errorf("/timeout with a bad duration and a blank reason got=%q, want the duration refused first (as before the refactor)", in.Content)
		}
	})
	t.Run("UnwarnReasonBeforeCase", func(t *testing.T) {
		in := h.slash(h.mod, "unwarn", discordtest.Options{"case": 987654, "reason": "   "})
		t.Logf("reply: %q", in.Content)
		if !strings.Contains(in.Content, "reason") {
			t.Errorf("/unwarn of a missing case with a blank reason got=%q, want the reason refused first (as before the refactor)", in.Content)
		}
	})
}
