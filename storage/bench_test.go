package storage

// Benchmarks of the case repository on the data set of storage/seed (a
// million encrypted cases), each beside its bare baseline: the same work on
// plain columns with the same connection settings. They skip unless
// BOT_BENCH_DB names a seeded database; `make bench` seeds one and sets it.
// BENCHMARKS.md has the figures.

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
)

// benchManifest is the part of storage/seed's seed.json the benchmarks use.
type benchManifest struct {
	Cases        int `json:"cases"`
	BenchMembers []struct {
		Guild string `json:"guild"`
		User  string `json:"user"`
		Cases int    `json:"cases"`
	} `json:"bench_members"`
	WarnTargets []struct {
		Guild         string `json:"guild"`
		User          string `json:"user"`
		Username      string `json:"username"`
		Moderator     string `json:"moderator"`
		ModeratorName string `json:"moderator_name"`
	} `json:"warn_targets"`
}

// benchSet is a seeded data directory, opened.
type benchSet struct {
	m    benchManifest
	db   *DB
	keys *keys.Keyring
	bare *Baseline
}

// openBenchSet opens the data set named by BOT_BENCH_DB, skipping the
// benchmark if there is none. With copy, it works on a copy in a temporary
// directory, so that writes leave the seeded data as it was; without, the
// benchmark must only read.
func openBenchSet(b *testing.B, copy bool) *benchSet {
	b.Helper()
	path := os.Getenv("BOT_BENCH_DB")
	if path == "" {
		b.Skip("set BOT_BENCH_DB to a database made by storage/seed (make bench does)")
	}
	src := filepath.Dir(path)
	raw, err := os.ReadFile(filepath.Join(src, "seed.json"))
	if err != nil {
		b.Fatal(err)
	}
	s := &benchSet{}
	if err := json.Unmarshal(raw, &s.m); err != nil {
		b.Fatal(err)
	}
	// A data set seeded by an older tree is brought to the current schema
	// in place, as `bot run` would; once done, this is a no-op.
	ctx := context.Background()
	seed, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	err = seed.Migrate(ctx)
	if err == nil {
		var kr *keys.Keyring
		if kr, err = keys.Load(keys.Options{Dir: filepath.Join(src, "keys")}); err == nil {
			_, err = SealRecords(ctx, seed, kr, "bench")
		}
	}
	if cerr := seed.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	bare, err := OpenBaseline(ctx, filepath.Join(src, "bare.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := bare.Close(); err != nil {
		b.Fatal(err)
	}
	dir := src
	if copy {
		dir = b.TempDir()
		for _, name := range []string{filepath.Base(path), "bare.db", filepath.Join("keys", keys.AEADFile), filepath.Join("keys", keys.PRFFile)} {
			benchCopy(b, filepath.Join(src, name), filepath.Join(dir, name))
		}
	}
	if s.keys, err = keys.Load(keys.Options{Dir: filepath.Join(dir, "keys")}); err != nil {
		b.Fatal(err)
	}
	if s.db, err = Open(ctx, filepath.Join(dir, filepath.Base(path))); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.db.Close() })
	if err := CheckKeys(ctx, s.db, s.keys, dir); err != nil {
		b.Fatal(err)
	}
	if s.bare, err = OpenBaseline(ctx, filepath.Join(dir, "bare.db")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.bare.Close() })
	return s
}

