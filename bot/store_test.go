package bot

import (
	"context"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

// countingSettings counts reads of an in-memory settings store.
type countingSettings struct {
	reads int
	saved map[string]storage.GuildSettings
}

func (c *countingSettings) Get(ctx context.Context, id string) (storage.GuildSettings, error) {
	c.reads++
	if s, ok := c.saved[id]; ok {
		return s, nil
	}
	return storage.DefaultGuildSettings(id), nil
}

func (c *countingSettings) Save(ctx context.Context, s storage.GuildSettings, actor string, at time.Time) error {
	c.saved[s.GuildID] = s
	return nil
}

func TestSettingsCache(t *testing.T) {
	ctx := context.Background()
	under := &countingSettings{saved: map[string]storage.GuildSettings{}}
	c := newSettingsCache(under)
	s, _ := c.Get(ctx, "1")
	s.ModeratorRoleIDs = append(s.ModeratorRoleIDs, "99") // a caller's change must not leak into the cache
	again, _ := c.Get(ctx, "1")
	if under.reads != 1 {
		t.Errorf("reads got=%d, want 1 (the second Get is served from the cache)", under.reads)
	}
	if len(again.ModeratorRoleIDs) != 0 {
		t.Errorf("a caller's change leaked into the cache: %v", again.ModeratorRoleIDs)
	}
	s.ModlogChannelID = "5"
	if err := c.Save(ctx, s, "actor", time.Now()); err != nil {
		t.Fatal(err)
	}
	after, _ := c.Get(ctx, "1")
	if after.ModlogChannelID != "5" || under.reads != 2 {
		t.Errorf("after Save got=%+v with %d reads, want the saved settings read again", after, under.reads)
	}
}
