package packagingcheck

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Where the packaged files live, from this package's directory.
const (
	repoRoot   = "../.."
	unitsDir   = repoRoot + "/packaging/systemd"
	scriptsDir = repoRoot + "/packaging/scripts"
)

// unitNames are the units the packages install.
var unitNames = []string{"bot.service", "bot-backup.service", "bot-backup.timer"}

// need returns the path of the tool name. Without it the test is skipped,
// except in CI (CI=true), where .ci/run installs it: a skip there would
// pass a check that never ran.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true (Debian's package: %s; .ci/run installs it)", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// run runs name with args within a minute and returns its standard output
// and standard error apart.
func run(t *testing.T, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// buildBot builds the binary as the release does (static, no cgo) into
// dir and returns its path.
func buildBot(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bot")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// unit is a unit file as systemd reads it: each section's keys, with every
// value of a key that is given more than once, in order.
type unit map[string]map[string][]string

// get returns the last value of key in section, as systemd applies it to a
// setting that takes one value, and whether the key is there.
func (u unit) get(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// readUnit parses the unit file at path. It knows the syntax the packaged
// units use: sections, key=value lines, comments; a continuation line is
// refused rather than misread.
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: continuation lines are not read by this test", path, n)
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// readUnits parses the packaged units by name.
func readUnits(t *testing.T) map[string]unit {
	t.Helper()
	us := map[string]unit{}
	for _, name := range unitNames {
		us[name] = readUnit(t, filepath.Join(unitsDir, name))
	}
	return us
}
