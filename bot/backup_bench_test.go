package bot

// BenchmarkBackup measures `bot backup` (storage.DB.Backup) on a database of
// 1 GB: its throughput beside a plain copy of the same file, and the
// latency of /warn, through the real handler, while it runs. It skips
// unless BOT_BENCH_DB names a seeded database (make bench sets it); the
// seeded 1M-case database is 771 MB, so a copy of it is first grown with
// more cases. BENCHMARKS.md has the figures.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// backupBenchSize is the size the benchmark's database is grown to: 1 GB.
const backupBenchSize = 1e9

// backupUnderWarnsLimit is how long the warns benchmark lets a backup run
// before it cancels it: long enough for one on a quiet database (about
// 40 s) to finish.
const backupUnderWarnsLimit = 60 * time.Second

// BenchmarkBackup works on a copy of the seeded data directory, grown to
// backupBenchSize once per process (the sub-benchmarks' -count runs share
// it).
//
// throughput alternates, in each iteration, a plain copy of the database
// file to a new file in the same directory (io.Copy, which is
// copy_file_range on Linux, then fsync of the file and the directory, as
// cp and sync would) and DB.Backup to a new file there. It reports both in
// MB/s of the database's size, and ratio, the copy's time divided by the
// backup's. Backup's time is all of it: the page-by-page snapshot, the
// switch to rollback journal, the checksum, the fsyncs, the default (quick)
// verification (SQLite's quick_check, the schema and the checksum again)
// and the link into place.
// snapshot-MB/s and snapshot-ratio take the time up to the last page
// copied (the progress callback reporting done == total), which includes
// SQLite's commit and fsync of the copy. verify-s is the full Verify (what
// a restore and a scheduled backup run) on the finished backup, untimed.
//
// warns runs a stream of /warns, one after the other through handleWarn
// as BenchmarkWarn does, while DB.Backup runs, and records every one that
// started before the backup returned or was cancelled, after
// backupUnderWarnsLimit. Then it runs the same stream for as long again
// without a backup, as the baseline. It reports the max, p99 and p50 of
// both, the rate of each stream, the share of backups that finished and
// how many times SQLite restarted the copy (the progress going back).
func BenchmarkBackup(b *testing.B) {
	path, m := benchSource(b)
	dir := copyBenchData(b, path, false)
	dbPath := filepath.Join(dir, filepath.Base(path))
	d := openBenchData(b, dir, filepath.Base(path), m)
	ctx := context.Background()

	grown := growBenchDB(b, d, dbPath, m)
	b.Logf("database grown by %d cases to %d bytes in %v", grown.cases, grown.size, grown.took.Round(time.Second))
	warns := prepareWarns(b, d, m)

	b.Run("throughput", func(b *testing.B) {
		if err := d.db.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		size := fileSize(b, dbPath)
		var copied, backedUp, snapshot, verified time.Duration
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			copyDest := filepath.Join(dir, fmt.Sprintf("plain-copy-%d.db", i))
			backupDest := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
			b.StartTimer()

			copied += plainCopy(b, dbPath, copyDest)
			r := timedBackup(ctx, d.db, backupDest)
			if r.err != nil {
				b.Fatal(r.err)
			}
			snapshot += r.snapshot
			backedUp += r.total

			b.StopTimer()
			if got := fileSize(b, backupDest); got < size {
				b.Fatalf("the backup has %d bytes, the database %d", got, size)
			}
			start := time.Now()
			if _, err := storage.Verify(ctx, backupDest); err != nil {
				b.Fatal(err)
			}
			verified += time.Since(start)
			removeAll(b, copyDest, backupDest)
			b.StartTimer()
		}
		b.StopTimer()
		b.ReportMetric(verified.Seconds()/float64(b.N), "verify-s")
		mb := float64(size) * float64(b.N) / 1e6
		b.ReportMetric(float64(size)/1e6, "db-MB")
		b.ReportMetric(mb/copied.Seconds(), "copy-MB/s")
		b.ReportMetric(mb/backedUp.Seconds(), "backup-MB/s")
		b.ReportMetric(mb/snapshot.Seconds(), "snapshot-MB/s")
		b.ReportMetric(copied.Seconds()/backedUp.Seconds(), "ratio")
		b.ReportMetric(copied.Seconds()/snapshot.Seconds(), "snapshot-ratio")
	})

	b.Run("warns", func(b *testing.B) {
		var during, after, baseline []time.Duration
		var backedUp, streamed time.Duration
		var finished, restarts int
		var size int64
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			// Each run starts from an empty WAL, as a backup on a quiet
			// moment would.
			if err := d.db.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			size = fileSize(b, dbPath)
			dest := filepath.Join(dir, fmt.Sprintf("backup-under-warns-%d.db", i))
			b.StartTimer()

			s := warns.start()
			b.Cleanup(s.halt) // if the benchmark fails
			bctx, cancel := context.WithTimeout(ctx, backupUnderWarnsLimit)
			start := time.Now()
			r := timedBackup(bctx, d.db, dest)
			cancel()
			total := r.total
			rec := s.stop(b)
			switch {
			case r.err == nil:
				finished++
				removeAll(b, dest)
			case errors.Is(r.err, context.DeadlineExceeded):
				b.Logf("the backup under /warns did not finish in %v: %d restarts, at most %.0f%% copied",
					backupUnderWarnsLimit, r.restarts, 100*r.highest)
			default:
				b.Fatal(r.err)
			}
			restarts += r.restarts
			snapEnd := start.Add(total)
			if r.snapshot > 0 {
				snapEnd = start.Add(r.snapshot)
			}
			var longest warnTiming
			for _, w := range rec {
				if !w.start.After(start.Add(total)) && w.took > longest.took {
					longest = w
				}
				switch {
				case w.start.After(start.Add(total)):
					// Began once the backup had returned: neither set.
				case w.start.Before(snapEnd):
					during = append(during, w.took)
				default:
					after = append(after, w.took)
				}
			}
			backedUp += total
			b.Logf("longest /warn during the backup: %.1f ms, begun %.2f s into it (snapshot %.2f s, backup %.2f s)",
				longest.took.Seconds()*1e3, longest.start.Sub(start).Seconds(), r.snapshot.Seconds(), total.Seconds())

			b.StopTimer()
			// The baseline: the same stream, as long, with no backup.
			s = warns.start()
			time.Sleep(total)
			rec = s.stop(b)
			streamed += total
			for _, w := range rec {
				if w.start.Before(s.begun.Add(total)) {
					baseline = append(baseline, w.took)
				}
			}
			b.StartTimer()
		}
		b.StopTimer()
		all := append(slices.Clone(during), after...)
		reportStream(b, "", all, backedUp)
		reportStream(b, "snap-", during, 0)
		reportStream(b, "base-", baseline, streamed)
		b.ReportMetric(float64(finished)/float64(b.N), "finished")
		b.ReportMetric(float64(restarts)/float64(b.N), "restarts")
		if finished == b.N {
			b.ReportMetric(float64(size)*float64(b.N)/1e6/backedUp.Seconds(), "backup-MB/s")
		}
	})
}

