package storage

// The retention sweep on the seeded data set, beside a stream of /warns.
// Like the other benchmarks it skips unless BOT_BENCH_DB names a seeded
// database; it works on a copy, brought to the current schema there, so
// that the seeded file is never written.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
)

// sweepCases is how many expired cases the benchmark's sweep deletes.
const sweepCases = 100_000

// BenchmarkSweepBesideWarn deletes sweepCases cases that stopped counting,
// in batches of RetentionBatch, while another goroutine creates warnings as
// /warn does, one after another. It reports the longest and the 99th
// percentile Create latency during the sweep, and the sweep's wall time.
// The retention period is chosen so that exactly the sweepCases
// earliest-ending cases are due.
func BenchmarkSweepBesideWarn(b *testing.B) {
	path := os.Getenv("BOT_BENCH_DB")
	if path == "" {
		b.Skip("set BOT_BENCH_DB to a database made by storage/seed (make bench does)")
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db, kr, m := openSweepCopy(b, path)
		const operator = 365 * day
		var kth int64
		if err := db.read.QueryRowContext(ctx, `SELECT e FROM (SELECT (`+caseEnded+`) AS e FROM cases c)
			WHERE e IS NOT NULL ORDER BY e LIMIT 1 OFFSET ?`, sweepCases-1).Scan(&kth); err != nil {
			b.Fatal(err)
		}
		now := time.UnixMilli(kth + operator.Milliseconds() + 1)
		cases, ret := NewCases(db, kr), NewRetention(db, kr)

		stop := make(chan struct{})
		var lat []time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				t := m.WarnTargets[i%len(m.WarnTargets)]
				start := time.Now()
				if _, err := cases.Create(ctx, NewCase{
					GuildID: t.Guild, Kind: CaseWarning, TargetID: t.User, TargetName: t.Username,
					ModeratorID: t.Moderator, ModeratorName: t.ModeratorName,
					Reason: "Benchmark: spamming in #general", Points: 1, CreatedAt: time.Now(),
				}); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(start))
			}
		})
		b.StartTimer()
		start := time.Now()
		deleted, after := 0, int64(0)
		for {
			res, err := ret.SweepBatch(ctx, operator, now, after, RetentionBatch)
			if err != nil {
				b.Fatal(err)
			}
			deleted += res.Deleted
			if !res.More {
				break
			}
			after = res.Next
		}
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if deleted != sweepCases {
			b.Fatalf("the sweep deleted %d cases, want %d", deleted, sweepCases)
		}
		if rep, err := VerifyDatabase(ctx, db, kr); err != nil {
			b.Fatalf("VerifyDatabase after the sweep: %+v, %v", rep, err)
		}
		slices.Sort(lat)
		b.ReportMetric(elapsed.Seconds(), "sweep-s")
		b.ReportMetric(float64(len(lat)), "warns")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-warn-ms")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-warn-ms")
		b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-warn-ms")
		db.Close()
		b.StartTimer()
	}
}

// openSweepCopy copies the seeded database and its keys into a temporary
// directory and opens the copy at the current schema.
func openSweepCopy(b *testing.B, path string) (*DB, *keys.Keyring, benchManifest) {
	b.Helper()
	ctx := context.Background()
	src, dir := filepath.Dir(path), b.TempDir()
	for _, name := range []string{filepath.Base(path), filepath.Join("keys", keys.AEADFile), filepath.Join("keys", keys.PRFFile)} {
		benchCopy(b, filepath.Join(src, name), filepath.Join(dir, name))
	}
	var s benchSet
	raw, err := os.ReadFile(filepath.Join(src, "seed.json"))
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &s.m); err != nil {
		b.Fatal(err)
	}
	kr, err := keys.Load(keys.Options{Dir: filepath.Join(dir, "keys")})
	if err != nil {
		b.Fatal(err)
	}
	db, err := Open(ctx, filepath.Join(dir, filepath.Base(path)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := SealRecords(ctx, db, kr, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := CheckKeys(ctx, db, kr, dir); err != nil {
		b.Fatal(err)
	}
	return db, kr, s.m
}
