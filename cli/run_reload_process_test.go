package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modbot/bot/bot"
	"github.com/modbot/bot/discordtest"
)

// TestReloadSignal runs `bot run` as a real process, rewrites its
// configuration file and sends it SIGHUP: the new limits apply and the
// commands move to the new guild without the gateway identifying or
// resuming again. A file that is then made invalid changes nothing, and
// the log names its key and line.
func TestReloadSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real process")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := discordtest.NewServer()
	defer srv.Close()
	first := srv.AddGuild(discordtest.GuildOptions{})
	second := srv.AddGuild(discordtest.GuildOptions{})
	member := second.AddMember(discordtest.MemberOptions{Username: "member"})
	dir := initDir(t)
	file := filepath.Join(dir, "reload.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf("[discord]\nguild_ids = [%q]\n[limits]\nmember_burst = 100\n", first.ID))

	var out lockedBuffer
	cmd := exec.Command(bin, "run", "-c", file)
	env := withEnv(os.Environ(), "BOT_DISCORD_TOKEN="+srv.Token(), "BOT_DISCORD_API_URL="+srv.APIURL(),
		"BOT_DISCORD_GATEWAY_URL="+srv.GatewayURL(), "BOT_HTTP_LISTEN=", "BOT_LOG_LEVEL=info", childEnv+"=1")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	waitFor(t, "bot ready", 20*time.Second, func() bool {
		return strings.Contains(out.String(), "bot is ready") && len(srv.Commands(first.ID)) > 0
	}, out.String)
	connects := gatewayConnects(srv)

	write(fmt.Sprintf("[discord]\nguild_ids = [%q]\n[limits]\nmember_burst = 1\nmember_every = \"1h\"\n", second.ID))
	hup := func() {
		t.Helper()
		if err := syscall.Kill(cmd.Process.Pid, syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	waitFor(t, "the reload", 20*time.Second, func() bool { return strings.Contains(out.String(), "configuration reloaded") }, out.String)
	if n := len(srv.Commands(second.ID)); n != len(bot.Definitions()) {
		t.Errorf("the new guild has %d commands, want %d", n, len(bot.Definitions()))
	}
	if n := len(srv.Commands(first.ID)); n != 0 {
		t.Errorf("the guild dropped from the list has %d commands, want 0", n)
	}
	if strings.Contains(out.String(), "only after a restart") {
		t.Errorf("log=%s\nwant no setting reported as needing a restart", out.String())
	}
	slash := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		in, err := srv.InvokeSlash(ctx, second, member, "mywarnings", nil)
		if err != nil {
			t.Fatal(err)
		}
		return in.Content
	}
	if got := slash(); strings.Contains(got, "slow down") {
		t.Errorf("first command got=%q, want it answered", got)
	}
	if got := slash(); !strings.Contains(got, "try again in 3600 s") {
		t.Errorf("second command got=%q, want it refused by the reloaded limit of one an hour", got)
	}

	write("[discord]\nguild_ids = []\n[limits]\nmember_burst = \"lots\"\n")
	hup()
	waitFor(t, "the refusal", 20*time.Second, func() bool { return strings.Contains(out.String(), "was not reloaded") }, out.String)
	log := out.String()
	if !strings.Contains(log, "limits.member_burst") || !strings.Contains(log, "reload.toml:4") {
		t.Errorf("log=%s\nwant the refusal naming limits.member_burst and reload.toml:4", log)
	}
	if n := len(srv.Commands(second.ID)); n != len(bot.Definitions()) || len(srv.Commands(0)) != 0 {
		t.Errorf("after an invalid file: %d commands in the guild, %d global; want the registration unchanged", n, len(srv.Commands(0)))
	}
	if got := slash(); !strings.Contains(got, "try again in") {
		t.Errorf("after an invalid file got=%q, want the running limit kept", got)
	}
	if got := gatewayConnects(srv); got != connects {
		t.Errorf("gateway IDENTIFY+RESUME count went from %d to %d, want no reconnection", connects, got)
	}
}

// gatewayConnects counts the IDENTIFYs and RESUMEs srv has received.
func gatewayConnects(srv *discordtest.Server) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && (m.Op == 2 || m.Op == 6) {
			n++
		}
	}
	return n
}
