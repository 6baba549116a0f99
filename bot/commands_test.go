package bot

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/disgoorg/disgo/rest"
)

// TestRegisteredCommandsMatch checks that what Discord returns for the
// registered commands is recognised as the same set, so a restart does not
// register them again.
func TestRegisteredCommandsMatch(t *testing.T) {
	h := newHarness(t)
	have, err := h.bot.registered(context.Background(), rest.GetGuildCommands.Compile(nil, h.conn.ApplicationID(), h.guild.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !sameCommands(definitions(), have) {
		for _, c := range have {
			t.Logf("registered: %s", c)
		}
		for _, d := range definitions() {
			want, _ := json.Marshal(d)
			t.Logf("wanted:     %s", want)
		}
		t.Fatal("the registered commands are not recognised as the wanted set")
	}
	if len(h.srv.RequestsTo("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")) != 1 {
		t.Errorf("want exactly one registration")
	}
}
