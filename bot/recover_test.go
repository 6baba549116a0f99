package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// panickySettings panics in Get while armed, as a bug deep in a handler
// would.
type panickySettings struct {
	SettingsStore
	armed *atomic.Bool
}

func (p panickySettings) Get(ctx context.Context, guildID string) (storage.GuildSettings, error) {
	if p.armed.Load() {
		panic("injected fault in settings")
	}
	return p.SettingsStore.Get(ctx, guildID)
}

var errorIDPattern = regexp.MustCompile(`error ID ([0-9a-f]{8})`)

// TestHandlerPanicIsRecovered: a handler that panics costs only its own
// interaction. The user is told "something went wrong" with an error ID,
// the log has the panic at error with that ID and the stack, and the bot
// goes on serving.
func TestHandlerPanicIsRecovered(t *testing.T) {
	var armed atomic.Bool
	logs := &capturedLog{}
	h := newHarness(t, withBotOptions(func(o *Options) {
		o.Stores.Settings = panickySettings{SettingsStore: o.Stores.Settings, armed: &armed}
		o.Logger = logs.logger()
	}))
	armed.Store(true)
	in := h.slash(h.admin, "config show", nil)
	m := errorIDPattern.FindStringSubmatch(in.Content)
	if m == nil || !in.Ephemeral || !strings.Contains(in.Content, "something went wrong (error ID ") {
		t.Fatalf("/config show that panicked got=%q (ephemeral %v), want an ephemeral \"something went wrong (error ID …)\"", in.Content, in.Ephemeral)
	}
	lines := logs.find("recovered from a panic")
	if len(lines) != 1 {
		t.Fatalf("panic log lines got=%v, want 1", lines)
	}
	l := lines[0]
	if l.level != slog.LevelError || l.attrs["error_id"] != m[1] || !strings.Contains(l.attrs["panic"], "injected fault") ||
		!strings.Contains(l.attrs["stack"], "panickySettings") || l.attrs["interaction"] != in.ID.String() {
		t.Errorf("panic log got=%v, want error level, error ID %s, the panic, its stack and the interaction", l, m[1])
	}
	armed.Store(false)
	pingOK(t, h)
	if in := h.slash(h.admin, "config show", nil); len(in.Embeds) == 0 {
		t.Errorf("/config show after the panic got=%q, want the settings", in.Content)
	}
}

// TestPanicAnswersOnce: the user hears of a panic once. A panic after the
// answer adds nothing; a panic after a deferral fills it in; an
// autocomplete gets no choices.
func TestPanicAnswersOnce(t *testing.T) {
	tests := []struct {
		name      string
		handler   slashHandler
		callbacks int
		edits     int
	}{
		{"BeforeAnswer", func(*event, discord.SlashCommandInteractionData) error { panic("boom") }, 1, 0},
		{"AfterAnswer", func(e *event, _ discord.SlashCommandInteractionData) error {
			_ = e.reply("done", true)
			panic("boom")
		}, 1, 0},
		{"AfterDeferral", func(e *event, _ discord.SlashCommandInteractionData) error {
			_ = e.deferEphemeral()
			panic("boom")
		}, 1, 1},
		{"AfterFilledDeferral", func(e *event, _ discord.SlashCommandInteractionData) error {
			_ = e.deferEphemeral()
			_ = e.editReply("done")
			panic("boom")
		}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordedREST{}
			h, _ := recordedHandlers(Stores{}, rec, 1, time.Now)
			r := newRouter([]route{slash("/ping", tt.handler)}, h)
			r.dispatch(testEvent(t, rec, 2, map[string]any{"id": "2", "name": "ping", "type": 1}))
			calls, edits := rec.called("CreateInteractionResponse"), rec.called("UpdateInteractionResponse")
			if len(calls) != tt.callbacks || len(edits) != tt.edits {
				t.Fatalf("callbacks got=%d edits got=%d, want %d and %d", len(calls), len(edits), tt.callbacks, tt.edits)
			}
			var shown string
			switch {
			case tt.name == "BeforeAnswer":
				shown = calls[0].data.(discord.InteractionResponse).Data.(discord.MessageCreate).Content
			case tt.name == "AfterDeferral":
				shown = *edits[0].data.(discord.MessageUpdate).Content
			}
			if shown != "" && (!errorIDPattern.MatchString(shown) || !strings.Contains(shown, "something went wrong (error ID ")) {
				t.Errorf("the user was shown %q, want \"something went wrong (error ID …)\"", shown)
			}
		})
	}
	t.Run("Autocomplete", func(t *testing.T) {
		rec := &recordedREST{}
		h, _ := recordedHandlers(Stores{}, rec, 1, time.Now)
		r := newRouter([]route{autocomplete("/unwarn", func(*event, discord.AutocompleteInteractionData) error { panic("boom") })}, h)
		r.dispatch(testEvent(t, rec, 4, map[string]any{"id": "2", "name": "unwarn", "type": 1,
			"options": []any{map[string]any{"name": "case", "type": 4, "value": "1", "focused": true}}}))
		calls := rec.called("CreateInteractionResponse")
		if len(calls) != 1 || calls[0].data.(discord.InteractionResponse).Type != discord.InteractionResponseTypeAutocompleteResult {
			t.Errorf("autocomplete answers got=%+v, want one empty result", calls)
		}
	})
}