// reportStream reports the max, p99 and p50 of a stream's latencies in ms
// and, when over is not 0, how many /warns per second it made.
func reportStream(b *testing.B, prefix string, durs []time.Duration, over time.Duration) {
	if len(durs) == 0 {
		b.Fatalf("no /warn completed in the %sstream", prefix)
	}
	slices.Sort(durs)
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
	b.ReportMetric(ms(durs[len(durs)-1]), prefix+"max-ms")
	b.ReportMetric(ms(percentile(durs, 0.99)), prefix+"p99-ms")
	b.ReportMetric(ms(percentile(durs, 0.50)), prefix+"p50-ms")
	if over > 0 {
		b.ReportMetric(float64(len(durs))/over.Seconds(), prefix+"warns/s")
	}
}

// backupRun is what timedBackup saw of a backup.
type backupRun struct {
	snapshot time.Duration // until the last page was copied; 0 if never
	total    time.Duration // until Backup returned
	restarts int           // how often the progress went back
	highest  float64       // the largest share copied, 0 to 1
	err      error
}

// timedBackup runs DB.Backup to dest and times it.
func timedBackup(ctx context.Context, db *storage.DB, dest string) backupRun {
	var r backupRun
	last := int64(-1)
	start := time.Now()
	r.err = db.Backup(ctx, dest, func(done, all int64) {
		if done < last {
			r.restarts++
		}
		last = done
		r.highest = max(r.highest, float64(done)/float64(all))
		if done == all && r.snapshot == 0 {
			r.snapshot = time.Since(start)
		}
	})
	r.total = time.Since(start)
	if r.err == nil && r.snapshot == 0 {
		r.err = errors.New("the backup's progress never reached its total")
	}
	return r
}

