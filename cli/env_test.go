package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoggerHidesPassphrase: a backup passphrase given in the environment
// never reaches a log line, whatever carries it.
func TestLoggerHidesPassphrase(t *testing.T) {
	const pass = "correct horse battery staple 42"
	var out, errOut bytes.Buffer
	e := testEnv(t.TempDir(), []string{passphraseEnv + "=" + pass}, &out, &errOut)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	log, err := e.logger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log.Error("could not open the bundle with passphrase "+pass, "passphrase", pass)
	if strings.Contains(errOut.String(), pass) || !strings.Contains(errOut.String(), "could not open the bundle") {
		t.Errorf("log: %s", errOut.String())
	}
}

// TestRingLoggerRedactsBeforeTheRing: the ring that the status page and
// /debug/logs read holds the records, and never a secret.
func TestRingLoggerRedactsBeforeTheRing(t *testing.T) {
	const token = "status-page-http-token-42"
	var out, errOut bytes.Buffer
	e := testEnv(t.TempDir(), []string{"BOT_HTTP_TOKEN=" + token}, &out, &errOut)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	log, ring, err := e.ringLogger(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log.With("header", "Bearer "+token).Error("request failed "+token, "error_id", "ABC", "token", token)
	var lines bytes.Buffer
	if err := ring.WriteJSONLines(&lines); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"stderr": errOut.String(), "ring": lines.String()} {
		if strings.Contains(s, token) || !strings.Contains(s, "request failed") || !strings.Contains(s, "ABC") {
			t.Errorf("%s: %s", name, s)
		}
	}
	if errs := ring.Errors(); len(errs) != 1 || errs[0].Attr("error_id") != "ABC" {
		t.Errorf("ring errors got=%v", errs)
	}
}

// TestRel checks how paths are shown: relative inside the working
// directory, in full outside it and from the root directory.
func TestRel(t *testing.T) {
	dir := filepath.Join(string(filepath.Separator), "srv", "bot")
	root := string(filepath.Separator)
	for _, tc := range []struct{ wd, path, want string }{
		{dir, filepath.Join(dir, "data", "bot.db"), filepath.Join("data", "bot.db")},
		{dir, filepath.Join(root, "var", "lib", "bot"), filepath.Join(root, "var", "lib", "bot")},
		{root, filepath.Join(root, "var", "lib", "bot", "bot.db"), filepath.Join(root, "var", "lib", "bot", "bot.db")},
	} {
		e := &env{workDir: tc.wd}
		if got := e.rel(tc.path); got != tc.want {
			t.Errorf("from %s, rel(%s) = %q, want %q", tc.wd, tc.path, got, tc.want)
		}
	}
}
