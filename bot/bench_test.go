package bot

// Benchmarks of /warn and /warnings on the data set of storage/seed (a
// million encrypted cases across 100 guilds), beside a bare SQLite baseline
// in the same process, and of the built binary's memory while it serves
// that data set. They skip unless BOT_BENCH_DB names a seeded database (and,
// for the process benchmark, BOT_BENCH_BIN the built bot); `make bench` sets
// both. BENCHMARKS.md has the figures and what each one covers.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/disgoorg/disgo/cache"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/metrics"
	"github.com/modbot/bot/storage"
)

// benchManifest is the part of storage/seed's seed.json the benchmarks use.
type benchManifest struct {
	Cases        int `json:"cases"`
	BenchMembers []struct {
		Guild string `json:"guild"`
		User  string `json:"user"`
		Cases int    `json:"cases"`
	} `json:"bench_members"`
	Heaviest struct {
		Guild string `json:"guild"`
		User  string `json:"user"`
		Cases int    `json:"cases"`
	} `json:"heaviest"`
	WarnTargets []struct {
		Guild         string `json:"guild"`
		User          string `json:"user"`
		Username      string `json:"username"`
		Moderator     string `json:"moderator"`
		ModeratorName string `json:"moderator_name"`
	} `json:"warn_targets"`
}

// benchData is a seeded data directory, opened, with a Bot on it whose
// client never connects.
type benchData struct {
	m    benchManifest
	dir  string
	db   *storage.DB
	bare *storage.Baseline
	h    *handlers
	c    cache.Caches
}

// benchSource returns the seeded database named by BOT_BENCH_DB and its
// manifest, skipping the benchmark if there is none.
func benchSource(b *testing.B) (string, benchManifest) {
	b.Helper()
	path := os.Getenv("BOT_BENCH_DB")
	if path == "" {
		b.Skip("set BOT_BENCH_DB to a database made by storage/seed (make bench does)")
	}
	var m benchManifest
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), "seed.json"))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		b.Fatalf("read the manifest of %s: %v", path, err)
	}
	return path, m
}

// copyBenchData copies the seeded data directory (database, keys and, with
// bare, the baseline) into a temporary directory, so that a benchmark that
// writes leaves the seeded data as it was. It returns the copy's directory.
func copyBenchData(b *testing.B, path string, bare bool) string {
	b.Helper()
	migrateSeed(b, path)
	src, dir := filepath.Dir(path), b.TempDir()
	names := []string{filepath.Base(path), filepath.Join("keys", keys.AEADFile), filepath.Join("keys", keys.PRFFile)}
	if bare {
		names = append(names, "bare.db")
	}
	for _, name := range names {
		benchCopy(b, filepath.Join(src, name), filepath.Join(dir, name))
	}
	return dir
}

