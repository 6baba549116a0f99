package cli

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/bot"
)

// fakeLiveBot records what a reload sets; SetGuildIDs fails while fail is
// set.
type fakeLiveBot struct {
	mu         sync.Mutex
	limits     []bot.Limits
	retention  []time.Duration
	guilds     [][]snowflake.ID
	fail       bool
	guildCalls int
}

func (f *fakeLiveBot) SetLimits(l bot.Limits) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, l)
}

func (f *fakeLiveBot) SetRetention(cases, afterLeave time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retention = append(f.retention, cases, afterLeave)
}

func (f *fakeLiveBot) SetGuildIDs(_ context.Context, ids []snowflake.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.guildCalls++
	if f.fail {
		return errors.New("discord said no")
	}
	f.guilds = append(f.guilds, ids)
	return nil
}

// TestReloadBot: a reload hands the bot only the settings that changed,
// and a registration that fails is tried again by the next reload of the
// same file.
func TestReloadBot(t *testing.T) {
	fb := &fakeLiveBot{fail: true}
	f := newReloadFixture(t, "[log]\nformat = \"text\"\n", fb, plainLogger(t))
	out, lr, src, write := f.out, f.lr, f.src, f.write
	ctx := context.Background()

	write("[log]\nformat = \"text\"\n[discord]\nguild_ids = [\"123456789012345678\"]\n[retention]\ncases = \"90d\"\n[limits]\nqueue = 7\n")
	lr.reload(ctx, src)
	if len(fb.limits) != 1 || fb.limits[0].Queue != 7 {
		t.Errorf("limits set=%+v, want one call with queue 7", fb.limits)
	}
	if len(fb.retention) != 2 || fb.retention[0] != 90*24*time.Hour {
		t.Errorf("retention set=%v, want 90 days", fb.retention)
	}
	if !strings.Contains(out.String(), "could not be registered") {
		t.Errorf("log=%q, want the failed registration reported", out.String())
	}

	fb.fail = false
	lr.reload(ctx, src)
	if len(fb.guilds) != 1 || len(fb.guilds[0]) != 1 || fb.guilds[0][0] != 123456789012345678 {
		t.Errorf("guilds set=%v, want the failed change retried", fb.guilds)
	}
	if len(fb.limits) != 1 || len(fb.retention) != 2 {
		t.Errorf("the unchanged limits or retention were set again: %+v, %v", fb.limits, fb.retention)
	}
	lr.reload(ctx, src)
	if fb.guildCalls != 2 {
		t.Errorf("SetGuildIDs called %d times, want 2: not again once the list is in force", fb.guildCalls)
	}
	if strings.Contains(out.String(), "only after a restart") {
		t.Errorf("log=%q, want no setting reported as needing a restart", out.String())
	}
}
