package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		"Reason: Posting server invites without asking", // a preset's text
		"Revoked 1 warning",                             // /clearwarnings
		"Taken outside the bot",                         // a ban from Discord's menu became a case
		`a form "Warn bob"`,                             // Apps → Warn… opened the modal
		"Message: https://discord.com/channels/",        // Warn for this message… links it
		"Messages purged",                               // /purge
		"is removed now",                                // the session ran to the end
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// A refusal by the command limits would mean the session did not show
	// what its notes say.
	if strings.Contains(out, "slow down") || strings.Contains(out, "busy, try again") {
		t.Errorf("the demo ran into the command limits:\n%s", out)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}

// TestDemoServe: 'bot demo --serve' keeps a Discord that 'bot run' connects
// to with the variables it wrote, and 'bot demo invoke' plays a command on
// it as the moderator, showing the bot's answer and its DM to the member.
func TestDemoServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	// Serve writes while the test reads: a buffer behind a lock.
	var serveOut lockedBuffer
	go func() {
		served <- run(ctx, []string{"demo", "--serve", "--env-file", "discord.env"}, testEnv(dir, nil, &serveOut, io.Discard))
	}()
	defer func() {
		cancel()
		if code := <-served; code != exitOK {
			t.Errorf("bot demo --serve: exit %d", code)
		}
	}()
	envFile := filepath.Join(dir, "discord.env")
	for deadline := time.Now().Add(10 * time.Second); !fileExists(envFile); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("bot demo --serve wrote no variables within 10s")
		}
	}
	raw, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Fields(string(raw))
	environ := append(vars, "BOT_HTTP_LISTEN=")

	if code, out, errOut := runCLI(t, dir, environ, "init"); code != exitOK {
		t.Fatalf("bot init: exit %d\n%s%s", code, out, errOut)
	}
	bot := &runningBot{done: make(chan int, 1)}
	runCtx, stopBot := context.WithCancel(context.Background())
	bot.cancel = stopBot
	go func() { bot.done <- run(runCtx, []string{"run"}, testEnv(dir, environ, io.Discard, bot)) }()
	defer bot.stop(t)

	// Until the bot has registered its commands, invoke says so; then it
	// plays the command.
	var out, errOut string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var code int
		code, out, errOut = runCLI(t, dir, nil, "demo", "invoke", "--env-file", "discord.env", "--as", "moderator", "/warn", "user:@bob", "reason:spamming invites")
		if code == exitOK {
			break
		}
		if !strings.Contains(errOut, "has not registered /warn") || time.Now().After(deadline) {
			t.Fatalf("bot demo invoke: exit %d\n%s%s\nthe bot's log:\n%s", code, out, errOut, bot.log())
		}
	}
	for _, want := range []string{"alice: /warn reason:\"spamming invites\" user:@bob", "case #1", "bot sent bob a DM"} {
		if !strings.Contains(out, want) {
			t.Errorf("invoke output lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"export BOT_DISCORD_TOKEN=", "export BOT_DISCORD_GATEWAY_URL=ws://127.0.0.1:", "bot demo invoke --as moderator"} {
		if !strings.Contains(serveOut.String(), want) {
			t.Errorf("serve output lacks %q:\n%s", want, serveOut.String())
		}
	}

	// The token is the control endpoint's password.
	bad := withEnv(nil, "DISCORDTEST_CONTROL_URL="+envValue(vars, "DISCORDTEST_CONTROL_URL"), "BOT_DISCORD_TOKEN=wrong")
	if code, _, errOut := runCLI(t, dir, bad, "demo", "invoke", "/ping"); code != exitFailure || !strings.Contains(errOut, "wrong or missing BOT_DISCORD_TOKEN") {
		t.Errorf("invoke with a wrong token: exit %d, stderr %q; want refused", code, errOut)
	}
}

func envValue(vars []string, key string) string {
	v, _ := lookupEnv(vars, key)
	return v
}
