package status

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/modbot/bot/health"
	"github.com/modbot/bot/internal/chromiumtest"
)

// TestPageInChromium serves the page as 'bot run' does, behind a token,
// loads it in headless Chromium, checks the text the browser rendered,
// and takes a phone-width screenshot of the whole page.
func TestPageInChromium(t *testing.T) {
	bin, ok := chromiumtest.Find(t)
	if !ok {
		t.Skip("chromium is not installed (apt-get install chromium); the status page is not checked in a browser")
	}
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

	dom := chromiumtest.Run(t, bin, "--dump-dom", url)
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
	if denied := chromiumtest.Run(t, bin, "--dump-dom", "http://"+addr+"/"); !strings.Contains(denied, "unauthorized") || strings.Contains(denied, "v1.4.0") {
		t.Errorf("page without the token rendered %q, want the refusal", denied)
	}

	// The screenshot in docs/ is the running bot's (cli's
	// TestRunServesStatusPage); this one shows the fixture, whole: its
	// twenty errors make it taller than the running bot's.
	chromiumtest.Screenshot(t, bin, url, "status-page-fixture.png", 412, 4000)
}

type nopDB struct{}

func (nopDB) Ping(context.Context) error { return nil }

type readyBot struct{}

func (readyBot) Ready() bool { return true }
