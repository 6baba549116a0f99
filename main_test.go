package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// childEnv makes the test binary act as the bot itself, so tests can run
// `bot run` as a real process without building it again.
const childEnv = "MODBOT_TEST_AS_BOT"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

// runCLI runs the command line in-process with dir as the working directory
// and returns its exit code and output.
func runCLI(t *testing.T, dir string, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &env{
		stdin:   strings.NewReader(""),
		stdout:  &out,
		stderr:  &errOut,
		environ: environ,
		workDir: dir,
	})
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
