package cli

import (
	"strings"
	"testing"
)

// TestDemo plays the scripted session end to end: the real bot, storage and
// keys against discordtest. The demo itself fails on any protocol violation
// or ping the fake records.
func TestDemo(t *testing.T) {
	code, out, errOut := runCLI(t, t.TempDir(), nil, "demo")
	if code != exitOK {
		t.Fatalf("bot demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Pong!",
		"case #1",                 // the warning got the guild's first number
		"bot sent bob a DM",       // the member was told
		"bot posted in #modlog",   // the modlog got the case
		"Only moderators can use", // carol was refused
		"Earlier reasons",         // /case view shows the edit history
		"Revoked",                 // /unwarn kept the case, marked revoked
		"is removed now",          // the session ran to the end
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}
