package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
)

// childEnv makes the test binary act as the bot itself, so tests can run
// `bot run` as a real process without building it again.
const childEnv = "MODBOT_TEST_AS_BOT"

// testKDF keeps the passphrase of --with-keys backups cheap in tests;
// bundles carry their parameters, so restore reads them all the same.
var testKDF = keys.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// testBuild is the build stamp of a binary built without -ldflags.
var testBuild = BuildInfo{Version: "dev", Commit: "unknown", Date: "unknown"}

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), BundleKDF: testKDF}, testBuild)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// testEnv is the env of a command run in-process by a test.
func testEnv(dir string, environ []string, stdout, stderr io.Writer) *env {
	return &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, environ: environ,
		workDir: dir, now: time.Now, build: testBuild, bundleKDF: testKDF}
}

// runCLI runs the command line in-process with dir as the working directory
// and returns its exit code and output.
func runCLI(t *testing.T, dir string, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, testEnv(dir, environ, &out, &errOut))
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"NoArgs", nil, exitUsage, "", "Usage:"},
		{"Help", []string{"--help"}, exitOK, "Commands:", ""},
		{"HelpCommand", []string{"help", "version"}, exitOK, "Usage: bot version", ""},
		{"CommandHelp", []string{"version", "--help"}, exitOK, "Usage: bot version", ""},
		{"UnknownCommand", []string{"vresion"}, exitUsage, "", `Did you mean "version"?`},
		{"UnknownFlag", []string{"version", "--nope"}, exitUsage, "", "flag provided but not defined: -nope"},
		{"ExtraArgument", []string{"version", "extra"}, exitUsage, "", `unexpected argument "extra"`},
		{"Version", []string{"version"}, exitOK, "bot dev", ""},
		{"VersionJSON", []string{"version", "--json"}, exitOK, `"go_version"`, ""},
		{"GlobalConfigBeforeCommand", []string{"-c", "x.toml", "version", "--help"}, exitOK, "Usage: bot version", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, t.TempDir(), nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code got=%d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout got=%q, want it to contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr got=%q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

// TestConfigFlag: -c/--config is taken, before or after the command, by
// every command that reads the configuration, and refused with the reason
// by those that read none. The usage text names the same commands.
func TestConfigFlag(t *testing.T) {
	dir := initDir(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"AfterCommand", []string{"migrate", "status", "-c", "config.toml"}, exitOK, ""},
		{"BeforeCommand", []string{"-c", "config.toml", "migrate", "status"}, exitOK, ""},
		{"BeforeCommandWithSubcommand", []string{"--config", "config.toml", "keys", "status"}, exitOK, ""},
		{"BeforeCommandWithEquals", []string{"--config=config.toml", "audit", "verify"}, exitOK, ""},
		{"BetweenCommandAndSubcommand", []string{"keys", "-c", "config.toml", "status"}, exitOK, ""},
		{"BetweenCommandAndSubcommandLong", []string{"audit", "--config=config.toml", "verify"}, exitOK, ""},
		{"AfterFileArgument", []string{"backup", "b.db", "-c", "config.toml"}, exitOK, ""},
		{"MissingFile", []string{"-c", "nope.toml", "audit", "verify"}, exitFailure, "nope.toml"},
		{"MissingFileBetween", []string{"migrate", "-c", "nope.toml", "status"}, exitFailure, "nope.toml"},
		{"Demo", []string{"demo", "-c", "config.toml"}, exitUsage, "bot demo: this command reads no configuration file"},
		{"DemoBeforeCommand", []string{"-c", "config.toml", "demo"}, exitUsage, "bot demo: this command reads no configuration file"},
		{"DemoLong", []string{"demo", "--config=config.toml"}, exitUsage, "bot demo: this command reads no configuration file"},
		{"Version", []string{"version", "-c", "config.toml"}, exitUsage, "bot version: this command reads no configuration file"},
		{"VersionBeforeCommand", []string{"-c", "config.toml", "version"}, exitUsage, "bot version: this command reads no configuration file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, dir, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code got=%d, want %d (stdout %q, stderr %q)", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr got=%q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}

	t.Run("UsageNamesThem", func(t *testing.T) {
		_, out, _ := runCLI(t, dir, nil, "--help")
		text := strings.Join(strings.Fields(out), " ")
		var with, without []string
		for _, c := range commands() {
			if c.readsConfig {
				with = append(with, c.name)
			} else {
				without = append(without, c.name)
			}
		}
		wantWith := strings.Join(with[:len(with)-1], ", ") + " and " + with[len(with)-1] + "."
		wantWithout := strings.Join(without[:len(without)-1], ", ") + " and " + without[len(without)-1] + " read no configuration file."
		for _, want := range []string{wantWith, wantWithout} {
			if !strings.Contains(text, want) {
				t.Errorf("usage got=%q, want it to contain %q", out, want)
			}
		}
	})
	t.Run("HelpHidesRefusedFlag", func(t *testing.T) {
		_, out, _ := runCLI(t, dir, nil, "demo", "--help")
		if strings.Contains(out, "-c") || strings.Contains(out, "--config") {
			t.Errorf("demo --help got=%q, want no -c/--config", out)
		}
	})
}

// TestFlagsAfterArguments: flags may follow a command's arguments, as in
// `bot restore FILE --dry-run`, and "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	dir := initDir(t)
	if code, out, errOut := runCLI(t, dir, nil, "backup", "b.db", "--verify=full"); code != exitOK || !strings.Contains(out, "full integrity check") {
		t.Fatalf("backup FILE --verify=full: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, dir, nil, "restore", "b.db", "--dry-run"); code != exitOK || !strings.Contains(out, "Dry run: nothing was changed") {
		t.Errorf("restore FILE --dry-run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, dir, nil, "restore", "b.db", "--no-such-flag"); code != exitUsage || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("restore FILE --no-such-flag: exit %d, stderr %q; want a usage error naming it", code, errOut)
	}
	if code, _, errOut := runCLI(t, dir, nil, "restore", "b.db", "-c"); code != exitUsage || !strings.Contains(errOut, "flag needs an argument: -c") {
		t.Errorf("restore FILE -c: exit %d, stderr %q; want a usage error for the missing value", code, errOut)
	}

	fs := newFlagSet("test")
	fs.Bool("yes", false, "")
	fs.String("out", "", "")
	for _, tt := range []struct{ in, want []string }{
		{[]string{"a", "--yes", "b"}, []string{"--yes", "--", "a", "b"}},
		{[]string{"a", "--out", "f", "b"}, []string{"--out", "f", "--", "a", "b"}},
		{[]string{"--out=f", "a"}, []string{"--out=f", "--", "a"}},
		{[]string{"a", "--", "--yes"}, []string{"--", "a", "--yes"}},
		{[]string{"--yes"}, []string{"--yes"}},
		{[]string{"-", "--unknown", "x"}, []string{"--unknown", "--", "-", "x"}},
		{[]string{"a", "--out"}, []string{"--out"}},
	} {
		if got := flagsFirst(fs, tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("flagsFirst(%q) got=%q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSuggestThreshold(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"vresion", "version"},
		{"bakup", "backup"},
		{"rn", "run"},
		{"x", ""},
		{"zzzzzz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			_, _, errOut := runCLI(t, t.TempDir(), nil, tt.typed)
			got := ""
			if _, after, ok := strings.Cut(errOut, "Did you mean \""); ok {
				got, _, _ = strings.Cut(after, "\"")
			}
			if got != tt.want {
				t.Errorf("suggestion got=%q, want %q (stderr %q)", got, tt.want, errOut)
			}
		})
	}
}
