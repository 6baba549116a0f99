package conn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/discordtest"
)

// interactionToken returns a token in the shape of Discord's.
func interactionToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 120)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "aW50ZXJhY3Rpb246" + base64.RawURLEncoding.EncodeToString(b)
}

// TestNoTokenInLogs drives each way a REST call of an interaction can
// fail through the REST client, with disgo's own logging at debug level,
// logs each error as the bot does, and scans the whole log for the bot
// token and the interaction tokens.
func TestNoTokenInLogs(t *testing.T) {
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/api/v10"
	ln.Close()

	var buf bytes.Buffer
	log, err := config.NewLogger(&buf, false, config.Log{Level: "debug", Format: "json"}, srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	client := func(apiURL string, timeout time.Duration) rest.Rest {
		c, _ := newRESTClient(restConfig{token: srv.Token(), apiURL: apiURL, log: log, quiet: log,
			timeout: timeout, backoff: 10 * time.Millisecond})
		t.Cleanup(func() { c.Close(context.Background()) })
		return rest.New(c)
	}
	live, dead, slow := client(srv.APIURL(), 5*time.Second), client(refused, 5*time.Second), client(srv.APIURL(), 200*time.Millisecond)
	app := srv.ApplicationID()

	var tokens []string
	calls := []struct {
		name  string
		setup func()
		r     rest.Rest
	}{
		{"Refused", func() {}, dead},
		{"Timeout", func() {
			srv.Delay("*", "*", time.Minute)
		}, slow},
		{"NotFound", func() { srv.Delay("*", "*", 0) }, live},
		{"ServerErrors", func() {
			srv.FailNext("*", "*", http.StatusBadGateway, 100)
		}, live},
		{"GlobalLimit", func() {
			srv.ClearFaults()
			srv.GlobalRateLimit(discordtest.GlobalLimit{For: 100 * time.Millisecond})
		}, live},
		{"CloudflareLimit", func() {
			srv.GlobalRateLimit(discordtest.GlobalLimit{For: 100 * time.Millisecond, Cloudflare: true})
		}, live},
	}
	for _, c := range calls {
		c.setup()
		tok := interactionToken(t)
		tokens = append(tokens, tok)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		opt := rest.WithCtx(ctx)
		content := "done"
		errs := []error{
			c.r.CreateInteractionResponse(snowflake.ID(1), tok, discord.InteractionResponse{
				Type: discord.InteractionResponseTypeCreateMessage, Data: discord.MessageCreate{Content: "hi"}}, opt),
		}
		_, err := c.r.UpdateInteractionResponse(app, tok, discord.MessageUpdate{Content: &content}, opt)
		errs = append(errs, err)
		_, err = c.r.CreateFollowupMessage(app, tok, discord.MessageCreate{Content: "more"}, opt)
		errs = append(errs, err)
		errs = append(errs, c.r.DeleteInteractionResponse(app, tok, opt))
		cancel()
		for _, err := range errs {
			if err == nil {
				continue
			}
			// As the bot logs them: the error itself, its text, wrapped.
			log.Warn("could not answer", "err", err)
			log.Error("could not answer", slog.String("err", err.Error()))
			log.Debug(fmt.Sprintf("answer %s: %v", c.name, fmt.Errorf("send: %w", err)))
		}
	}

	out := buf.String()
	if n := strings.Count(out, "\n"); n < 6*4 {
		t.Fatalf("got %d log lines, want every failure logged:\n%s", n, out)
	}
	for _, secret := range append(tokens, srv.Token(), "aW50ZXJhY3Rpb246") {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"connection refused", "deadline exceeded", "Unknown", "502", "429"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q, so that failure went untested:\n%s", want, out)
		}
	}
}
