package releasecheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The README's "Run it for your server", done by an owner who has only
// unpacked the archive for their machine: `./bot init`, the token in the
// environment, `./bot invite`, `./bot run`, then a moderator's /warn,
// `./bot backup` and `./bot health`. Discord is the local one of
// `bot demo --serve`, run by the same unpacked binary, so nothing but the
// archive is used: PATH names an empty directory.
func TestReleaseWalkthrough(t *testing.T) {
	d := distFromEnv(t, "RELEASE_DIST")
	if runtime.GOOS == "windows" {
		t.Skip("the walk-through runs the README's shell steps")
	}
	tg := target{goos: runtime.GOOS, goarch: runtime.GOARCH}
	if tg.goarch == "arm" {
		tg.goarm = "7"
	}
	name := tg.archiveName(d.version)
	files := readArchive(t, d.path(name))

	root := t.TempDir()
	work := filepath.Join(root, "bot")        // where the owner unpacks the archive
	discord := filepath.Join(root, "discord") // the local Discord's own directory
	empty := filepath.Join(root, "empty-path")
	home := filepath.Join(root, "home")
	for _, dir := range []string{work, discord, empty, home} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unpack(t, files, work)
	bin := filepath.Join(work, "bot")
	base := []string{"PATH=" + empty, "HOME=" + home}

	// Cancelled after every other clean-up, which stops the processes
	// first with SIGINT.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)

	// The local Discord, until the test ends; it writes its variables to
	// discord.env once it listens.
	envFile := filepath.Join(discord, "discord.env")
	serve := startBot(ctx, t, "discord", discord, base, bin, "demo", "--serve", "--env-file", envFile)
	vars := waitForEnvFile(t, serve, envFile)
	for _, k := range []string{"BOT_DISCORD_TOKEN", "BOT_DISCORD_API_URL", "BOT_DISCORD_GATEWAY_URL", "BOT_DISCORD_GUILD_IDS", "DISCORDTEST_CONTROL_URL"} {
		if vars[k] == "" {
			t.Fatalf("bot demo --serve wrote no %s to %s", k, envFile)
		}
	}

	out := runBot(ctx, t, work, base, "./bot", "version")
	mustContain(t, "bot version", out, "bot "+d.version+" (commit ")
	if strings.Contains(out, "commit none") || strings.Contains(out, "commit unknown") {
		t.Errorf("bot version names no commit: goreleaser did not read git (%s)", strings.TrimSpace(out))
	}

	// 1. ./bot init, with no token yet.
	out = runBot(ctx, t, work, base, "./bot", "init")
	mustContain(t, "bot init", out, "created the database")
	for _, p := range []string{"config.toml", "data/bot.db", "data/keys"} {
		if _, err := os.Stat(filepath.Join(work, p)); err != nil {
			t.Fatalf("after bot init: %v", err)
		}
	}
	if st, err := os.Stat(filepath.Join(work, "config.toml")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config.toml after bot init: %v, mode %v; the README promises 0600", err, st.Mode().Perm())
	}

	// 2. export BOT_DISCORD_TOKEN=…, here with the local Discord's
	// addresses, which an owner never sets. http.listen gets a free port,
	// so that a CI machine's 8081 does not matter.
	runEnv := append(append([]string{}, base...),
		"BOT_DISCORD_TOKEN="+vars["BOT_DISCORD_TOKEN"],
		"BOT_DISCORD_API_URL="+vars["BOT_DISCORD_API_URL"],
		"BOT_DISCORD_GATEWAY_URL="+vars["BOT_DISCORD_GATEWAY_URL"],
		"BOT_DISCORD_GUILD_IDS="+vars["BOT_DISCORD_GUILD_IDS"],
		"BOT_HTTP_LISTEN="+freeLoopbackAddr(t),
	)

	// 3. ./bot invite.
	out = runBot(ctx, t, work, runEnv, "./bot", "invite")
	mustContain(t, "bot invite", out, "https://discord.com/oauth2/authorize?client_id=")

	// 4. ./bot run, until it says it is ready.
	botRun := startBot(ctx, t, "bot run", work, runEnv, "./bot", "run")
	botRun.waitFor(t, "bot is ready", time.Minute)

	// 5. A moderator warns bob.
	out = runBot(ctx, t, discord, base, bin, "demo", "invoke", "--env-file", envFile,
		"--as", "moderator", "/warn", "user:@bob", "reason:spam")
	mustContain(t, "/warn", out, "case #1")
	mustContain(t, "/warn", out, "bot sent bob a DM")

	// 6. ./bot backup, while the bot runs.
	out = runBot(ctx, t, work, runEnv, "./bot", "backup")
	mustContain(t, "bot backup", out, "Verified")
	backups, err := filepath.Glob(filepath.Join(work, "data", "backups", "*.db"))
	if err != nil || len(backups) != 1 {
		t.Errorf("after bot backup, data/backups holds %v (%v), want one backup", backups, err)
	}

	// 7. ./bot health: healthy, and it sees the running bot.
	out = runBot(ctx, t, work, runEnv, "./bot", "health")
	mustContain(t, "bot health", out, "running and connected")
	mustContain(t, "bot health", out, "healthy")

	// The bot stops cleanly on SIGINT, as on Ctrl-C.
	if err := botRun.stop(); err != nil {
		t.Errorf("bot run did not stop cleanly on SIGINT: %v\n%s", err, botRun.output())
	}
}

