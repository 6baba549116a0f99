package status

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/health"
)

// Environment variables of the browser test.
const (
	// artifactsEnv names the directory the screenshot is saved in;
	// without it, a directory under the system's temporary directory.
	artifactsEnv = "TEST_ARTIFACTS_DIR"
	// updateDocsEnv, set to 1, also writes the screenshot to
	// docs/status-page.png, the one the README shows.
	updateDocsEnv = "UPDATE_SCREENSHOT"
)

// chromium finds Debian's chromium, or another Chrome, on PATH. Without
// one the test is skipped, except in CI (CI=true), where .ci/run installs
// it and a skip would hide a page nobody looked at.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the status page is not checked in a browser")
	return ""
}

// runChromium runs a headless browser with args and the flags every run
// needs: no sandbox (CI runs as root), no GPU, and a profile of its own.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// TestPageInChromium serves the page as 'bot run' does, behind a token,
// loads it in headless Chromium, checks the text the browser rendered,
// and takes a phone-sized screenshot.
func TestPageInChromium(t *testing.T) {
	bin := chromium(t)
	const token = "browser-test-token-1234"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := health.Serve(health.Options{Addr: addr, DB: nopDB{}, Bot: readyBot{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Token: token, Page: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	url := "http://" + addr + "/?token=" + token

	dom := runChromium(t, bin, "--dump-dom", url)
	for _, want := range wantOnPage {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	for _, not := range notOnPage {
		if strings.Contains(dom, not) {
			t.Errorf("rendered page shows %q", not)
		}
	}
	if denied := runChromium(t, bin, "--dump-dom", "http://"+addr+"/"); !strings.Contains(denied, "unauthorized") || strings.Contains(denied, "v1.4.0") {
		t.Errorf("page without the token rendered %q, want the refusal", denied)
	}

	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "bot-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "status-page.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=412,900", url)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %v, want a PNG", shot, err)
	}
	t.Logf("screenshot: %s", shot)
	if os.Getenv(updateDocsEnv) == "1" {
		if err := os.WriteFile(filepath.Join("..", "docs", "status-page.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type nopDB struct{}

func (nopDB) Ping(context.Context) error { return nil }

type readyBot struct{}

func (readyBot) Ready() bool { return true }
