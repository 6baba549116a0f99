package packagingcheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServiceBoots boots systemd in a container and runs the service there
// under its whole sandbox, as an owner would after installing the package:
// postinstall, `bot init` as the user bot, start, READY against a local
// Discord, a /warn, reload, a backup while it runs, an upgrade's restart,
// stop, the timer, then preremove and postremove. The container is
// systemd-nspawn on an overlay of this machine's root (changes go to a
// tmpfs and vanish), with a network of its own that has only loopback.
//
// It needs root, systemd-nspawn (Debian's systemd-container) and curl, and
// runs only when asked (SYSTEMD_BOOT_CHECK=1, make systemd-boot-check).
func TestServiceBoots(t *testing.T) {
	if os.Getenv("SYSTEMD_BOOT_CHECK") != "1" {
		t.Skip("run by make systemd-boot-check (SYSTEMD_BOOT_CHECK=1, as root)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("booting a container needs root")
	}
	var tools []string
	for _, name := range []string{"systemd-nspawn", "unshare", "mount", "curl", "runuser"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not installed (Debian: systemd-container, util-linux, mount, curl)", name)
		}
		tools = append(tools, p)
	}
	nspawn, unshare := tools[0], tools[1]

	stage, err := os.MkdirTemp("", "packagingcheck-boot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stage) })
	if err := os.Chmod(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	buildBot(t, stage)
	for _, name := range unitNames {
		copyFile(t, filepath.Join(unitsDir, name), filepath.Join(stage, name), 0o644)
	}
	for _, name := range scriptNames {
		copyFile(t, filepath.Join(scriptsDir, name), filepath.Join(stage, name), 0o755)
	}
	for _, name := range []string{"driver.sh", "bottest.service", "bottest.target"} {
		copyFile(t, filepath.Join("testdata/boot", name), filepath.Join(stage, name), 0o755)
	}
	mustWrite(t, filepath.Join(stage, "config.toml"), packagedConfig(t), 0o644)
	mustMkdir(t, filepath.Join(stage, "out"))

	// The overlay and its tmpfs are mounted in a mount namespace of their
	// own, so they go when the container ends, whatever happens.
	boot := `set -e
ovl="$1/overlay"
mkdir -p "$ovl"
mount -t tmpfs tmpfs "$ovl"
mkdir "$ovl/upper" "$ovl/work" "$ovl/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$ovl/root"
cp "$1/bottest.service" "$1/bottest.target" "$ovl/root/etc/systemd/system/"
exec "$2" --directory="$ovl/root" --private-network --register=no --keep-unit --link-journal=no --quiet \
	--bind="$1:/opt/t" --boot -- --unit=bottest.target
`
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", boot, "boot", stage, nspawn)
	// SIGTERM asks nspawn to power the container off.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	console, err := os.Create(filepath.Join(stage, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	cmd.Stdout, cmd.Stderr = console, console
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("container ran %s (%v)", time.Since(start).Round(time.Second), runErr)

	results := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(stage, "out/results")); err == nil {
		for line := range strings.Lines(string(data)) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
			results[k] = strings.TrimSpace(v)
		}
	}
	want := map[string]string{
		"postinstall": "0", "user_home": "/var/lib/bot", "user_shell": "/usr/sbin/nologin",
		"mode_config": "root:bot 640", "mode_env": "root:bot 640", "mode_data": "bot:bot 700",
		"init": "0", "start": "0", "ready": "200", "warned": "yes",
		"seccomp": "2", "nonewprivs": "1", "capeff": "0000000000000000", "capbnd": "0000000000000000", "uid_is_bot": "yes",
		"reload": "0", "reloaded": "yes", "metrics": "200", "page": "200",
		"backup": "success", "backup_file": "yes",
		"upgrade": "0", "upgrade_restart": "yes",
		"stop": "success", "stop_status": "0", "restarts": "0", "journal_problems": "0",
		"timer": "active",
		"prerm": "0", "enabled": "disabled disabled", "active": "inactive inactive",
		"postrm": "0", "data_kept": "yes", "user_kept": "yes",
		"finished": "yes",
	}
	failed := false
	for k, v := range want {
		if results[k] != v {
			t.Errorf("%s = %q, want %q", k, results[k], v)
			failed = true
		}
	}
	score, err := strconv.ParseFloat(results["security"], 64)
	switch {
	case err != nil:
		t.Errorf("security = %q: %v", results["security"], err)
		failed = true
	case score > maxExposure["bot.service"]:
		t.Errorf("systemd-analyze security bot.service in the container: %.1f, above %.1f", score, maxExposure["bot.service"])
		failed = true
	default:
		t.Logf("systemd-analyze security bot.service, on the running system: %.1f", score)
	}
	if failed {
		for _, name := range []string{"out/driver.log", "out/journal.txt", "out/status-removed.txt", "out/journal-removed.txt", "console.log"} {
			data, _ := os.ReadFile(filepath.Join(stage, name))
			t.Logf("%s:\n%s", name, tail(string(data), 8000))
		}
	}
}

// packagedConfig returns the configuration the packages install:
// packaging/config.toml, or, until it exists, config.example.toml with the
// packaged data directory.
func packagedConfig(t *testing.T) string {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(repoRoot, "packaging/config.toml")); err == nil {
		return string(data)
	}
	example := readFile(t, filepath.Join(repoRoot, "config.example.toml"))
	const line = `data_dir = "data"`
	if !strings.Contains(example, "\n"+line+"\n") {
		t.Fatalf("config.example.toml has no %s line to change", line)
	}
	return strings.Replace(example, line, `data_dir = "/var/lib/bot"`, 1)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	mustWrite(t, to, readFile(t, from), mode)
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
