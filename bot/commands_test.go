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
	if puts := h.srv.RequestsTo("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"); len(puts) != 1 {
		for _, r := range puts {
			t.Logf("registration: %s %s status %d at %s", r.Method, r.Path, r.Status, r.Time.Format("15:04:05.000"))
		}
		t.Errorf("%d registrations, want exactly one", len(puts))
	}
}
