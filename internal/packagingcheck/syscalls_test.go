package packagingcheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nobody is the user the traced commands run as when the test runs as
// root: the service never runs as root, and SQLite behaves differently for
// root (it chowns the files it creates to the database's owner).
const nobody = 65534

// TestSyscallsInFilter runs `bot run` and `bot backup` under strace,
// through what the service does (start, READY against a local Discord, a
// /warn, the status page and /metrics, SIGHUP, a backup while it runs,
// SIGTERM), and checks that every system call they make is one the units'
// SystemCallFilter= allows. A call outside it would fail with EPERM under
// systemd. make systemd-check runs it (SYSTEMD_CHECK=1): it builds the bot
// and takes some seconds.
func TestSyscallsInFilter(t *testing.T) {
	if os.Getenv("SYSTEMD_CHECK") != "1" {
		t.Skip("run by make systemd-check (SYSTEMD_CHECK=1)")
	}
	analyze := need(t, "systemd-analyze", "systemd")
	strace := need(t, "strace", "strace")
	groups := syscallGroups(t, analyze)
	us := readUnits(t)

	dir, err := os.MkdirTemp("", "packagingcheck-syscalls-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var asUser []string
	if os.Geteuid() == 0 {
		setpriv := need(t, "setpriv", "util-linux")
		asUser = []string{setpriv, "--reuid=" + strconv.Itoa(nobody), "--regid=" + strconv.Itoa(nobody), "--clear-groups", "--"}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bot := buildBot(t, dir)
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.toml")
	example := readFile(t, filepath.Join(repoRoot, "config.example.toml"))
	const listen = `listen = "127.0.0.1:8081"`
	if !strings.Contains(example, "\n"+listen+"\n") {
		t.Fatalf("config.example.toml has no %s line to change", listen)
	}
	mustWrite(t, cfg, strings.Replace(example, listen, `listen = "`+addr+`"`, 1), 0o644)

	discord := serveDiscord(t, bot, dir)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	for _, kv := range discord {
		if strings.HasPrefix(kv, "BOT_") {
			env = append(env, kv)
		}
	}
	command := func(args ...string) *exec.Cmd {
		argv := slices.Concat(asUser, args)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Dir = env, dir
		return cmd
	}
	if out, err := command(bot, "init", "-c", cfg).CombinedOutput(); err != nil {
		t.Fatalf("bot init: %v\n%s", err, out)
	}

	runTrace := filepath.Join(dir, "run.trace")
	runCmd := command(strace, "-f", "-qq", "-o", runTrace, bot, "run", "-c", cfg)
	var runLog syncBuffer
	runCmd.Stdout, runCmd.Stderr = &runLog, &runLog
	if err := runCmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runCmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			runCmd.Process.Kill()
			<-done
		}
	})
	waitFor(t, "the bot ready", 60*time.Second, func() bool { return get(addr, "/readyz") == http.StatusOK })

	invoke := exec.Command(bot, "demo", "invoke", "--env-file", filepath.Join(dir, "discord.env"),
		"--as", "moderator", "/warn", "user:@bob", "reason:traced")
	invoke.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	if out, err := invoke.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Warned")) {
		t.Fatalf("/warn: %v\n%s", err, out)
	}
	for _, path := range []string{"/", "/metrics"} {
		if code := get(addr, path); code != http.StatusOK {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	backupTrace := filepath.Join(dir, "backup.trace")
	if out, err := command(strace, "-f", "-qq", "-o", backupTrace, bot, "backup", "--verify=full", "-c", cfg).CombinedOutput(); err != nil {
		t.Fatalf("bot backup while the bot runs: %v\n%s", err, out)
	}

	pid := childOf(t, runCmd.Process.Pid)
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", 20*time.Second, func() bool { return strings.Contains(runLog.String(), "configuration reloaded") })
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("bot run: %v\n%s", err, runLog.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("bot run did not stop on SIGTERM:\n%s", runLog.String())
	}

	for _, c := range []struct{ unit, trace string }{
		{"bot.service", runTrace},
		{"bot-backup.service", backupTrace},
	} {
		allowed := filterAllows(t, groups, us[c.unit]["Service"]["SystemCallFilter"])
		made := tracedCalls(t, c.trace)
		if len(made) < 20 {
			t.Fatalf("%s: only %d system calls traced: %q", c.trace, len(made), made)
		}
		var outside []string
		for _, sc := range made {
			if !allowed[sc] {
				outside = append(outside, sc)
			}
		}
		t.Logf("%s: %d distinct system calls: %s", c.unit, len(made), strings.Join(made, " "))
		if len(outside) > 0 {
			t.Errorf("%s: system calls outside SystemCallFilter= %q: %s", c.unit, us[c.unit]["Service"]["SystemCallFilter"], strings.Join(outside, " "))
		}
	}
}

// syscallGroups reads systemd's system call groups (@system-service and
// the rest) from `systemd-analyze syscall-filter`: each group's members,
// calls and groups alike.
func syscallGroups(t *testing.T, analyze string) map[string][]string {
	t.Helper()
	stdout, stderr, err := run(t, analyze, "syscall-filter", "--no-pager")
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v\n%s", err, stderr)
	}
	groups := map[string][]string{}
	group := ""
	for line := range strings.Lines(stdout) {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "@"):
			group = trimmed
		case trimmed == "" || strings.HasPrefix(line, "#"):
			group = ""
		case group != "" && !strings.HasPrefix(trimmed, "#"):
			groups[group] = append(groups[group], trimmed)
		}
	}
	if len(groups["@system-service"]) == 0 {
		t.Fatalf("no @system-service in systemd-analyze syscall-filter:\n%s", stdout)
	}
	return groups
}

