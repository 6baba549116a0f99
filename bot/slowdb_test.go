package bot

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// lockDatabase takes the write lock of the database at path from another
// connection, as another process could, so that every write of the bot
// waits (on its busy timeout) until the returned function releases it.
func lockDatabase(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	// The bot's own writes and checkpoints hold the lock for moments; wait
	// them out rather than fail on a loaded machine.
	for _, q := range []string{"PRAGMA busy_timeout = 10000", "BEGIN IMMEDIATE", "UPDATE guild_settings SET guild_id = guild_id"} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := db.Exec("ROLLBACK"); err != nil {
				t.Errorf("rollback: %v", err)
			}
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// slowReads makes the reads of the commands under test wait while held is
// locked. A write lock does not stop readers in WAL mode, but a checkpoint
// or a slow disk can hold them up as long.
type slowReads struct {
	CaseStore
	RetentionStore
	held *sync.RWMutex
}

// wait blocks while the test holds the reads up.
func (s slowReads) wait() {
	s.held.RLock()
	defer s.held.RUnlock()
}

func (s slowReads) ListForUser(ctx context.Context, guildID, userID string, all bool, now time.Time) ([]storage.Case, error) {
	s.wait()
	return s.CaseStore.ListForUser(ctx, guildID, userID, all, now)
}

func (s slowReads) GuildPeriod(ctx context.Context, guildID string) (time.Duration, error) {
	s.wait()
	return s.RetentionStore.GuildPeriod(ctx, guildID)
}

// TestSlowDatabaseStillAcknowledged: while another process holds the
// database's write lock, and reads are as slow, for longer than Discord
// waits for an answer, every command is acknowledged within Discord's 3
// seconds and then answered once the database is free.
func TestSlowDatabaseStillAcknowledged(t *testing.T) {
	var held sync.RWMutex
	h := newHarness(t, withServerOptions(discordtest.WithDeferTimeout(20*time.Second)), withBotOptions(func(o *Options) {
		slow := slowReads{CaseStore: o.Stores.Cases, RetentionStore: o.Stores.Retention, held: &held}
		o.Stores.Cases, o.Stores.Retention = slow, slow
	}))
	h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": "spam"})

	commands := []struct {
		who  *discordtest.Member
		cmd  string
		opts discordtest.Options
		want string
	}{
		{h.admin, "config show", nil, ""},
		{h.admin, "config dm", discordtest.Options{"enabled": false}, "DM"},
		{h.mod, "warnings", discordtest.Options{"user": h.member}, ""},
		{h.member, "mywarnings", nil, ""},
		{h.mod, "warn", discordtest.Options{"user": h.other, "reason": "flood"}, "Warned"},
	}
	held.Lock()
	release := lockDatabase(t, h.db.Path())
	timer := time.AfterFunc(3500*time.Millisecond, func() {
		release()
		held.Unlock()
	})
	defer timer.Stop()

	var wg sync.WaitGroup
	results := make([]*discordtest.Interaction, len(commands))
	errs := make([]error, len(commands))
	for i, c := range commands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			results[i], errs[i] = h.srv.InvokeSlash(ctx, h.guild, c.who, c.cmd, c.opts)
		}()
	}
	wg.Wait()
	for i, c := range commands {
		in, err := results[i], errs[i]
		if err != nil {
			t.Errorf("/%s with the database locked: %v", c.cmd, err)
			continue
		}
		delay, ok := h.srv.AckDelay(in.Token)
		if !ok || delay >= 3*time.Second {
			t.Errorf("/%s acknowledged=%v after %s, want within 3s", c.cmd, ok, delay)
		}
		if strings.Contains(in.Content, "went wrong") || (len(in.Embeds) == 0 && !strings.Contains(in.Content, c.want)) || !in.Ephemeral {
			t.Errorf("/%s got=%q (%d embeds, ephemeral %v), want its ephemeral answer", c.cmd, in.Content, len(in.Embeds), in.Ephemeral)
		}
		t.Logf("/%s acknowledged after %s", c.cmd, delay.Round(time.Millisecond))
	}
	pingOK(t, h)
}