// proc is a bot started in the background, with its output kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error

	mu  sync.Mutex
	out bytes.Buffer
	// seen is signalled on every new line of output.
	seen chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(b)
	select {
	case p.seen <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startBot runs bin args in dir with exactly env, until stop or the end of
// the test.
func startBot(ctx context.Context, t *testing.T, name, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan error, 1), seen: make(chan struct{}, 1)}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(os.Interrupt) }
	p.cmd.WaitDelay = 20 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Logf("%s: %v", name, err)
		}
	})
	return p
}

// stop interrupts the process and waits for it; a second call returns the
// same outcome.
func (p *proc) stop() error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		return fmt.Errorf("still running 30s after SIGINT, killed (%v)", err)
	}
}

// waitFor waits until the output holds s, and fails if the process exits
// first or the time runs out.
func (p *proc) waitFor(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.seen:
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited (%v) before saying %q:\n%s", p.name, err, s, p.output())
		case <-deadline:
			t.Fatalf("%s did not say %q within %v:\n%s", p.name, s, limit, p.output())
		}
	}
}

// waitForEnvFile waits for bot demo --serve to write its variables.
func waitForEnvFile(t *testing.T, p *proc, path string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			vars := map[string]string{}
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					vars[k] = v
				}
			}
			return vars
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited (%v) before writing %s:\n%s", p.name, err, path, p.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not write %s within a minute:\n%s", p.name, path, p.output())
		}
	}
}

// runBot runs one command to its end and returns its output; a non-zero
// exit fails the test.
func runBot(ctx context.Context, t *testing.T, dir string, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", bin, strings.Join(args, " "), out.String())
	if err != nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return out.String()
}

func mustContain(t *testing.T, what, out, s string) {
	t.Helper()
	if !strings.Contains(out, s) {
		t.Errorf("%s: output lacks %q", what, s)
	}
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port nothing
// listens on at the moment.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// walkedSteps are the commands of the README's "Run it for your server"
// that TestReleaseWalkthrough runs, in order, as the README writes them.
var walkedSteps = []string{"./bot init", "export BOT_DISCORD_TOKEN=…", "./bot invite", "./bot run"}

// The walk-through follows the README, not a copy of it that could drift:
// the section's commands are exactly those it runs, and the commands it
// names to check on the bot afterwards are the two the walk-through ends
// with. A step added to the README fails here until the walk-through runs
// it too.
func TestReadmeStepsWalked(t *testing.T) {
	data, err := os.ReadFile(repo + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Run it for your server\n")
	if !ok {
		t.Fatal(`README.md has no "## Run it for your server" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var steps []string
	in := false
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "```"):
			in = !in
		case in && line != "":
			cmd, _, _ := strings.Cut(line, "#")
			steps = append(steps, strings.TrimSpace(cmd))
		}
	}
	if !slices.Equal(steps, walkedSteps) {
		t.Errorf("README.md's \"Run it for your server\" runs %q; TestReleaseWalkthrough runs %q: make them agree", steps, walkedSteps)
	}
	for _, s := range []string{"`./bot health`", "`./bot backup`"} {
		if !strings.Contains(section, s) {
			t.Errorf("README.md's \"Run it for your server\" no longer names %s, which the walk-through ends with", s)
		}
	}
}
