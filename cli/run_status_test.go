package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/internal/chromiumtest"
)

// Decided: an http.listen other machines can reach needs http.token, or
// 'bot run' does not start; loopback needs none.
func TestRunRefusesReachableListenWithoutToken(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	dir := initDir(t)
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8081", "bot.example:8081"} {
		t.Run(listen, func(t *testing.T) {
			code, _, errOut := runCLI(t, dir, withEnv(fakeEnv(srv, g), "BOT_HTTP_LISTEN="+listen), "run")
			if code != exitFailure || !strings.Contains(errOut, "BOT_HTTP_TOKEN") || !strings.Contains(errOut, "127.0.0.1") {
				t.Errorf("got exit %d, stderr %q; want a refusal naming BOT_HTTP_TOKEN and 127.0.0.1", code, errOut)
			}
		})
	}
}

// A short http.token is the owner's choice: off loopback 'bot run' accepts
// it, and the warning every command prints at start says how to make a
// strong one.
func TestShortTokenWarnsAndStarts(t *testing.T) {
	var out, errOut bytes.Buffer
	e := testEnv(t.TempDir(), []string{"BOT_HTTP_LISTEN=0.0.0.0:8081", "BOT_HTTP_TOKEN=tok-42"}, &out, &errOut)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatalf("a short http.token was refused: %v", err)
	}
	if err := checkListen(cfg); err != nil {
		t.Errorf("checkListen refused a short http.token: %v", err)
	}
	if w := errOut.String(); !strings.Contains(w, "warning: http.token is shorter than 16 characters") ||
		!strings.Contains(w, "openssl rand -hex 32") || strings.Contains(w, "tok-42") {
		t.Errorf("stderr=%q, want a warning with how to make a strong token, without the token", w)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8081": true, "127.1.2.3:1": true, "[::1]:8081": true, "localhost:8081": true,
		"0.0.0.0:8081": false, ":8081": false, "[::]:8081": false, "10.0.0.2:8081": false, "host:8081": false, "nonsense": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) got=%v, want %v", addr, got, want)
		}
	}
}

// TestRunServesStatusPage: a running bot serves its status page, the
// recent log and /readyz behind http.token, and /healthz without it;
// 'bot health' passes the token to /readyz. Once it has served commands,
// some done, one refused and one failed, the page is rendered in headless
// Chromium and its screenshot is the one the README shows
// (UPDATE_SCREENSHOT=1 writes docs/status-page.png).
func TestRunServesStatusPage(t *testing.T) {
	const token = "status-page-token-for-tests"
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	mods := g.AddRole("Mods", discord.PermissionModerateMembers|discord.PermissionBanMembers, 5)
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{mods}})
	member := g.AddMember(discordtest.MemberOptions{Username: "member"})
	addr := freePort(t)
	dir := initDir(t)
	environ := withEnv(fakeEnv(srv, g), "BOT_HTTP_LISTEN="+addr, "BOT_HTTP_TOKEN="+token, "BOT_BACKUP_INTERVAL=24h")
	// A backup made, and the next one scheduled, as an installation has.
	if code, _, errOut := runCLI(t, dir, withEnv(environ, "BOT_HTTP_LISTEN="), "backup"); code != exitOK {
		t.Fatalf("bot backup: exit %d: %s", code, errOut)
	}
	r := startRun(t, dir, environ, srv, g)
	defer r.stop(t)

	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/", ""); code != http.StatusUnauthorized {
		t.Errorf("/ without the token got=%d, want 401", code)
	}
	// The guild arrives just after READY: until then the page counts none.
	var code int
	var page string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code, page = get("/?token="+token, "")
		if code != http.StatusOK {
			t.Fatalf("/ got=%d %s", code, page)
		}
		if strings.Contains(page, "Servers</dt><dd>1<") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"Healthy", "connected", "Servers</dt><dd>1<", "database", "answers", "primary key", "none since the start"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	code, logs := get("/debug/logs", "Bearer "+token)
	if code != http.StatusOK || !strings.Contains(logs, `"msg":"bot is ready"`) || strings.Contains(logs, token) || strings.Contains(logs, srv.Token()) {
		t.Errorf("/debug/logs got=%d %s", code, logs)
	}
	if code, body := get("/healthz", ""); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz got=%d %q", code, body)
	}
	e := testEnv(dir, environ, &bytes.Buffer{}, &bytes.Buffer{})
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := readyCheck(context.Background(), cfg); c.Status != "ok" {
		t.Errorf("bot health's ready check got=%+v, want ok with the token", c)
	}

	// Commands for the page to count: two done, one refused (a member may
	// not warn), one failed (Discord refuses the ban without saying why),
	// which the last errors list with its error ID.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	invoke := func(who *discordtest.Member, command string, opts discordtest.Options, want string) {
		t.Helper()
		in, err := srv.InvokeSlash(ctx, g, who, command, opts)
		if err != nil || !strings.Contains(in.Content, want) {
			t.Fatalf("/%s: %v, %+v; want a reply with %q", command, err, in, want)
		}
	}
	invoke(mod, "ping", nil, "Pong!")
	invoke(mod, "warn", discordtest.Options{"user": member, "reason": "spam"}, "case #1")
	invoke(member, "warn", discordtest.Options{"user": mod, "reason": "spam"}, "permission")
	srv.FailNext("PUT", "/guilds/{guild_id}/bans/{user_id}", http.StatusBadRequest, 1)
	invoke(mod, "ban", discordtest.Options{"user": member, "reason": "spam"}, "error ID")

	// The running bot's own page, as a browser renders it.
	bin, ok := chromiumtest.Find(t)
	if !ok {
		return
	}
	url := "http://" + addr + "/?token=" + token
	dom := chromiumtest.Run(t, bin, "--dump-dom", url)
	for _, want := range []string{"Healthy", "connected", "Commands", "Backups", "Keys", "Last errors",
		"<span class=\"num\">2</span>ok", "<span class=\"num\">1</span>refused", "<span class=\"num\">1</span>error",
		"interaction failed", "(ban)"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page in Chromium lacks %q", want)
		}
	}
	for _, not := range []string{mod.ID.String(), member.ID.String(), "spam", token} {
		if strings.Contains(dom, not) {
			t.Errorf("the page in Chromium shows %q", not)
		}
	}
	png := chromiumtest.Screenshot(t, bin, url, "status-page.png", 412, 2400)
	if os.Getenv(chromiumtest.UpdateDocsEnv) == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "status-page.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
