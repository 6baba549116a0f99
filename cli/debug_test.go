package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Values planted where a bundle could pick them up: the configuration,
// the environment, and the running bot's metrics and log lines.
const (
	plantedToken      = "MTIzNDU2Nzg5MDEyMzQ1Njc4.planted.discord-token-secret"
	plantedHTTPToken  = "planted-http-bearer-4417"
	plantedPassphrase = "planted backup passphrase 9083"
	plantedUserID     = "987654321098765432"
	plantedUsername   = "zelda_the_spammer"
	plantedReason     = "posted scam links in #general"
	plantedGuildID    = "112233445566778899"
)

var plantedMasterKey = base64.StdEncoding.EncodeToString([]byte("planted-master-key-32-bytes-long"))

// fakeBot serves /metrics and /debug/logs as a running bot would, with
// http.token required, and log lines that carry a person's data.
func fakeBot(t *testing.T) *httptest.Server {
	t.Helper()
	logs := strings.Join([]string{
		fmt.Sprintf(`{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"warning recorded","guild":%q,"interaction":"1300000000000000001","case":7,"user":%q,"target_name":%q,"reason":%q}`,
			plantedGuildID, plantedUserID, plantedUsername, plantedReason),
		fmt.Sprintf(`{"level":"ERROR","msg":"DM failed","err":"POST /users/@me/channels recipient %s: 403","guild_id":%s}`, plantedUserID, plantedGuildID),
		fmt.Sprintf(`{"level":"DEBUG","msg":"interaction","data":{"member":{"user":{"id":%q,"username":%q}},"options":[{"name":"reason","value":%q}]},"author":%s}`,
			plantedUserID, plantedUsername, plantedReason, plantedUserID),
		fmt.Sprintf(`{"level":"WARN","msg":"leaked %s and %s"}`, plantedToken, plantedHTTPToken),
		fmt.Sprintf(`not json: %s %s`, plantedUsername, plantedReason),
	}, "\n") + "\n"
	metrics := fmt.Sprintf("# TYPE bot_commands_total counter\nbot_commands_total{guild=%q,command=\"warn\"} 3\n"+
		"bot_dm_failures_total{user=%q,error=\"Bearer %s\"} 1\n", plantedGuildID, plantedUserID, plantedHTTPToken)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+plantedHTTPToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/metrics":
			io.WriteString(w, metrics)
		case "/debug/logs":
			io.WriteString(w, logs)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// readBundle returns the raw archive and its files by base name.
func readBundle(t *testing.T, path string) ([]byte, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(hdr.Name)] = string(b)
	}
	return raw, files
}

// TestDebugBundleHoldsNoSecrets: the archive's bytes, compressed and not,
// hold no token, master key, http token, passphrase, user ID, username or
// reason, while what a maintainer needs is there.
func TestDebugBundleHoldsNoSecrets(t *testing.T) {
	dir := t.TempDir()
	srv := fakeBot(t)
	environ := []string{
		"BOT_DISCORD_TOKEN=" + plantedToken,
		"BOT_KEYS_MASTER_KEY=" + plantedMasterKey,
		"BOT_HTTP_TOKEN=" + plantedHTTPToken,
		"BOT_HTTP_LISTEN=" + srv.Listener.Addr().String(),
		"BOT_BACKUP_PASSPHRASE=" + plantedPassphrase,
		"BOT_DISCORD_GUILD_IDS=" + plantedGuildID,
		// Should the bundle ask Discord anything, nothing answers here but
		// loopback.
		"BOT_DISCORD_API_URL=http://" + freePort(t) + "/api/v10",
	}
	code, out, errOut := runCLI(t, dir, environ, "debug", "bundle", "bug.tar.gz")
	if code != exitOK {
		t.Fatalf("bot debug bundle: exit %d\n%s%s", code, out, errOut)
	}
	raw, files := readBundle(t, filepath.Join(dir, "bug.tar.gz"))
	var all bytes.Buffer
	all.Write(raw)
	for _, body := range files {
		all.WriteString(body)
	}
	for _, planted := range []string{plantedToken, plantedMasterKey, plantedHTTPToken, plantedPassphrase, plantedUserID, plantedUsername, plantedReason} {
		if bytes.Contains(all.Bytes(), []byte(planted)) {
			t.Errorf("the bundle holds %q", planted)
		}
	}

	for name, want := range map[string][]string{
		"version.txt": {"bot dev", "commit"},
		"config.txt":  {"discord.token = (set)", "keys.master_key = (set)", "http.token = (set)", "discord.guild_ids = [" + plantedGuildID + "]", "log.level = info"},
		"metrics.txt": {`bot_commands_total{guild="` + plantedGuildID + `",command="warn"} 3`},
		"logs.jsonl":  {`"msg":"warning recorded"`, `"guild":"` + plantedGuildID + `"`, `"case":7`, `"reason":"(removed)"`, "recipient (id): 403", "left out 1 lines"},
	} {
		for _, w := range want {
			if !strings.Contains(files[name], w) {
				t.Errorf("%s lacks %q:\n%s", name, w, files[name])
			}
		}
	}
	var health struct {
		Checks []check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(files["health.json"]), &health); err != nil || len(health.Checks) == 0 {
		t.Errorf("health.json is not the report of bot health --json: %v\n%s", err, files["health.json"])
	}
	for _, line := range strings.Split(strings.TrimSpace(files["logs.jsonl"]), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("logs.jsonl has a line that is not JSON: %s", line)
		}
	}
}

// TestDebugBundleBotNotRunning: with nothing on http.listen, the bundle is
// still written and says why it holds no metrics or logs.
func TestDebugBundleBotNotRunning(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	code, out, errOut := runCLI(t, dir, []string{"BOT_HTTP_LISTEN=" + addr, "BOT_DISCORD_API_URL=http://" + addr + "/api/v10"}, "debug", "bundle")
	if code != exitOK || !strings.Contains(out, "the bot was not running") {
		t.Fatalf("bot debug bundle: exit %d\n%s%s", code, out, errOut)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "bot-debug-*.tar.gz"))
	if len(matches) != 1 {
		t.Fatalf("want one bot-debug-*.tar.gz in the working directory, got %v", matches)
	}
	_, files := readBundle(t, matches[0])
	for _, name := range []string{"metrics.txt", "logs.jsonl"} {
		if !strings.Contains(files[name], "the bot was not running") {
			t.Errorf("%s got=%q, want the note that the bot was not running", name, files[name])
		}
	}
}