// testEvent builds an interaction of type typ in a guild, as Discord sends
// it, answered through rec.
func testEvent(t *testing.T, rec *recordedREST, typ int, data map[string]any) *event {
	t.Helper()
	user := map[string]any{"id": "800000000000000009", "username": "someone", "discriminator": "0"}
	p := map[string]any{"id": snowflake.New(time.Now()).String(), "type": typ, "application_id": "1",
		"token": "tok", "version": 1, "channel_id": "800000000000000001", "locale": "en-US", "data": data,
		"guild_id": "800000000000000000", "context": discord.InteractionContextTypeGuild,
		"member": map[string]any{"user": user, "roles": []string{}, "joined_at": "2021-03-04T05:06:07Z", "permissions": "0"}}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	in, err := discord.UnmarshalInteraction(raw)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return &event{Interaction: in, ctx: context.Background(), rest: rec}
}

// panickySchedule panics in ClaimDue the first time, as a bug in one pass
// of the scheduler would, and counts the passes.
type panickySchedule struct {
	ScheduleStore
	claims *atomic.Int64
}

func (p panickySchedule) ClaimDue(ctx context.Context, now time.Time, limit int) ([]storage.ScheduledAction, error) {
	if p.claims.Add(1) == 1 {
		panic("injected fault in the scheduler")
	}
	return p.ScheduleStore.ClaimDue(ctx, now, limit)
}

// TestBackgroundPanicIsRecovered: a panic in a pass of the scheduler is
// logged with its stack and an error ID, the next pass runs, and the bot
// keeps serving.
func TestBackgroundPanicIsRecovered(t *testing.T) {
	var claims atomic.Int64
	logs := &capturedLog{}
	h := newHarness(t, withBotOptions(func(o *Options) {
		o.Stores.Schedule = panickySchedule{ScheduleStore: o.Stores.Schedule, claims: &claims}
		o.SchedulerInterval = 10 * time.Millisecond
		o.Logger = logs.logger()
	}))
	for deadline := time.Now().Add(10 * time.Second); claims.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler made %d passes in 10s, want it to go on after a panic", claims.Load())
		}
	}
	lines := logs.find("recovered from a panic")
	if len(lines) != 1 || lines[0].level != slog.LevelError || lines[0].attrs["in"] != "scheduler" ||
		lines[0].attrs["error_id"] == "" || !strings.Contains(lines[0].attrs["stack"], "panickySchedule") {
		t.Errorf("panic log got=%v, want one error line with the error ID and the stack", lines)
	}
	pingOK(t, h)
}
