package packagingcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/config"
)

// packagedBinary is where the packages install bot, as the units name it.
const packagedBinary = "/usr/bin/bot"

// verifyUnits copies the units into a temporary directory, after applying
// edit to each, and runs `systemd-analyze verify` on the copies. It returns
// what verify printed and its error.
//
// verify refuses an ExecStart= whose binary is missing, and the test
// machine has no /usr/bin/bot: the copies start an executable stub in the
// temporary directory instead, and nothing else in them changes.
func verifyUnits(t *testing.T, analyze string, edit func(name, text string) string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	stub := filepath.Join(dir, "bot")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, name := range unitNames {
		data, err := os.ReadFile(filepath.Join(unitsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if strings.HasSuffix(name, ".service") {
			n := strings.Count(text, "ExecStart="+packagedBinary+" ")
			if n != 1 {
				t.Fatalf("%s: %d ExecStart= lines starting %s, want 1", name, n, packagedBinary)
			}
			text = strings.ReplaceAll(text, "="+packagedBinary+" ", "="+stub+" ")
		}
		text = edit(name, text)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// The man page comes with the package, not with the test machine.
	stdout, stderr, err := run(t, analyze, append([]string{"verify", "--man=no"}, paths...)...)
	return strings.TrimSpace(stdout + stderr), err
}

// TestUnitsVerify runs `systemd-analyze verify` on the units. It exits 0
// on a misspelt key or a value it cannot parse, only warning: any output
// fails the test.
func TestUnitsVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	out, err := verifyUnits(t, analyze, func(_, text string) string { return text })
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestUnitsVerifyCatchesMistakes proves that the check above can fail: a
// misspelt directive, values systemd cannot parse, and an unknown system
// call group each make verify speak.
func TestUnitsVerifyCatchesMistakes(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	for _, c := range []struct{ name, unit, from, to string }{
		{"misspelt key", "bot.service", "\nProtectHome=yes\n", "\nProtectHme=yes\n"},
		{"bad value", "bot.service", "\nRestartSec=10s\n", "\nRestartSec=ten\n"},
		{"bad syscall group", "bot.service", "\nSystemCallFilter=@system-service\n", "\nSystemCallFilter=@system-servic\n"},
		{"bad calendar", "bot-backup.timer", "\nOnCalendar=daily\n", "\nOnCalendar=dialy\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := verifyUnits(t, analyze, func(name, text string) string {
				if name != c.unit {
					return text
				}
				if !strings.Contains(text, c.from) {
					t.Fatalf("%s has no %q to change", name, c.from)
				}
				return strings.Replace(text, c.from, c.to, 1)
			})
			if err == nil && out == "" {
				t.Fatal("systemd-analyze verify said nothing")
			}
			t.Logf("verify: %v: %s", err, out)
		})
	}
}

// maxExposure is the highest `systemd-analyze security` exposure each
// service may have. bot.service scores 1.1 with systemd 252 ("OK" runs to
// 4.9); the margin absorbs the weights of other systemd versions, not a
// sandbox setting removed.
var maxExposure = map[string]float64{
	"bot.service":        2.0,
	"bot-backup.service": 1.0,
}

var exposureLine = regexp.MustCompile(`Overall exposure level for (\S+): ([0-9.]+) (\S+)`)

// TestUnitsSecurity scores each service's sandbox with `systemd-analyze
// security --offline=yes`, which reads the unit file as it stands, and
// fails above maxExposure. The log shows the score and what it counts.
func TestUnitsSecurity(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	for name, limit := range maxExposure {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, err := run(t, analyze, "security", "--offline=yes", "--no-pager",
				filepath.Join(unitsDir, name))
			if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s%s", err, stdout, stderr)
			}
			m := exposureLine.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("no overall exposure in:\n%s%s", stdout, stderr)
			}
			score, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			var open []string
			for line := range strings.Lines(stdout) {
				if strings.HasPrefix(line, "✗") {
					open = append(open, strings.Join(strings.Fields(line)[1:], " "))
				}
			}
			t.Logf("%s: exposure %.1f %s; not covered:\n  %s", name, score, m[3], strings.Join(open, "\n  "))
			if score > limit {
				t.Errorf("%s: exposure %.1f, above %.1f", name, score, limit)
			}
		})
	}
}

