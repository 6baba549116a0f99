package bot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// malformedIDs returns custom IDs for a button or modal route that takes
// segments segments: cut short, padded, non-numeric, negative, empty and
// 100 characters long.
func malformedIDs(path string, segments int) []string {
	good := make([]string, segments)
	for i := range good {
		good[i] = "1"
	}
	ids := []string{"", "/", path + "/", path + "/" + strings.Join(good, "/") + "/1", path + "/" + strings.Join(good, "/") + "/"}
	for n := range segments {
		ids = append(ids, strings.TrimSuffix(path+"/"+strings.Join(good[:n], "/"), "/"))
	}
	for i := range segments {
		for _, v := range []string{"x", "-1", ""} {
			seg := append([]string(nil), good...)
			seg[i] = v
			ids = append(ids, path+"/"+strings.Join(seg, "/"))
		}
		seg := append([]string(nil), good...)
		id := path + "/" + strings.Join(seg, "/")
		seg[i] = strings.Repeat("9", 100-len(id)+1)
		ids = append(ids, path+"/"+strings.Join(seg, "/"))
	}
	return ids
}

// TestMalformedCustomIDs: for every button and modal route of the routes
// table, custom IDs cut short, padded, non-numeric, negative, empty or 100
// characters long are refused with an ephemeral message (the handler's own
// where the ID still parses), logged at info, never at error, and the bot
// keeps serving. A modified client can send a modal submit with any custom
// ID without the bot having opened that modal.
func TestMalformedCustomIDs(t *testing.T) {
	logs := &capturedLog{}
	h := newHarness(t, withBotOptions(func(o *Options) { o.Logger = logs.logger() }))
	msg := h.slash(h.mod, "ping", nil).Message
	if msg == nil {
		t.Fatal("/ping sent no message to put a button on")
	}
	// The fields of the warning modal, filled in as a moderator would.
	fields := map[string]string{fieldReason: "forged", fieldPoints: "1", fieldExpires: "never"}
	buttons, modals := 0, 0
	for _, rt := range h.bot.handlers.routes() {
		if rt.button == nil && rt.modal == nil {
			continue
		}
		if rt.button != nil {
			buttons++
		} else {
			modals++
		}
		for _, id := range malformedIDs(rt.path, rt.segments) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var out *discordtest.Interaction
			var err error
			what := "click"
			if rt.button != nil {
				out, err = h.srv.ClickForgedButton(ctx, h.guild, h.mod, *msg, id)
			} else {
				what = "submit"
				out, err = h.srv.SubmitForgedModal(ctx, h.guild, h.mod, id, fields)
			}
			cancel()
			if err != nil {
				t.Fatalf("%s %q: %v", what, id, err)
			}
			if !out.Ephemeral || out.Content == "" || strings.Contains(out.Content, "error ID") {
				t.Errorf("%s %q got=%q (ephemeral %v), want an ephemeral refusal", what, id, out.Content, out.Ephemeral)
			}
		}
	}
	if buttons < 2 || modals < 2 {
		t.Fatalf("found %d button and %d modal routes, want every one the bot has", buttons, modals)
	}
	for _, l := range logs.find("") {
		if l.level >= slog.LevelError {
			t.Errorf("logged at error: %v", l)
		}
	}
	if len(logs.find("refused a malformed or forged custom ID")) == 0 {
		t.Error("no info line for the refused custom IDs")
	}
	pingOK(t, h)
}