// migrateSeed brings a data set seeded by an older tree (the database and
// the baseline) to the current schema, in place, as `bot run` would; once done, it is a no-op. Copies
// then start migrated, instead of each rebuilding indexes of 1M rows.
func migrateSeed(b *testing.B, path string) {
	b.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	kr, err := keys.Load(keys.Options{Dir: filepath.Join(filepath.Dir(path), "keys")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := storage.SealRecords(ctx, db, kr, "bench"); err != nil {
		b.Fatal(err)
	}
	// The baseline converts its indexes to match when opened.
	bare, err := storage.OpenBaseline(ctx, filepath.Join(filepath.Dir(path), "bare.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := bare.Close(); err != nil {
		b.Fatal(err)
	}
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

// openBenchData opens the data directory dir (a copy, or the seeded one
// when the benchmark only reads) and builds a Bot on it with New. The bot's
// REST client points at a closed local port, so a code path that would
// call Discord fails at once instead of reaching the real one; the
// benchmarks keep to paths that make no REST call.
func openBenchData(b *testing.B, dir, dbName string, m benchManifest) *benchData {
	b.Helper()
	ctx := context.Background()
	kr, err := keys.Load(keys.Options{Dir: filepath.Join(dir, "keys")})
	if err != nil {
		b.Fatal(err)
	}
	d := &benchData{m: m, dir: dir}
	if d.db, err = storage.Open(ctx, filepath.Join(dir, dbName)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.db.Close() })
	if err := storage.CheckKeys(ctx, d.db, kr, dir); err != nil {
		b.Fatal(err)
	}
	if d.bare, err = storage.OpenBaseline(ctx, filepath.Join(dir, "bare.db")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.bare.Close() })
	d.h, d.c = recordedHandlers(NewStores(d.db, kr), &recordedREST{}, snowflake.New(time.Now()), time.Now)
	return d
}

// Roles and permissions of the guilds the handler benchmarks put in the
// bot's cache, as GUILD_CREATE would.
const benchModPerms = discord.PermissionModerateMembers | discord.PermissionKickMembers | discord.PermissionBanMembers

// cacheGuild puts a seeded guild in the bot's gateway cache, with an owner
// who is nobody in the data set and a moderator role, and returns that
// role's ID. The permission checks read the cache instead of REST.
func (d *benchData) cacheGuild(guild string) snowflake.ID {
	gid := snowflake.MustParse(guild)
	modRole := gid + 1<<12
	caches := d.c
	caches.AddGuild(discord.Guild{ID: gid, Name: "Bench Guild", OwnerID: gid + 2<<12})
	caches.AddRole(discord.Role{ID: gid, GuildID: gid, Name: "@everyone"})
	caches.AddRole(discord.Role{ID: modRole, GuildID: gid, Name: "Mods", Position: 5, Permissions: benchModPerms})
	return modRole
}

// slashInteraction decodes a guild slash command interaction as the gateway
// delivers it: the moderator as invoking member, options whose user values
// are resolved as members of the guild, and the bot holding the permissions
// of every command (app_permissions).
func slashInteraction(b testing.TB, guild, modID, modName string, modRole snowflake.ID, command string,
	opts []map[string]any, users map[string]string) discord.ApplicationCommandInteraction {
	b.Helper()
	joined := "2021-03-04T05:06:07Z"
	resolvedUsers, resolvedMembers := map[string]any{}, map[string]any{}
	for id, name := range users {
		resolvedUsers[id] = map[string]any{"id": id, "username": name, "discriminator": "0"}
		resolvedMembers[id] = map[string]any{"roles": []string{}, "joined_at": joined, "permissions": "0"}
	}
	raw, err := json.Marshal(map[string]any{
		"id": snowflake.New(time.Now()).String(), "type": discord.InteractionTypeApplicationCommand,
		"application_id": "1", "token": "bench", "version": 1, "guild_id": guild, "channel_id": guild,
		"locale": "en-US", "context": discord.InteractionContextTypeGuild,
		"app_permissions": strconv.FormatInt(int64(Permissions(Definitions())), 10),
		"member": map[string]any{
			"user":        map[string]any{"id": modID, "username": modName, "discriminator": "0"},
			"roles":       []string{modRole.String()},
			"joined_at":   joined,
			"permissions": strconv.FormatInt(int64(benchModPerms|discord.PermissionSendMessages), 10),
		},
		"data": map[string]any{
			"id": "2", "name": command, "type": discord.ApplicationCommandTypeSlash, "guild_id": guild,
			"options":  opts,
			"resolved": map[string]any{"users": resolvedUsers, "members": resolvedMembers},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	var in discord.ApplicationCommandInteraction
	if err := json.Unmarshal(raw, &in); err != nil {
		b.Fatal(err)
	}
	return in
}

// responses records what a handler answered in place of the REST call,
// keeping only the last answer so that a long run holds no history.
type responses struct {
	last discord.InteractionResponseData
}

func (r *responses) CreateInteractionResponse(_ snowflake.ID, _ string, resp discord.InteractionResponse, _ ...rest.RequestOpt) error {
	r.last = resp.Data
	return nil
}

func (r *responses) UpdateInteractionResponse(snowflake.ID, string, discord.MessageUpdate, ...rest.RequestOpt) (*discord.Message, error) {
	return &discord.Message{}, nil
}

func (r *responses) CreateFollowupMessage(snowflake.ID, string, discord.MessageCreate, ...rest.RequestOpt) (*discord.Message, error) {
	return &discord.Message{}, nil
}

// event wraps an interaction as the router hands it to a handler.
func (d *benchData) event(in discord.ApplicationCommandInteraction, r *responses) *event {
	return &event{Interaction: in, ctx: context.Background(), rest: r}
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
	reportLatency(b, durs, elapsed)
}

func reportLatency(b *testing.B, durs []time.Duration, elapsed time.Duration) {
	slices.Sort(durs)
	b.ReportMetric(float64(len(durs))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(percentile(durs, 0.50).Seconds()*1e6, "p50-µs")
	b.ReportMetric(percentile(durs, 0.99).Seconds()*1e6, "p99-µs")
}

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

const benchReason = "Benchmark: spamming in #general"

// BenchmarkWarn runs the /warn handler (handleWarn: the moderator and
// target checks against the cached guild, reading the options, storing the
// case with Cases.Create, the modlog embed, the member's active points and
// the reply) on a copy of the seeded data, cycling through 1,000 members
// of all guilds. What it leaves out is Discord: the deferral and the edit
// of the reply, the DM and the modlog post are REST calls, so the copy's
// guilds have DMs, the modlog and escalation turned off.
//
// bare-insert is the baseline: one INSERT of the same values in clear, one
// transaction each, on the bare table of the same size, with the same
// connection settings (synchronous=FULL: one WAL sync per commit, as /warn).
func BenchmarkWarn(b *testing.B) {
	path, m := benchSource(b)
	d := openBenchData(b, copyBenchData(b, path, true), filepath.Base(path), m)
	ctx := context.Background()
	targets := prepareWarns(b, d, m).targets
	log := slog.New(slog.DiscardHandler)
	// The handler runs with metrics on, as under bot run: its case and
	// DMs counted, and the interaction reported with its duration.
	met := metrics.New(metrics.Sources{})
	d.h.stores.Cases = observedCases{CaseStore: d.h.stores.Cases, obs: met}
	d.h.discord.obs = met
	var r responses
	warn := func(i int) error {
		t := targets[i%len(targets)]
		start := time.Now()
		content, _, err := d.h.handleWarn(ctx, t.data, d.event(t.in, &r), log)
		if err == nil && !strings.HasPrefix(content, "Warned") {
			err = fmt.Errorf("/warn answered %q", content)
		}
		met.InteractionDone("warn", outcomeOf(err), time.Since(start))
		return err
	}
	// Numbers far above the seeded ones, unique across the ramp's runs.
	next := int64(1 << 40)
	bare := func(i int) error {
		t := m.WarnTargets[i%len(m.WarnTargets)]
		next++
		return d.bare.Insert(ctx, storage.BaselineRow{
			GuildID: t.Guild, Number: next, Kind: storage.CaseWarning, TargetID: t.User, TargetName: t.Username,
			ModeratorID: t.Moderator, ModeratorName: t.ModeratorName, Reason: benchReason, Points: 1,
			CreatedAt: time.Now(),
		})
	}
	b.Run("handler", func(b *testing.B) { measure(b, warn) })
	b.Run("bare-insert", func(b *testing.B) { measure(b, bare) })
	// paired alternates blocks of pairedBlock /warns and as many bare
	// inserts, so that both see the same minute of a shared disk whose
	// speed drifts by half within minutes, which -count cannot give: it
	// runs each sub-benchmark's runs one after the other. Each block ends
	// by checkpointing its own database, timed, so that the checkpoints a
	// block's commits cause are paid by that block and not by the next.
	// Its ratio is the handler's throughput over the baseline's.
	b.Run("paired", func(b *testing.B) {
		hd := make([]time.Duration, 0, b.N)
		var handlerTotal, bareTotal time.Duration
		block := func(from, n int, op func(int) error, checkpoint func(context.Context) error, record bool) time.Duration {
			start := time.Now()
			for i := from; i < from+n; i++ {
				t := time.Now()
				if err := op(i); err != nil {
					b.Fatal(err)
				}
				if record {
					hd = append(hd, time.Since(t))
				}
			}
			if err := checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		// The records of the block's modlog posts are committed in the
		// block, not left to land in the next one.
		warnSettle := func(ctx context.Context) error {
			d.h.discord.modlogQueue.flush(ctx)
			return d.db.Checkpoint(ctx)
		}
		b.ResetTimer()
		for done := 0; done < b.N; done += pairedBlock {
			n := min(pairedBlock, b.N-done)
			handlerTotal += block(done, n, warn, warnSettle, true)
			bareTotal += block(done, n, bare, d.bare.Checkpoint, false)
		}
		b.StopTimer()
		slices.Sort(hd)
		b.ReportMetric(float64(b.N)/handlerTotal.Seconds(), "ops/s")
		b.ReportMetric(float64(b.N)/bareTotal.Seconds(), "bare-ops/s")
		b.ReportMetric(bareTotal.Seconds()/handlerTotal.Seconds(), "ratio")
		b.ReportMetric(percentile(hd, 0.50).Seconds()*1e6, "p50-µs")
		b.ReportMetric(percentile(hd, 0.99).Seconds()*1e6, "p99-µs")
	})
}

// pairedBlock is how many operations each side of Warn/paired runs in a
// row: about a quarter of a second, long enough that the switch between
// the two databases costs little, short enough that the disk stays the
// same.
const pairedBlock = 250

// BenchmarkWarnings runs the /warnings handler (handleWarnings: the
// moderator check, the guild's settings, ListForUser and ActivePoints, and
// the first page's embed and buttons) on the seeded data, read only,
// cycling through the member with exactly 20 active warnings of each of the
// 100 guilds. The answer goes to a recorder instead of Discord.
//
// bare-select is the baseline: the indexed select of the same 20 rows in
// clear from the bare table. heaviest is /warnings for the member with the
// most cases, for scale.
func BenchmarkWarnings(b *testing.B) {
	path, m := benchSource(b)
	migrateSeed(b, path)
	d := openBenchData(b, filepath.Dir(path), filepath.Base(path), m)
	ctx := context.Background()
	type target struct {
		in    discord.ApplicationCommandInteraction
		data  discord.SlashCommandInteractionData
		cases int
	}
	prepare := func(guild, user string, cases int) target {
		role := d.cacheGuild(guild)
		mod := snowflake.MustParse(guild) + 3<<12
		in := slashInteraction(b, guild, mod.String(), "benchmod", role, "warnings", []map[string]any{
			{"name": "user", "type": discord.ApplicationCommandOptionTypeUser, "value": user},
		}, map[string]string{user: "member"})
		return target{in: in, data: in.SlashCommandInteractionData(), cases: cases}
	}
	var targets []target
	for _, bm := range m.BenchMembers {
		targets = append(targets, prepare(bm.Guild, bm.User, bm.Cases))
	}
	run := func(targets []target, exact bool) func(b *testing.B) {
		return func(b *testing.B) {
			var r responses
			measure(b, func(i int) error {
				t := targets[i%len(targets)]
				if err := d.h.handleWarnings(d.event(t.in, &r), t.data); err != nil {
					return err
				}
				msg, ok := r.last.(discord.MessageCreate)
				want := plural(int64(t.cases), "active warning")
				if !ok || len(msg.Embeds) != 1 || msg.Embeds[0].Footer == nil ||
					(exact && !strings.HasSuffix(msg.Embeds[0].Footer.Text, want)) {
					return fmt.Errorf("/warnings answered %+v, want a page of %s", r.last, want)
				}
				return nil
			})
		}
	}
	b.Run("handler", run(targets, true))
	b.Run("bare-select", func(b *testing.B) {
		measure(b, func(i int) error {
			bm := m.BenchMembers[i%len(m.BenchMembers)]
			rows, err := d.bare.ListForUser(ctx, bm.Guild, bm.User, time.Now())
			if err == nil && len(rows) != bm.Cases {
				err = fmt.Errorf("member %s: got=%d rows, want %d", bm.User, len(rows), bm.Cases)
			}
			return err
		})
	})
	// Not every case of the heaviest member is an active warning, so its
	// footer count is not checked.
	b.Run("heaviest", run([]target{prepare(m.Heaviest.Guild, m.Heaviest.User, m.Heaviest.Cases)}, false))
}

// BenchmarkProcess runs the built binary, `bot run`, as a child process on
// a copy of the seeded data, against discordtest in this process, and
// reports its memory: VmRSS once ready (rss-idle-MB) and after the
// commands below (rss-MB), and the peak VmHWM (hwm-MB), from
// /proc/PID/status. warnings-e2e is /warnings as a moderator sees it, from
// the fake sending the interaction over the gateway to the reply arriving
// by REST: everything, over loopback. The fake guild is new, so its member
// is first given 20 warnings with /warn through the fake.
func BenchmarkProcess(b *testing.B) {
	path, _ := benchSource(b)
	bin := os.Getenv("BOT_BENCH_BIN")
	if bin == "" {
		b.Skip("set BOT_BENCH_BIN to the built bot (make bench does)")
	}
	dir := copyBenchData(b, path, false)
	srv := discordtest.NewServer()
	b.Cleanup(srv.Close)
	g := srv.AddGuild(discordtest.GuildOptions{Name: "Bench Guild"})
	mods := g.AddRole("Mods", benchModPerms, 5)
	mod := g.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{mods}})
	target := g.AddMember(discordtest.MemberOptions{Username: "target"})

	p := startBot(b, bin, dir, srv, g)
	idle := p.status(b)
	invoke := func(command string, opts discordtest.Options) (*discordtest.Interaction, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.InvokeSlash(ctx, g, mod, command, opts)
	}
	for i := range benchCases {
		in, err := invoke("warn", discordtest.Options{"user": target, "reason": fmt.Sprintf("%s (%d)", benchReason, i)})
		if err != nil || !strings.HasPrefix(in.Content, "Warned") {
			b.Fatalf("/warn through the fake: %v, %+v\n%s", err, in, p.log.String())
		}
	}
	b.Run("warnings-e2e", func(b *testing.B) {
		want := plural(benchCases, "active warning")
		measure(b, func(int) error {
			in, err := invoke("warnings", discordtest.Options{"user": target})
			if err == nil && (len(in.Embeds) != 1 || in.Embeds[0].Footer == nil || !strings.HasSuffix(in.Embeds[0].Footer.Text, want)) {
				err = fmt.Errorf("/warnings through the fake answered %+v, want %s", in, want)
			}
			return err
		})
	})
	b.Run("rss", func(b *testing.B) {
		st := p.status(b)
		for range b.N {
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(idle.rss, "rss-idle-MB")
		b.ReportMetric(st.rss, "rss-MB")
		b.ReportMetric(st.hwm, "hwm-MB")
	})
}

// benchCases is how many warnings the process benchmark gives its member,
// as many as the seeded members /warnings is measured on.
const benchCases = 20

// botProcess is a running `bot run`.
type botProcess struct {
	cmd *exec.Cmd
	log lockedBuffer // its stderr
}

// lockedBuffer is a bytes.Buffer that exec's copying goroutine may write
// while a failing benchmark reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startBot starts bin run with its configuration in BOT_* variables (no
// config file), pointed at srv and at the data directory dir, and waits
// until it has registered its commands. It is stopped with SIGTERM, as a
// service manager would, when the benchmark ends.
func startBot(b *testing.B, bin, dir string, srv *discordtest.Server, g *discordtest.Guild) *botProcess {
	b.Helper()
	p := &botProcess{cmd: exec.Command(bin, "run")}
	p.cmd.Dir = dir
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"BOT_DISCORD_TOKEN=" + srv.Token(),
		"BOT_DISCORD_API_URL=" + srv.APIURL(),
		"BOT_DISCORD_GATEWAY_URL=" + srv.GatewayURL(),
		"BOT_DISCORD_GUILD_IDS=" + g.ID.String(),
		"BOT_STORAGE_DATA_DIR=" + dir,
		"BOT_HTTP_LISTEN=",
		"BOT_LOG_LEVEL=warn",
		"BOT_LOG_FORMAT=json",
		// For a diagnosis such as gctrace=1; BOT_BENCH_LOG keeps the log.
		"GODEBUG=" + os.Getenv("BOT_BENCH_GODEBUG"),
	}
	p.cmd.Stderr = &p.log
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	b.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				b.Errorf("bot run exited with %v:\n%s", err, p.log.String())
			}
			if path := os.Getenv("BOT_BENCH_LOG"); path != "" {
				if err := os.WriteFile(path, []byte(p.log.String()), 0o600); err != nil {
					b.Error(err)
				}
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			b.Error("bot run did not stop within 30s of SIGTERM")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for len(srv.Commands(g.ID)) == 0 {
		select {
		case err := <-exited:
			b.Fatalf("bot run exited during start-up: %v\n%s", err, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatal("bot run did not register its commands within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// procStatus is the memory of a process, in MB (10⁶ bytes; /proc counts
// KiB).
type procStatus struct{ rss, hwm float64 }

// status reads VmRSS (resident now) and VmHWM (the peak) of the process.
func (p *botProcess) status(b *testing.B) procStatus {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var st procStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			b.Fatalf("/proc status %s: %q", name, value)
		}
		if name == "VmRSS" {
			st.rss = kb * 1024 / 1e6
		} else {
			st.hwm = kb * 1024 / 1e6
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return st
}
