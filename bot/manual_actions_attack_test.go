package bot

import (
	"strings"
	"testing"

	"github.com/modbot/bot/storage"
)

// A reason written by another bot reaches the case through Discord's audit
// log, not through a slash command's option: it is cleaned as a typed
// reason is, so that a bidirectional override cannot make the stored
// reason display in a misleading order and no control character is kept.
func TestManualActionReasonCleaned(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("dirtyreason")
	h.guild.BanAs(h.mod, target.ID, " spam\u202e gnihton \x00\x07done\r\nnext ")
	c := h.waitCases(target, storage.CaseBan, 1)[0]
	if c.Reason != "spam gnihton done\nnext" {
		t.Errorf("reason got %q, want it cleaned like a typed reason", c.Reason)
	}
	if strings.ContainsAny(c.Reason, "\u202e\x00\x07\r") {
		t.Errorf("reason kept a control or bidi character: %q", c.Reason)
	}
}
