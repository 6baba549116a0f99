package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modbot/bot/discordtest"
)

// healthReport runs `bot health --json` and decodes the report.
func healthReport(t *testing.T, dir string, environ []string, args ...string) (int, map[string]check, bool) {
	t.Helper()
	code, out, errOut := runCLI(t, dir, environ, append([]string{"health", "--json"}, args...)...)
	var rep struct {
		Healthy bool    `json:"healthy"`
		Checks  []check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("health --json output %q (stderr %q): %v", out, errOut, err)
	}
	byName := map[string]check{}
	for _, c := range rep.Checks {
		byName[c.Name] = c
	}
	return code, byName, rep.Healthy
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestHealthOffline(t *testing.T) {
	dir := initDir(t)
	code, checks, healthy := healthReport(t, dir, []string{"BOT_HTTP_LISTEN="}, "--offline")
	if code != exitOK || !healthy {
		t.Fatalf("fresh install: exit %d, checks %+v; want healthy", code, checks)
	}
	for name, want := range map[string]string{"config": "ok", "database": "ok", "keys": "ok", "disk": "ok", "token": "skip", "bot": "skip"} {
		if got := checks[name].Status; got != want {
			t.Errorf("%s got=%q (%s), want %q", name, got, checks[name].Detail, want)
		}
	}
	if checks["backup"].Status == "fail" {
		t.Errorf("no backup yet should warn, not fail: %+v", checks["backup"])
	}

	t.Run("BrokenKeys", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "data", "keys", "aead.json"), []byte("garbage"), 0o600)
		code, checks, healthy := healthReport(t, dir, []string{"BOT_HTTP_LISTEN="}, "--offline")
		if code != exitFailure || healthy || checks["keys"].Status != "fail" {
			t.Errorf("broken keys: exit %d, keys %+v; want exit 1 and keys failing", code, checks["keys"])
		}
	})
	t.Run("ConfigWarning", func(t *testing.T) {
		// A short http.token is accepted with a warning, which the report
		// carries as a warning, not a failure. (Nothing runs on the
		// address, so the bot's own check fails.)
		dir := initDir(t)
		_, checks, _ := healthReport(t, dir, []string{"BOT_HTTP_LISTEN=" + freePort(t), "BOT_HTTP_TOKEN=shorttoken"}, "--offline")
		c := checks["config"]
		if c.Status != "warn" || !strings.Contains(c.Detail, "http.token is shorter than 16 characters") ||
			strings.Contains(c.Detail, "warning:") || strings.Contains(c.Detail, "shorttoken") {
			t.Errorf("config check %+v; want a warning naming the short http.token, without the token", c)
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		code, checks, _ := healthReport(t, dir, []string{"BOT_LOG_LEVEL=loud"}, "--offline")
		if code != exitFailure || checks["config"].Status != "fail" || !strings.Contains(checks["config"].Detail, "log.level") {
			t.Errorf("bad config: exit %d, config %+v", code, checks["config"])
		}
	})
}

func TestHealthOnline(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	dir := initDir(t)
	addr := freePort(t)
	environ := withEnv(fakeEnv(srv, g), "BOT_HTTP_LISTEN="+addr)

	code, checks, _ := healthReport(t, dir, environ)
	if checks["token"].Status != "ok" {
		t.Errorf("token got=%+v, want ok", checks["token"])
	}
	if c := checks["bot"]; c.Status != "fail" || !strings.Contains(c.Detail, "is 'bot run' running?") {
		t.Errorf("bot not running: got=%+v", c)
	}
	if code != exitFailure {
		t.Errorf("exit got=%d, want 1 while the bot is not running", code)
	}

	r := startRun(t, dir, environ, srv, g)
	code, checks, healthy := healthReport(t, dir, environ)
	if code != exitOK || !healthy || checks["bot"].Status != "ok" {
		t.Errorf("bot running: exit %d, checks %+v; want healthy with bot ok", code, checks)
	}
	r.stop(t)

	bad := withEnv(environ, "BOT_DISCORD_TOKEN=MTIzNDU2Nzg5MDEyMzQ1Njc4.bad.token")
	_, checks, _ = healthReport(t, dir, bad)
	if c := checks["token"]; c.Status != "fail" || !strings.Contains(c.Detail, "rejected") {
		t.Errorf("wrong token: got=%+v, want a failure saying it was rejected", c)
	}
}
