package bot

import (
	"strings"
	"testing"

	"github.com/disgoorg/disgo/discord"
)

func TestPing(t *testing.T) {
	h := newHarness(t)
	for _, m := range []string{"member", "mod"} {
		who := h.member
		if m == "mod" {
			who = h.mod
		}
		in := h.slash(who, "ping", nil)
		if in.Type != discord.InteractionResponseTypeCreateMessage {
			t.Errorf("%s: response type got=%v, want %v", m, in.Type, discord.InteractionResponseTypeCreateMessage)
		}
		if !strings.HasPrefix(in.Content, "Pong!") || !strings.Contains(in.Content, "version test") {
			t.Errorf("%s: content got=%q, want a Pong with the version", m, in.Content)
		}
		if !in.Ephemeral {
			t.Errorf("%s: /ping reply is not ephemeral", m)
		}
	}
}