// benchCopy copies a file and syncs it; on Linux io.Copy between files uses
// copy_file_range, so the kernel does the work.
func benchCopy(b *testing.B, from, to string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		b.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// Written back before the benchmark starts: otherwise the first
	// sub-benchmark's commits wait in fsync behind a gigabyte of the
	// copy's dirty pages, and the ones after it do not.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// measure runs op b.N times, timing each call, and reports the throughput
// (ops/s) and the median and 99th percentile latency in microseconds.
func measure(b *testing.B, op func(i int) error) {
	b.Helper()
	durs := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		durs[i] = time.Since(t)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(percentile(durs, 0.50).Seconds()*1e6, "p50-µs")
	b.ReportMetric(percentile(durs, 0.99).Seconds()*1e6, "p99-µs")
}

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkCreate compares Cases.Create of a warning, as /warn makes it (one
// transaction, sealed columns, blind indexes, case number, audit entry),
// with a bare insert of the same values in clear, one transaction each.
// Both commit with synchronous=FULL, so each pays a WAL sync.
func BenchmarkCreate(b *testing.B) {
	s := openBenchSet(b, true)
	ctx := context.Background()
	cases := NewCases(s.db, s.keys)
	b.Run("case", func(b *testing.B) {
		measure(b, func(i int) error {
			t := s.m.WarnTargets[i%len(s.m.WarnTargets)]
			_, err := cases.Create(ctx, NewCase{
				GuildID: t.Guild, Kind: CaseWarning, TargetID: t.User, TargetName: t.Username,
				ModeratorID: t.Moderator, ModeratorName: t.ModeratorName,
				Reason: "Benchmark: spamming in #general", Points: 1, CreatedAt: time.Now(),
			})
			return err
		})
	})
	// Numbers far above the seeded ones, unique across the ramp's runs.
	next := int64(1 << 40)
	b.Run("bare-insert", func(b *testing.B) {
		measure(b, func(i int) error {
			t := s.m.WarnTargets[i%len(s.m.WarnTargets)]
			next++
			return s.bare.Insert(ctx, BaselineRow{
				GuildID: t.Guild, Number: next, Kind: CaseWarning, TargetID: t.User, TargetName: t.Username,
				ModeratorID: t.Moderator, ModeratorName: t.ModeratorName,
				Reason: "Benchmark: spamming in #general", Points: 1, CreatedAt: time.Now(),
			})
		})
	})
}

// BenchmarkListForUser compares what /warnings reads for a member with 20
// active warnings (ListForUser, which opens five sealed columns per case,
// then ActivePoints) with the bare indexed select of the same 20 rows. It
// cycles through one such member per guild, so the rows are not all in
// SQLite's page cache.
func BenchmarkListForUser(b *testing.B) {
	s := openBenchSet(b, false)
	ctx := context.Background()
	cases := NewCases(s.db, s.keys)
	members := s.m.BenchMembers
	b.Run("cases", func(b *testing.B) {
		measure(b, func(i int) error {
			m := members[i%len(members)]
			now := time.Now()
			got, err := cases.ListForUser(ctx, m.Guild, m.User, false, now)
			if err != nil {
				return err
			}
			if len(got) != m.Cases {
				b.Fatalf("member %s: got=%d cases, want %d", m.User, len(got), m.Cases)
			}
			_, err = cases.ActivePoints(ctx, m.Guild, m.User, now)
			return err
		})
	})
	b.Run("bare-select", func(b *testing.B) {
		measure(b, func(i int) error {
			m := members[i%len(members)]
			got, err := s.bare.ListForUser(ctx, m.Guild, m.User, time.Now())
			if err == nil && len(got) != m.Cases {
				b.Fatalf("member %s: got=%d rows, want %d", m.User, len(got), m.Cases)
			}
			return err
		})
	})
}

// BenchmarkVerifyDatabase is 'bot audit verify' on the data set: the audit
// chain, then every record against its seal and the chain's head. One
// iteration is one full verification; seconds is its wall time.
func BenchmarkVerifyDatabase(b *testing.B) {
	s := openBenchSet(b, false)
	ctx := context.Background()
	for b.Loop() {
		start := time.Now()
		rep, err := VerifyDatabase(ctx, s.db, s.keys)
		if err != nil || rep.Unsealed || rep.Records < s.m.Cases {
			b.Fatalf("VerifyDatabase: %+v, %v", rep, err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "seconds")
		b.ReportMetric(float64(rep.Records), "records")
	}
}

// BenchmarkEraseMember erases, on a copy of the data set, the members with
// exactly 20 active warnings (one per guild), one per iteration: a whole
// /privacy erase confirmation's storage work, 20 cases with their seals,
// counters, tombstones and the audit entry, committed. Past the last such
// member it erases members already erased (0 cases); erased-cases reports
// the mean.
func BenchmarkEraseMember(b *testing.B) {
	s := openBenchSet(b, true)
	ctx := context.Background()
	cs := NewCases(s.db, s.keys)
	members := s.m.BenchMembers
	var lat []time.Duration
	erased := 0
	i := 0
	for b.Loop() {
		m := members[i%len(members)]
		start := time.Now()
		res, err := cs.EraseMember(ctx, m.Guild, m.User, "bench", time.Now(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if i < len(members) {
			lat = append(lat, time.Since(start))
			if res.Cases < m.Cases {
				b.Fatalf("member %s: erased %d cases, want at least %d", m.User, res.Cases, m.Cases)
			}
		}
		erased += res.Cases
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(erased)/float64(i), "erased-cases")
	b.ReportMetric(percentile(lat, 0.5).Seconds()*1e3, "p50-ms")
	b.ReportMetric(lat[len(lat)-1].Seconds()*1e3, "max-ms")
}
