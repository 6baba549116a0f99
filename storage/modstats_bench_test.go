package storage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkModstats is what /modstats reads (Stats.Overview: the period's
// cases by kind and moderator, the five members with the most active points
// and the ten busiest moderators, with the fifteen cases that name them) on
// the data set, at the data set's end. "heaviest" is the guild with the
// most cases, over /modstats' default 30 days and its longest, 365;
// "guilds-30d" cycles through every guild, so few pages are cached.
func BenchmarkModstats(b *testing.B) {
	s := openBenchSet(b, false)
	var m struct {
		End      time.Time `json:"end"`
		GuildIDs []string  `json:"guild_ids"`
		Heaviest struct {
			Guild string `json:"guild"`
		} `json:"heaviest"`
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(os.Getenv("BOT_BENCH_DB")), "seed.json"))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	stats := NewStats(s.db, s.keys)
	run := func(guild func(i int) string, days int) func(b *testing.B) {
		return func(b *testing.B) {
			measure(b, func(i int) error {
				ov, err := stats.Overview(ctx, guild(i), m.End.AddDate(0, 0, -days), m.End, 5, 10)
				if err == nil && ov.Total == 0 {
					b.Fatalf("guild %s: no cases in %d days", guild(i), days)
				}
				return err
			})
		}
	}
	heaviest := func(int) string { return m.Heaviest.Guild }
	b.Run("heaviest-30d", run(heaviest, 30))
	b.Run("heaviest-365d", run(heaviest, 365))
	b.Run("guilds-30d", run(func(i int) string { return m.GuildIDs[i%len(m.GuildIDs)] }, 30))
}
