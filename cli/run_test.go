package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// runningBot is `bot run` started in-process against a discordtest server.
type runningBot struct {
	cancel context.CancelFunc
	done   chan int
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (r *runningBot) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.Write(p)
}

func (r *runningBot) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// stop sends the equivalent of SIGTERM and returns the exit code.
func (r *runningBot) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("bot run did not stop within 15s of the signal")
		return -1
	}
}

func fakeEnv(srv *discordtest.Server, g *discordtest.Guild) []string {
	return []string{
		"BOT_DISCORD_TOKEN=" + srv.Token(),
		"BOT_DISCORD_API_URL=" + srv.APIURL(),
		"BOT_DISCORD_GATEWAY_URL=" + srv.GatewayURL(),
		"BOT_DISCORD_GUILD_IDS=" + g.ID.String(),
		"BOT_HTTP_LISTEN=",
		"BOT_LOG_LEVEL=debug",
	}
}

// startRun runs `bot run` in dir and waits until the commands are
// registered with the fake.
func startRun(t *testing.T, dir string, environ []string, srv *discordtest.Server, g *discordtest.Guild) *runningBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningBot{cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, []string{"run"}, testEnv(dir, environ, &bytes.Buffer{}, r))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Commands(g.ID)) == 0 || !strings.Contains(r.log(), "bot is ready") {
		select {
		case code := <-r.done:
			t.Fatalf("bot run exited with %d during start-up:\n%s", code, r.log())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("bot run not ready within 10s:\n%s", r.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

func TestRunEndToEnd(t *testing.T) {
	srv := discordtest.NewServer(discordtest.WithSpec(discordtest.SpecPath()))
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	member := g.AddMember(discordtest.MemberOptions{Username: "member"})
	dir := initDir(t)
	environ := fakeEnv(srv, g)

	r := startRun(t, dir, environ, srv, g)
	if n := len(srv.RequestsTo("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")); n != 1 {
		t.Errorf("command registrations got=%d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in, err := srv.InvokeSlash(ctx, g, member, "ping", nil)
	if err != nil || !strings.HasPrefix(in.Content, "Pong!") {
		t.Fatalf("/ping: %v, %+v", err, in)
	}

	t.Run("LockRefusesSecondInstance", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, environ, "run")
		if code != exitFailure || !strings.Contains(errOut, "is in use by process") {
			t.Errorf("second bot run: exit %d, stderr %q; want a refusal naming the process", code, errOut)
		}
	})

	if code := r.stop(t); code != exitOK {
		t.Fatalf("bot run exit code got=%d, want 0:\n%s", code, r.log())
	}
	log := r.log()
	if strings.Contains(log, srv.Token()) {
		t.Error("the token appears in the log")
	}
	for _, want := range []string{"loaded command modules", "/ping", "shutting down", "stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}

	t.Run("CleanShutdownLeavesEmptyWAL", func(t *testing.T) {
		path := filepath.Join(dir, "data", "bot.db")
		if st, err := os.Stat(path + "-wal"); err == nil && st.Size() != 0 {
			t.Errorf("WAL after shutdown: %d bytes, want none", st.Size())
		}
		db, err := storage.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.IntegrityCheck(context.Background()); err != nil {
			t.Error(err)
		}
	})

	t.Run("UnchangedCommandsNotRegisteredAgain", func(t *testing.T) {
		r := startRun(t, dir, environ, srv, g)
		defer r.stop(t)
		if n := len(srv.RequestsTo("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")); n != 1 {
			t.Errorf("command registrations after a restart got=%d, want still 1", n)
		}
	})
}

func TestRunRequiresToken(t *testing.T) {
	dir := initDir(t)
	code, _, errOut := runCLI(t, dir, nil, "run")
	if code != exitFailure || !strings.Contains(errOut, "BOT_DISCORD_TOKEN") {
		t.Errorf("got exit %d, stderr %q; want an error naming BOT_DISCORD_TOKEN", code, errOut)
	}
}

// withEnv returns environ with each KEY=value of set replacing any earlier
// setting of KEY.
func withEnv(environ []string, set ...string) []string {
	out := make([]string, 0, len(environ)+len(set))
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for _, s := range set {
			if k, _, _ := strings.Cut(s, "="); k == key {
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// TestDebugLogHoldsNoPersonalData: at log.level=debug, a /warn's reason
// (sent to Discord in the reply, the DM and the modlog post) and the
// member's ID appear nowhere in the log.
func TestDebugLogHoldsNoPersonalData(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	modlog := g.AddTextChannel("modlog")
	mods := g.AddRole("Mods", discord.PermissionModerateMembers, 5)
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{mods}})
	member := g.AddMember(discordtest.MemberOptions{Username: "member"})
	dir := initDir(t)
	r := startRun(t, dir, fakeEnv(srv, g), srv, g)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.InvokeSlash(ctx, g, g.Owner(), "config modlog", discordtest.Options{"channel": modlog}); err != nil {
		t.Fatal(err)
	}
	const reason = "xyzzy-private-reason"
	in, err := srv.InvokeSlash(ctx, g, mod, "warn", discordtest.Options{"user": member, "reason": reason})
	if err != nil || !strings.Contains(in.Content, "case #1") {
		t.Fatalf("/warn: %v %+v", err, in)
	}
	r.stop(t)
	log := r.log()
	if !strings.Contains(log, `"level":"DEBUG"`) {
		t.Fatal("the log has no debug lines; the test would prove nothing")
	}
	for _, secret := range []string{reason, member.ID.String()} {
		if strings.Contains(log, secret) {
			t.Errorf("the debug log contains %q", secret)
		}
	}
}

// TestRunStoppedWhileOpening checks that a stop asked for before the
// database is open (systemctl stop straight after start) ends the run
// quietly, with no advice to restore a backup and the database unchanged.
func TestRunStoppedWhileOpening(t *testing.T) {
	dir := initDir(t)
	db := filepath.Join(dir, "data", "bot.db")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"run"}, testEnv(dir, []string{"BOT_DISCORD_TOKEN=" + plantedToken, "BOT_HTTP_LISTEN="}, &out, &errOut))
	if code != exitOK {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, errOut.String())
	}
	if strings.Contains(errOut.String(), "restore") || strings.Contains(errOut.String(), "ERROR") {
		t.Errorf("a stop during start-up reads as damage:\n%s", errOut.String())
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the database changed")
	}
}
