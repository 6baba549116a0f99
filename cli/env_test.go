package cli

import (
	"bytes"
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
