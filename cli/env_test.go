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
