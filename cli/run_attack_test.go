package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/logring"
)

// TestAttackReloadDropsRing: 'bot run' logs through ringLogger (redaction,
// then the ring the status page and /debug/logs read). A SIGHUP reload
// swaps the root handler for e.logger(next), which has no ring: every
// error after the first reload is missing from the status page's "last
// errors", from /debug/logs and from 'bot debug bundle'.
func TestAttackReloadDropsRing(t *testing.T) {
	var ring *logring.Ring
	f := newReloadFixture(t, "[log]\nlevel = \"info\"\nformat = \"json\"\n", nil, func(e *env, cfg *config.Config) *slog.Logger {
		base, r, err := e.ringLogger(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ring = r
		return base
	})
	log, lr, src := f.log, f.lr, f.src

	log.Error("before the reload")
	lr.reload(context.Background(), src)
	log.Error("after the reload")

	var msgs []string
	for _, en := range ring.Errors() {
		msgs = append(msgs, en.Message)
	}
	if !strings.Contains(strings.Join(msgs, "|"), "after the reload") {
		t.Errorf("ring errors after a SIGHUP reload = %q; the error logged after the reload never reached the ring", msgs)
	}
}

// TestAttackListenBlankToken: http.token of spaces (BOT_HTTP_TOKEN=" ")
// counts as set, so checkListen lets 0.0.0.0 through; the guard then
// accepts ?token=%20 (and no Bearer header can carry it, since header
// values are trimmed). "a long random string" is documented, not checked.
func TestAttackListenBlankToken(t *testing.T) {
	for _, tok := range []string{" ", "\t"} {
		cfg := &config.Config{}
		cfg.HTTP.Listen, cfg.HTTP.Token = "0.0.0.0:8081", tok
		if err := checkListen(cfg); err == nil {
			t.Errorf("checkListen accepted http.listen 0.0.0.0:8081 with http.token %q", tok)
		}
	}
}

// TestAttackListenOddAddrs: addresses that reach other machines must be
// refused without a token; loopback spellings may pass.
func TestAttackListenOddAddrs(t *testing.T) {
	for addr, want := range map[string]bool{
		"[::ffff:127.0.0.1]:8081": true, "127.0.0.2:8081": true, "[::1]:8081": true,
		"[::ffff:0.0.0.0]:8081": false, "[::ffff:10.0.0.1]:8081": false, "[fe80::1%lo]:8081": false,
		"localhost.:8081": false, "127.1:8081": false, "0:8081": false, "[0:0:0:0:0:0:0:0]:8081": false,
		"LOCALHOST:8081": false, "0177.0.0.1:8081": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) got=%v, want %v", addr, got, want)
		}
	}
}

// TestAttackBundleScrubOddPlaces: the bundle promises no user ID, name or
// reason in logs.jsonl. Keys are never scrubbed, and \b does not split a
// snowflake from a letter or an underscore.
func TestAttackBundleScrubOddPlaces(t *testing.T) {
	const id = "712345678901234567"
	for name, line := range map[string]string{
		"id as a key":         `{"msg":"x","warns.` + id + `":3}`,
		"id as a group":       `{"msg":"x","` + id + `":{"points":3}}`,
		"id after underscore": `{"msg":"x","route":"ban_` + id + `"}`,
		"id after a letter":   `{"msg":"x","err":"u` + id + ` missing"}`,
		"name in a list":      `{"msg":"x","members":[{"id":"1","global_nick":"alice"}]}`,
		"user id inside msg":  `{"msg":"member ` + id + ` left"}`,
	} {
		got := scrubLogLines(line+"\n", nil)
		for _, bad := range []string{id, "you called me a slur", "alice"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: bundle line %s still holds %q", name, strings.TrimSpace(got), bad)
			}
		}
	}
}