// plainCopy copies from into the new file to and makes it durable, as
// `cp from to && sync` would, and returns how long that took.
func plainCopy(b *testing.B, from, to string) time.Duration {
	b.Helper()
	start := time.Now()
	benchCopy(b, from, to) // io.Copy: copy_file_range on Linux, as cp
	for _, name := range []string{to, filepath.Dir(to)} {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func removeAll(b *testing.B, paths ...string) {
	b.Helper()
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			b.Fatal(err)
		}
	}
}

// grownDB is what growBenchDB did.
type grownDB struct {
	cases int
	size  int64
	took  time.Duration
}

// growBenchDB adds cases to the database at dbPath, opened as d.db, with
// Cases.CreateBatch (as storage/seed does), until the file holds
// backupBenchSize bytes. The new cases are spread over the seeded guilds,
// their moderators and 300 new members per guild, with the seed's mix of
// kinds; the WAL is then checkpointed into the file.
func growBenchDB(b *testing.B, d *benchData, dbPath string, m benchManifest) grownDB {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	cases, ok := d.h.stores.Cases.(*storage.Cases)
	if !ok {
		b.Fatalf("the bot's case store is a %T, not *storage.Cases", d.h.stores.Cases)
	}
	type member struct{ id, name string }
	type guild struct {
		id         string
		moderators []member
		members    []member
	}
	rng := rand.New(rand.NewPCG(20251127, 1))
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	id := func(at time.Time) string {
		return (snowflake.New(at) | snowflake.ID(rng.Uint64N(1<<22))).String()
	}
	byID := map[string]*guild{}
	var guilds []*guild
	for _, t := range m.WarnTargets {
		g := byID[t.Guild]
		if g == nil {
			g = &guild{id: t.Guild}
			for i := range 300 {
				g.members = append(g.members, member{id(from.AddDate(-3, 0, rng.IntN(1000))), fmt.Sprintf("grown_%s_%d", t.Guild[len(t.Guild)-4:], i)})
			}
			byID[t.Guild] = g
			guilds = append(guilds, g)
		}
		g.moderators = append(g.moderators, member{t.Moderator, t.ModeratorName})
	}
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	warnings := []string{
		"Spam: the same message in five channels within a minute",
		"Advertising a crypto giveaway in #general",
		"Insulting another member during a game night",
		"Sharing someone's personal information (a photo of their school)",
		"Arguing with staff in public instead of opening a ticket",
		"Mass-mentioning @everyone via a role",
		"Graphic content in #memes",
	}
	notes := []string{
		"Second account of a regular member, confirmed by them in a ticket",
		"Was rude in a support ticket but apologised afterwards",
		"Reported for DM spam by two members; no screenshots provided",
	}
	actions := []string{"Raid wave", "Repeated spam after two warnings", "Scam links from a hacked account", "Appeal granted"}

	total, at := 0, from
	for fileSize(b, dbPath) < backupBenchSize {
		batch := make([]storage.BatchCase, 5000)
		for i := range batch {
			g := guilds[rng.IntN(len(guilds))]
			u := rng.Float64()
			target := g.members[int(float64(len(g.members))*u*u)]
			mod := g.moderators[rng.IntN(len(g.moderators))]
			at = at.Add(time.Duration(rng.Int64N(int64(20 * time.Second))))
			n := storage.NewCase{GuildID: g.id, TargetID: target.id, TargetName: target.name,
				ModeratorID: mod.id, ModeratorName: mod.name, CreatedAt: at}
			switch r := rng.Float64(); {
			case r < 0.70:
				n.Kind, n.Reason, n.Points = storage.CaseWarning, pick(warnings), 1+rng.IntN(3)
				if rng.IntN(4) == 0 {
					n.ExpiresAt = at.AddDate(0, 0, 90)
				}
				if rng.IntN(20) == 0 {
					batch[i].Revocation = &storage.Revocation{At: at.Add(48 * time.Hour), ByID: mod.id, Reason: "Issued by mistake"}
				}
			case r < 0.85:
				n.Kind, n.Reason = storage.CaseNote, pick(notes)
			case r < 0.93:
				n.Kind, n.Reason, n.Duration = storage.CaseTimeout, pick(actions), time.Hour
			case r < 0.97:
				n.Kind, n.Reason = storage.CaseKick, pick(actions)
			default:
				n.Kind, n.Reason = storage.CaseBan, pick(actions)
			}
			batch[i].NewCase = n
		}
		if err := cases.CreateBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		total += len(batch)
	}
	if err := d.db.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	return grownDB{cases: total, size: fileSize(b, dbPath), took: time.Since(start)}
}

