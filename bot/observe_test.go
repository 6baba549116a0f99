package bot

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// recordingObserver keeps what the bot reports, for the tests.
type recordingObserver struct {
	mu           sync.Mutex
	interactions []string // "command outcome"
	cases        []string
	dmFailures   []string
}

func (o *recordingObserver) InteractionDone(command, outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.interactions = append(o.interactions, command+" "+outcome)
}

func (o *recordingObserver) CaseCreated(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cases = append(o.cases, kind)
}

func (o *recordingObserver) DMFailed(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dmFailures = append(o.dmFailures, reason)
}

// since returns the interactions reported after the first n, waiting a
// little for the one whose answer the test has just seen: the report
// follows the answer.
func (o *recordingObserver) since(n int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		o.mu.Lock()
		got := slices.Clone(o.interactions[min(n, len(o.interactions)):])
		o.mu.Unlock()
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestObserver(t *testing.T) {
	obs := &recordingObserver{}
	logs := &capturedLog{}
	h := newHarness(t, withBotOptions(func(o *Options) {
		o.Observer = obs
		o.Logger = logs.logger()
	}))

	t.Run("WarnOK", func(t *testing.T) {
		n := obs.count()
		h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam"})
		if got := obs.since(n); !slices.Equal(got, []string{"warn ok"}) {
			t.Errorf("interactions got=%v, want [warn ok]", got)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if !slices.Equal(obs.cases, []string{"warning"}) {
			t.Errorf("cases got=%v, want [warning]", obs.cases)
		}
	})

	t.Run("RefusedByPermission", func(t *testing.T) {
		n := obs.count()
		h.slash(h.member, "warn", discordtest.Options{"user": h.other, "reason": "spam"})
		if got := obs.since(n); !slices.Equal(got, []string{"warn refused"}) {
			t.Errorf("interactions got=%v, want [warn refused]", got)
		}
	})

	t.Run("SubcommandReportsTopLevel", func(t *testing.T) {
		n := obs.count()
		h.slash(h.admin, "config show", nil)
		if got := obs.since(n); len(got) != 1 || !strings.HasPrefix(got[0], "config ") {
			t.Errorf("interactions got=%v, want one config", got)
		}
	})

	t.Run("DMClosed", func(t *testing.T) {
		h.other.CloseDMs()
		n := obs.count()
		h.slash(h.mod, "warn", discordtest.Options{"user": h.other, "reason": "spam"})
		obs.since(n)
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if !slices.Equal(obs.dmFailures, []string{DMReasonClosed}) {
			t.Errorf("DM failures got=%v, want [closed]", obs.dmFailures)
		}
	})

	t.Run("ErrorLineCarriesErrorID", func(t *testing.T) {
		n := obs.count()
		h.db.Close() // every command now fails inside the bot
		in := h.slash(h.mod, "warnings", discordtest.Options{"user": h.member})
		if got := obs.since(n); !slices.Equal(got, []string{"warnings error"}) {
			t.Errorf("interactions got=%v, want [warnings error]", got)
		}
		var done []capturedLine
		for range 100 {
			if done = logs.find("interaction done"); len(done) > 0 && done[len(done)-1].attrs["command"] == "warnings" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		last := done[len(done)-1]
		id := last.attrs["error_id"]
		if id == "" || !strings.Contains(in.Content, id) {
			t.Errorf("log line %v: error_id %q is not the one the user saw in %q", last, id, in.Content)
		}
		if last.attrs["guild"] != h.guild.ID.String() || last.attrs["outcome"] != OutcomeError || last.attrs["latency_ms"] == "" {
			t.Errorf("log line %v lacks the guild, outcome or latency", last)
		}
		for k, v := range last.attrs {
			if strings.Contains(v, h.mod.ID.String()) || strings.Contains(v, h.member.ID.String()) {
				t.Errorf("log line holds a user ID in %s=%s", k, v)
			}
		}
	})
}

// count is how many interactions have been reported.
func (o *recordingObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.interactions)
}