// filterAllows returns the system calls a unit's SystemCallFilter= lines
// allow: an allow list first, then lists starting with ~ that take calls
// away, as systemd reads them.
func filterAllows(t *testing.T, groups map[string][]string, lines []string) map[string]bool {
	t.Helper()
	var expand func(name string, into map[string]bool, add bool)
	expand = func(name string, into map[string]bool, add bool) {
		if !strings.HasPrefix(name, "@") {
			if add {
				into[name] = true
			} else {
				delete(into, name)
			}
			return
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("unknown system call group %s", name)
		}
		for _, m := range members {
			expand(m, into, add)
		}
	}
	if len(lines) == 0 || strings.HasPrefix(lines[0], "~") {
		t.Fatalf("SystemCallFilter= %q does not start with an allow list", lines)
	}
	allowed := map[string]bool{}
	for _, line := range lines {
		add := !strings.HasPrefix(line, "~")
		for _, name := range strings.Fields(strings.TrimPrefix(line, "~")) {
			expand(name, allowed, add)
		}
	}
	return allowed
}

var straceCall = regexp.MustCompile(`^\d+\s+([a-z0-9_]+)\(`)

// tracedCalls returns the distinct system calls in an strace -f log.
func tracedCalls(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := straceCall.FindStringSubmatch(sc.Text()); m != nil {
			seen[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(seen))
}

// serveDiscord runs `bot demo --serve`, a local Discord on 127.0.0.1, until
// the test ends, and returns the variables it wrote to dir/discord.env.
func serveDiscord(t *testing.T, bot, dir string) []string {
	t.Helper()
	envFile := filepath.Join(dir, "discord.env")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bot, "demo", "--serve", "--env-file", envFile)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	waitFor(t, "bot demo --serve", 30*time.Second, func() bool {
		fi, err := os.Stat(envFile)
		return err == nil && fi.Size() > 0
	})
	var vars []string
	for line := range strings.Lines(readFile(t, envFile)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			vars = append(vars, line)
		}
	}
	return vars
}

// childOf returns the one child of pid: the bot under strace.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data))
	if len(f) != 1 {
		t.Fatalf("strace (pid %d) has children %q, want one", pid, f)
	}
	child, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// get returns the status of GET http://addr/path, or 0 when it fails.
func get(addr, path string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls ok until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a command's output and the test may
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