// warnStream is the /warn traffic of the warns benchmark: the handler's
// input for 1,000 ordinary members of the seeded guilds.
type warnStream struct {
	d       *benchData
	targets []warnTarget
}

type warnTarget struct {
	in   discord.ApplicationCommandInteraction
	data discord.SlashCommandInteractionData
}

// prepareWarns sets the seeded guilds up as BenchmarkWarn does (in the
// bot's cache, with no DM, modlog or escalation, which would call Discord)
// and decodes a /warn for each warn target.
func prepareWarns(b *testing.B, d *benchData, m benchManifest) *warnStream {
	b.Helper()
	ctx := context.Background()
	settings := d.h.stores.Settings
	roles := map[string]snowflake.ID{}
	w := &warnStream{d: d}
	for _, t := range m.WarnTargets {
		if _, ok := roles[t.Guild]; !ok {
			roles[t.Guild] = d.cacheGuild(t.Guild)
			s, err := settings.Get(ctx, t.Guild)
			if err != nil {
				b.Fatal(err)
			}
			s.DMEnabled, s.ModlogChannelID, s.Escalations = false, "", nil
			if err := settings.Save(ctx, s, "bench", time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		in := slashInteraction(b, t.Guild, t.Moderator, t.ModeratorName, roles[t.Guild], "warn", []map[string]any{
			{"name": "user", "type": discord.ApplicationCommandOptionTypeUser, "value": t.User},
			{"name": "reason", "type": discord.ApplicationCommandOptionTypeString, "value": benchReason},
		}, map[string]string{t.User: t.Username})
		w.targets = append(w.targets, warnTarget{in: in, data: in.SlashCommandInteractionData()})
	}
	return w
}

// warnTiming is one /warn of a stream: when it started and how long it
// took.
type warnTiming struct {
	start time.Time
	took  time.Duration
}

// runningStream is a stream of /warns in a goroutine, each sent as soon
// as the one before has been answered.
type runningStream struct {
	begun time.Time
	once  sync.Once
	stopc chan struct{}
	done  chan struct{}
	rec   []warnTiming // written by the goroutine until done is closed
	err   error
}

// start begins the stream; stop ends it.
func (w *warnStream) start() *runningStream {
	s := &runningStream{begun: time.Now(), stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		var r responses
		for i := 0; ; i++ {
			select {
			case <-s.stopc:
				return
			default:
			}
			t := w.targets[i%len(w.targets)]
			start := time.Now()
			content, _, err := w.d.h.handleWarn(ctx, t.data, w.d.event(t.in, &r), log)
			s.rec = append(s.rec, warnTiming{start: start, took: time.Since(start)})
			if err == nil && !strings.HasPrefix(content, "Warned") {
				err = fmt.Errorf("/warn answered %q", content)
			}
			if err != nil {
				s.err = err
				return
			}
		}
	}()
	return s
}

// halt ends the stream and waits for the /warn in flight. It is safe to
// call twice.
func (s *runningStream) halt() {
	s.once.Do(func() { close(s.stopc) })
	<-s.done
}

// stop halts the stream and returns the timings of all its /warns,
// failing the benchmark if one failed.
func (s *runningStream) stop(b *testing.B) []warnTiming {
	b.Helper()
	s.halt()
	if s.err != nil {
		b.Fatalf("a /warn of the stream failed: %v", s.err)
	}
	return s.rec
}
