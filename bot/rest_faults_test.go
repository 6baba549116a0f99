package bot

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// faultCommand is a moderator's command whose outcome a REST fault test
// checks: what to send, the case it stores and whether Discord shows the
// action.
type faultCommand struct {
	name string
	kind storage.CaseKind
	opts func(target *discordtest.Member) discordtest.Options
	// done reports whether Discord carried out the action on target.
	done func(h *harness, target *discordtest.Member) bool
}

var faultCommands = []faultCommand{
	{"warn", storage.CaseWarning,
		func(m *discordtest.Member) discordtest.Options {
			return discordtest.Options{"user": m, "reason": "spam"}
		},
		func(h *harness, m *discordtest.Member) bool { return len(h.srv.DMs(m.ID)) > 0 }},
	{"ban", storage.CaseBan,
		func(m *discordtest.Member) discordtest.Options {
			return discordtest.Options{"user": m, "reason": "spam"}
		},
		func(h *harness, m *discordtest.Member) bool { _, ok := h.guild.Banned(m.ID); return ok }},
	{"kick", storage.CaseKick,
		func(m *discordtest.Member) discordtest.Options {
			return discordtest.Options{"user": m, "reason": "spam"}
		},
		func(_ *harness, m *discordtest.Member) bool { return !m.InGuild() }},
	{"timeout", storage.CaseTimeout,
		func(m *discordtest.Member) discordtest.Options {
			return discordtest.Options{"user": m, "duration": "1h", "reason": "spam"}
		},
		func(_ *harness, m *discordtest.Member) bool { _, ok := m.TimedOutUntil(); return ok }},
}

func faultCommandOf(t *testing.T, name string) faultCommand {
	t.Helper()
	for _, c := range faultCommands {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no fault command %q", name)
	return faultCommand{}
}

// runUnderFault has a moderator run c on a new member and checks that the
// outcome is whole either way: done (the reply names the stored case of
// the right kind, and Discord carried out the action), or refused with an
// ephemeral message that says what to do, nothing stored and no action.
// It returns whether the command was done.
func (h *harness) runUnderFault(t *testing.T, c faultCommand) bool {
	t.Helper()
	target := h.newMember(fmt.Sprintf("%s-target-%d", c.name, time.Now().UnixNano()%1e6))
	in := h.slash(h.mod, c.name, c.opts(target))
	if caseRef.MatchString(in.Content) {
		if got := h.storedCase(replyCase(t, in.Content)); got.Kind != c.kind {
			t.Errorf("/%s: stored a case of kind %s, want %s", c.name, got.Kind, c.kind)
		}
		waitUntil(t, "Discord shows the /"+c.name, func() bool { return c.done(h, target) })
		return true
	}
	if !in.Ephemeral || !strings.Contains(in.Content, "try again") || strings.Contains(in.Content, "error ID") {
		t.Errorf("/%s got=%q (ephemeral %v), want the case or a refusal that says to try again", c.name, in.Content, in.Ephemeral)
	}
	if n := len(h.casesOf(target)); n != 0 {
		t.Errorf("/%s was refused but stored %d cases", c.name, n)
	}
	if c.name != "warn" && c.done(h, target) {
		t.Errorf("/%s was refused but Discord carried it out", c.name)
	}
	return false
}

// TestGlobalRateLimitCommands: a global 429, as Discord or as Cloudflare
// sends it, arriving while a moderator's /warn, /ban or /timeout runs,
// pauses every REST call for its Retry-After: nothing reaches Discord
// between the 429 and the end of the pause. The command then completes,
// with its case stored, its action done and its reply sent, and the bot
// serves normally afterwards.
func TestGlobalRateLimitCommands(t *testing.T) {
	const pause = time.Second
	h := newHarness(t)
	for _, form := range []struct {
		name  string
		limit discordtest.GlobalLimit
	}{
		{"Discord", discordtest.GlobalLimit{For: pause}},
		{"Cloudflare", discordtest.GlobalLimit{For: pause, Cloudflare: true}},
	} {
		for _, name := range []string{"warn", "ban", "timeout"} {
			t.Run(form.name+"/"+name, func(t *testing.T) {
				from := len(h.srv.Requests())
				h.srv.GlobalRateLimit(form.limit)
				if !h.runUnderFault(t, faultCommandOf(t, name)) {
					t.Errorf("/%s was refused; a pause of %v leaves it time to complete", name, pause)
				}
				wantPauseKept(t, h.srv.Requests()[from:], pause)
			})
		}
	}
	pingOK(t, h)
	h.runUnderFault(t, faultCommandOf(t, "warn"))
}

// wantPauseKept checks that after the first global 429 among reqs, no
// request reached Discord until the pause it asked for was over. Requests
// that were already on their way when the 429 was answered are allowed.
func wantPauseKept(t *testing.T, reqs []discordtest.Request, pause time.Duration) {
	t.Helper()
	const inFlight = 50 * time.Millisecond
	first := -1
	for i, r := range reqs {
		if r.Status == http.StatusTooManyRequests {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("no request met the global rate limit")
	}
	limited := reqs[first]
	told, end := limited.Time.Add(limited.Duration+inFlight), limited.Time.Add(pause)
	for _, r := range reqs[first+1:] {
		if r.Time.After(told) && r.Time.Before(end) {
			t.Errorf("%s %s reached Discord %v after the global 429, within its %v pause",
				r.Method, r.Route, r.Time.Sub(limited.Time).Round(time.Millisecond), pause)
		}
	}
}
