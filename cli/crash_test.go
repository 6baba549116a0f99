//go:build unix

package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// lockedBuffer collects a child's output for polling while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCrashSafety runs `bot run` as a real process, streams /warns at it and
// kills it with SIGKILL at a random moment, again and again. After each
// kill, every warning the moderator saw acknowledged must be in the
// database, the database must pass integrity_check, and no case number may
// repeat. BOT_LONG_TESTS=1 (make test-long) runs 200 cycles instead of 20.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	cycles := 20
	if os.Getenv("BOT_LONG_TESTS") != "" {
		cycles = 200
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	modRole := g.AddRole("Mods", discord.PermissionModerateMembers, 5)
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{modRole}})
	target := g.AddMember(discordtest.MemberOptions{Username: "target"})
	dir := initDir(t)
	environ := withEnv(append(os.Environ(), fakeEnv(srv, g)...), "BOT_LOG_LEVEL=info", "BOT_RUN_SHUTDOWN_TIMEOUT=1s")

	acked := map[string]bool{} // reasons the moderator saw acknowledged
	streamed := 0              // cycles that killed a bot taking /warns
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for cycle := range cycles {
		var out lockedBuffer
		// The test binary is the bot: TestMain runs main when childEnv is set.
		cmd := exec.Command(bin, "run")
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, append(environ, childEnv+"=1"), &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(5) == 0 {
			// Some kills land during start-up: opening, migrating,
			// connecting.
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			checkCrashDB(t, dir, g.ID.String(), target.ID.String(), acked, cycle)
			continue
		}
		waitFor(t, fmt.Sprintf("cycle %d: bot ready", cycle), 20*time.Second, func() bool {
			return strings.Contains(out.String(), "bot is ready")
		}, out.String)

		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var wg sync.WaitGroup
		for stream := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					reason := fmt.Sprintf("crash-%d-%d-%d", cycle, stream, i)
					in, err := srv.InvokeSlash(ctx, g, mod, "warn", discordtest.Options{"user": target, "reason": reason})
					if err == nil && strings.Contains(in.Content, "case #") {
						mu.Lock()
						acked[reason] = true
						mu.Unlock()
					}
				}
			}()
		}
		// The kill's moment is random from the first acknowledgement on,
		// so that every such cycle kills a bot that is writing, however
		// slow a loaded machine makes start-up.
		mu.Lock()
		before := len(acked)
		mu.Unlock()
		waitFor(t, fmt.Sprintf("cycle %d: a warning acknowledged", cycle), 20*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) > before
		}, out.String)
		streamed++
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cancel()
		wg.Wait()
		checkCrashDB(t, dir, g.ID.String(), target.ID.String(), acked, cycle)
	}
	if streamed == 0 {
		t.Errorf("no cycle killed a bot that was taking /warns; the test did not exercise the bot")
	}
	t.Logf("%d cycles (%d killed while taking /warns), %d acknowledged warnings, all present after every kill", cycles, streamed, len(acked))
}

// checkCrashDB opens the database the killed bot left behind and checks it.
func checkCrashDB(t *testing.T, dir, guildID, targetID string, acked map[string]bool, cycle int) {
	t.Helper()
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	db, err := storage.Open(ctx, filepath.Join(data, "bot.db"))
	if err != nil {
		t.Fatalf("cycle %d: reopen after SIGKILL: %v", cycle, err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatalf("cycle %d: %v", cycle, err)
	}
	kr, err := keys.Load(keys.Options{Dir: filepath.Join(data, "keys")})
	if err != nil {
		t.Fatal(err)
	}
	all, err := storage.NewCases(db, kr).ListForUser(ctx, guildID, targetID, true, time.Now())
	if err != nil {
		t.Fatalf("cycle %d: read cases: %v", cycle, err)
	}
	seen := map[int64]bool{}
	stored := map[string]bool{}
	for _, c := range all {
		if seen[c.Number] {
			t.Fatalf("cycle %d: case number %d appears twice", cycle, c.Number)
		}
		seen[c.Number] = true
		stored[c.Reason] = true
	}
	for reason := range acked {
		if !stored[reason] {
			t.Fatalf("cycle %d: the warning %q was acknowledged but is not in the database", cycle, reason)
		}
	}
	for n := int64(1); n <= int64(len(all)); n++ {
		if !seen[n] {
			t.Fatalf("cycle %d: case numbers have a gap at %d (of %d)", cycle, n, len(all))
		}
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s", what, detail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
