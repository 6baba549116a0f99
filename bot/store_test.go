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

// countingPresets counts reads of an in-memory preset store.
type countingPresets struct {
	reads int
	m     map[string][]storage.ReasonPreset
}

func (c *countingPresets) List(ctx context.Context, guild string) ([]storage.ReasonPreset, error) {
	c.reads++
	return append([]storage.ReasonPreset(nil), c.m[guild]...), nil
}

func (c *countingPresets) Put(ctx context.Context, guild string, p storage.ReasonPreset, max int, actor string, at time.Time) (bool, error) {
	c.m[guild] = append(c.m[guild], p)
	return false, nil
}

func (c *countingPresets) Remove(ctx context.Context, guild, name, actor string, at time.Time) (storage.ReasonPreset, error) {
	c.m[guild] = nil
	return storage.ReasonPreset{Name: name}, nil
}

func TestPresetsCache(t *testing.T) {
	ctx := context.Background()
	under := &countingPresets{m: map[string][]storage.ReasonPreset{"1": {{Name: "spam", Text: "Spam"}}}}
	c := newPresetsCache(under)
	p, _ := c.List(ctx, "1")
	p[0].Text = "changed by a caller"
	again, _ := c.List(ctx, "1")
	if under.reads != 1 || again[0].Text != "Spam" {
		t.Errorf("second List: %v after %d reads; want Spam from the cache after 1 read", again, under.reads)
	}
	if _, err := c.Put(ctx, "1", storage.ReasonPreset{Name: "raid", Text: "Raid"}, 25, "a", time.Now()); err != nil {
		t.Fatal(err)
	}
	if after, _ := c.List(ctx, "1"); len(after) != 2 || under.reads != 2 {
		t.Errorf("after Put: %v after %d reads; want both presets, read again", after, under.reads)
	}
	if _, err := c.Remove(ctx, "1", "raid", "a", time.Now()); err != nil {
		t.Fatal(err)
	}
	if after, _ := c.List(ctx, "1"); len(after) != 0 || under.reads != 3 {
		t.Errorf("after Remove: %v after %d reads; want none, read again", after, under.reads)
	}
	c.List(ctx, "2")
	c.forgetGuild("2")
	c.List(ctx, "2")
	if under.reads != 5 {
		t.Errorf("reads after forgetting a guild got=%d, want 5 (read again)", under.reads)
	}
}

// TestGuildCacheReadAcrossDrop checks that a read which began before a
// drop does not put what it read into the cache.
func TestGuildCacheReadAcrossDrop(t *testing.T) {
	c := newGuildCache[int]()
	loading, release := make(chan struct{}), make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.get(context.Background(), "g", func(context.Context, string) (int, error) {
			close(loading)
			<-release
			return 1, nil // the value before the write
		}, func(v int) int { return v })
		done <- v
	}()
	<-loading
	c.drop("g") // a write lands while the read is under way
	close(release)
	if v := <-done; v != 1 {
		t.Fatalf("the read returned %d, want what it loaded, 1", v)
	}
	v, _ := c.get(context.Background(), "g", func(context.Context, string) (int, error) { return 2, nil }, func(v int) int { return v })
	if v != 2 {
		t.Errorf("after a drop during a read, get returned %d from the cache; want 2, loaded afresh", v)
	}
}