// TestUnitSettings holds the units to the paths and behaviour the packages
// and the documentation promise, which verify cannot know.
func TestUnitSettings(t *testing.T) {
	us := readUnits(t)
	want := func(name, section, key, value string) {
		t.Helper()
		if got, ok := us[name].get(section, key); !ok || got != value {
			t.Errorf("%s: [%s] %s=%q, want %q", name, section, key, got, value)
		}
	}
	for _, name := range []string{"bot.service", "bot-backup.service"} {
		want(name, "Service", "User", "bot")
		want(name, "Service", "Group", "bot")
		want(name, "Service", "EnvironmentFile", "-/etc/bot/bot.env")
		want(name, "Service", "StateDirectory", "bot")
		want(name, "Service", "StateDirectoryMode", "0700")
		want(name, "Service", "WorkingDirectory", "/var/lib/bot")
		want(name, "Service", "ProtectSystem", "strict")
		want(name, "Service", "NoNewPrivileges", "yes")
		want(name, "Service", "PrivateTmp", "yes")
		if f := us[name]["Service"]["SystemCallFilter"]; len(f) == 0 || f[0] != "@system-service" {
			t.Errorf("%s: SystemCallFilter= %q, want @system-service first", name, f)
		}
	}
	want("bot.service", "Service", "ExecStart", packagedBinary+" run -c /etc/bot/config.toml")
	want("bot.service", "Service", "ExecReload", "/bin/kill -HUP $MAINPID")
	want("bot.service", "Service", "Restart", "on-failure")
	want("bot.service", "Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")
	want("bot.service", "Install", "WantedBy", "multi-user.target")
	want("bot-backup.service", "Service", "Type", "oneshot")
	if exec, _ := us["bot-backup.service"].get("Service", "ExecStart"); !strings.HasPrefix(exec, packagedBinary+" backup ") ||
		!strings.HasSuffix(exec, " -c /etc/bot/config.toml") {
		t.Errorf("bot-backup.service: ExecStart=%q, want %s backup … -c /etc/bot/config.toml", exec, packagedBinary)
	}
	if _, ok := us["bot-backup.service"]["Install"]; ok {
		t.Error("bot-backup.service has an [Install] section: the timer starts it, nothing enables it")
	}
	want("bot-backup.timer", "Timer", "OnCalendar", "daily")
	want("bot-backup.timer", "Timer", "Persistent", "true")
	want("bot-backup.timer", "Install", "WantedBy", "timers.target")
	if _, ok := us["bot-backup.timer"].get("Timer", "RandomizedDelaySec"); !ok {
		t.Error("bot-backup.timer: no RandomizedDelaySec=")
	}

	// systemd kills the bot TimeoutStopSec= after SIGTERM: it must outlast
	// the shutdown the bot promises (run.shutdown_timeout), the gateway's
	// close and the checkpoint after it.
	cfg, _, err := config.Load(config.Source{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stopText, _ := us["bot.service"].get("Service", "TimeoutStopSec")
	stop, err := systemdSeconds(stopText)
	if err != nil {
		t.Fatalf("bot.service: TimeoutStopSec=%q: %v", stopText, err)
	}
	if least := cfg.Run.ShutdownTimeout + 30*time.Second; stop < least {
		t.Errorf("bot.service: TimeoutStopSec=%s, below run.shutdown_timeout (%s) + 30s", stopText, cfg.Run.ShutdownTimeout)
	}
}

// TestBackupSandboxMatches keeps bot-backup.service in the sandbox of
// bot.service: each setting of bot.service that is not about running the
// bot itself appears in bot-backup.service with the same value, unless
// listed as narrower there. The backup may add settings of its own.
func TestBackupSandboxMatches(t *testing.T) {
	us := readUnits(t)
	own := []string{"Type", "ExecStart", "ExecReload", "Restart", "RestartSec", "TimeoutStopSec"}
	narrower := map[string]string{
		// A backup needs no network.
		"RestrictAddressFamilies": "AF_UNIX",
	}
	run, backup := us["bot.service"]["Service"], us["bot-backup.service"]["Service"]
	for key, vs := range run {
		if slices.Contains(own, key) {
			continue
		}
		if v, ok := narrower[key]; ok {
			vs = []string{v}
		}
		if got := backup[key]; !slices.Equal(got, vs) {
			t.Errorf("bot-backup.service: %s= %q, bot.service has %q", key, got, vs)
		}
	}
}

// systemdSeconds parses the time spans the units use: a number of
// seconds, or numbers with the units s, min and h.
func systemdSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "min", "m"), " ", "")
	return time.ParseDuration(s)
}
