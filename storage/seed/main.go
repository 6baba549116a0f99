// Command seed fills a new data directory with a large, realistic data set
// for the benchmarks (`make bench`, BENCHMARKS.md):
//
//	go run ./storage/seed -db .bench/data/bot.db -cases 1000000 -guilds 100 -members 200000
//
// It lays the directory out as `bot init` does (the database beside a keys
// directory, migrations applied, the key sentinel sealed), saves each guild's
// settings, and stores the cases through storage's own sealing, blind-index
// and audit code (Cases.CreateBatch), so every row is what the bot would
// have written. Beside it, it writes a bare, unencrypted copy of the same
// cases (storage.Baseline) for the benchmarks to compare against, and a
// manifest (seed.json) naming the members the benchmarks use, among them one
// member per guild with exactly 20 active warnings.
//
// The same -seed gives the same guilds, members and cases; ciphertexts
// differ, since each run makes new keys.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	db, keys, bare, manifest string
	cases, guilds, members   int
	seed                     uint64
	batch                    int
	end                      time.Time
	verifyOnly               bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.db, "db", "", "the database to create (required; must not exist), such as DATA/bot.db")
	fs.StringVar(&c.keys, "keys", "", "the keys directory to create (default: keys beside -db)")
	fs.StringVar(&c.bare, "bare", "", "the bare baseline database to create (default: bare.db beside -db; \"-\" for none)")
	fs.StringVar(&c.manifest, "manifest", "", "where to write the manifest (default: seed.json beside -db)")
	fs.IntVar(&c.cases, "cases", 1_000_000, "number of cases")
	fs.IntVar(&c.guilds, "guilds", 100, "number of guilds (1 to 255)")
	fs.IntVar(&c.members, "members", 200_000, "number of members, spread over the guilds")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed: the same seed gives the same data set")
	fs.IntVar(&c.batch, "batch", 5000, "cases per transaction")
	fs.BoolVar(&c.verifyOnly, "verify", false, "only verify an existing data set against its manifest")
	end := fs.String("end", "2025-06-01T00:00:00Z", "time of the newest case (RFC 3339); cases span the 3 years before it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.db == "" || fs.NArg() > 0 {
		return c, errors.New("usage: seed -db PATH [-keys DIR] [-cases N] [-guilds N] [-members N] [-seed N]")
	}
	var err error
	if c.end, err = time.Parse(time.RFC3339, *end); err != nil {
		return c, fmt.Errorf("-end: %w", err)
	}
	dir := filepath.Dir(c.db)
	if c.keys == "" {
		c.keys = filepath.Join(dir, "keys")
	}
	if c.bare == "" {
		c.bare = filepath.Join(dir, "bare.db")
	}
	if c.manifest == "" {
		c.manifest = filepath.Join(dir, "seed.json")
	}
	if c.batch < 1 {
		return c, errors.New("-batch must be at least 1")
	}
	return c, nil
}

// Manifest is seed.json: what was seeded and which members to benchmark
// on. The benchmarks in bot/ and storage/ read it; keep the JSON names.
type Manifest struct {
	Seed    uint64    `json:"seed"`
	Cases   int       `json:"cases"`
	Guilds  int       `json:"guilds"`
	Members int       `json:"members"`
	End     time.Time `json:"end"`

	SeedSeconds       float64 `json:"seed_seconds"`
	CasesPerSecond    float64 `json:"cases_per_second"`
	BareSeconds       float64 `json:"bare_seconds,omitempty"`
	BareRowsPerSecond float64 `json:"bare_rows_per_second,omitempty"`
	DBBytes           int64   `json:"db_bytes"`
	// AuditEntries is how many entries the audit chain should hold: one
	// per guild's settings, per case, and per revocation.
	AuditEntries int `json:"audit_entries"`

	GuildIDs []string `json:"guild_ids"`
	// BenchMembers has one member per guild with exactly 20 cases, all
	// active warnings.
	BenchMembers []Member `json:"bench_members"`
	// Heaviest is the member with the most cases in one guild.
	Heaviest Member `json:"heaviest"`
	// WarnTargets are ordinary members, each with a moderator of their
	// guild, for /warn; never a bench member.
	WarnTargets []WarnTarget `json:"warn_targets"`
}

// Member is a member of one guild and how many cases they have there.
type Member struct {
	Guild string `json:"guild"`
	User  string `json:"user"`
	Cases int    `json:"cases"`
}

// WarnTarget is a member to warn and a moderator to warn them.
type WarnTarget struct {
	Guild         string `json:"guild"`
	User          string `json:"user"`
	Username      string `json:"username"`
	Moderator     string `json:"moderator"`
	ModeratorName string `json:"moderator_name"`
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	if c.verifyOnly {
		return verifyManifest(ctx, c, out)
	}
	for _, p := range []string{c.db, c.bare, c.manifest} {
		if p == "-" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: the seed tool only creates new data; remove it first", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	p, err := newPlan(c.seed, c.cases, c.guilds, c.members, c.end)
	if err != nil {
		return err
	}
	m := &Manifest{Seed: c.seed, Cases: c.cases, Guilds: c.guilds, Members: c.members, End: c.end}
	fmt.Fprintf(out, "seeding %d cases across %d guilds and %d members into %s (seed %d)\n",
		c.cases, c.guilds, c.members, c.db, c.seed)
	counts, revoked, err := seedEncrypted(ctx, c, p, m, out)
	if err != nil {
		return err
	}
	m.AuditEntries = len(p.guilds) + c.cases + revoked
	if c.bare != "-" {
		if err := seedBare(ctx, c, p, m, out); err != nil {
			return err
		}
	}
	describe(p, counts, m)
	if st, err := os.Stat(c.db); err == nil {
		m.DBBytes = st.Size()
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.manifest, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	b := m.BenchMembers[0]
	fmt.Fprintf(out, "done: %d cases in %.1fs (%.0f cases/s), database %.0f MB\n",
		c.cases, m.SeedSeconds, m.CasesPerSecond, float64(m.DBBytes)/1e6)
	fmt.Fprintf(out, "member with exactly %d cases: user %s in guild %s (one per guild in %s)\n",
		b.Cases, b.User, b.Guild, c.manifest)
	return verify(ctx, c, m, out)
}

// verifyManifest reads the manifest and verifies the data set against it.
func verifyManifest(ctx context.Context, c config, out io.Writer) error {
	raw, err := os.ReadFile(c.manifest)
	if err != nil {
		return err
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: %w", c.manifest, err)
	}
	return verify(ctx, c, &m, out)
}

// verify reads the data set back as the bot would: the keys must open the
// sentinel, every bench member must have exactly their cases listed as
// active, and the whole audit chain must verify, which also proves the
// batches wrote it as single creates would have.
func verify(ctx context.Context, c config, m *Manifest, out io.Writer) error {
	start := time.Now()
	kr, err := keys.Load(keys.Options{Dir: c.keys})
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := storage.CheckKeys(ctx, db, kr, c.keys); err != nil {
		return err
	}
	cases := storage.NewCases(db, kr)
	for _, b := range m.BenchMembers {
		got, err := cases.ListForUser(ctx, b.Guild, b.User, false, time.Now())
		if err != nil {
			return err
		}
		if len(got) != b.Cases || len(got) != benchCases {
			return fmt.Errorf("verify: member %s of guild %s has %d active cases, want %d", b.User, b.Guild, len(got), benchCases)
		}
	}
	n, err := storage.NewAudit(db, kr).Verify(ctx)
	if err != nil {
		return fmt.Errorf("verify the audit chain: %w", err)
	}
	if n != m.AuditEntries {
		return fmt.Errorf("verify: the audit chain holds %d entries, want %d", n, m.AuditEntries)
	}
	fmt.Fprintf(out, "verified in %.1fs: keys match, %d bench members with %d active warnings each, audit chain of %d entries intact\n",
		time.Since(start).Seconds(), len(m.BenchMembers), benchCases, n)
	return db.Close()
}

// seedEncrypted creates the data directory's keys and database and stores
// the plan's cases through storage. It returns the number of cases of each
// member, per guild, and how many cases were revoked.
func seedEncrypted(ctx context.Context, c config, p *plan, m *Manifest, out io.Writer) (_ []map[int]int, revoked int, err error) {
	if err := os.MkdirAll(filepath.Dir(c.db), 0o700); err != nil {
		return nil, 0, err
	}
	kr, err := keys.Create(keys.Options{Dir: c.keys})
	if err != nil {
		return nil, 0, err
	}
	db, err := storage.Open(ctx, c.db)
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, 0, err
	}
	sentinel, err := kr.NewSentinel()
	if err != nil {
		return nil, 0, err
	}
	if err := storage.NewMeta(db).SetSentinel(ctx, sentinel); err != nil {
		return nil, 0, err
	}
	guilds := storage.NewGuilds(db, kr)
	for _, g := range p.guilds {
		s := storage.DefaultGuildSettings(g.id)
		s.ModlogChannelID = g.modlogID
		s.WarningExpiry = g.expiry
		s.ModeratorRoleIDs = []string{g.roleID}
		s.Escalations = []storage.EscalationRule{{Points: 5, Action: storage.EscalateTimeout, Duration: 24 * time.Hour}}
		if err := guilds.Save(ctx, s, g.ownerID, p.start); err != nil {
			return nil, 0, err
		}
	}

	cases := storage.NewCases(db, kr)
	gen := p.generator()
	batch := make([]storage.BatchCase, 0, c.batch)
	start, lastReport := time.Now(), time.Now()
	done := 0
	for {
		s, ok := gen.next()
		if ok {
			batch = append(batch, s.BatchCase)
		}
		if len(batch) == c.batch || (!ok && len(batch) > 0) {
			if err := cases.CreateBatch(ctx, batch); err != nil {
				return nil, 0, err
			}
			done += len(batch)
			batch = batch[:0]
			if time.Since(lastReport) >= 10*time.Second || done == p.total {
				el := time.Since(start)
				fmt.Fprintf(out, "  %7d/%d cases  %5.0fs  %6.0f cases/s\n", done, p.total, el.Seconds(), float64(done)/el.Seconds())
				lastReport = time.Now()
			}
		}
		if !ok {
			break
		}
	}
	el := time.Since(start)
	m.SeedSeconds, m.CasesPerSecond = el.Seconds(), float64(p.total)/el.Seconds()
	// A clean close leaves one self-contained file, as `bot run` does at exit.
	if err := db.Checkpoint(ctx); err != nil {
		return nil, 0, err
	}
	return gen.counts, gen.revoked, db.Close()
}

// seedBare writes the same cases, in clear, to the baseline database.
func seedBare(ctx context.Context, c config, p *plan, m *Manifest, out io.Writer) error {
	bl, err := storage.OpenBaseline(ctx, c.bare)
	if err != nil {
		return err
	}
	defer bl.Close()
	gen := p.generator()
	rows := make([]storage.BaselineRow, 0, c.batch)
	start := time.Now()
	for {
		s, ok := gen.next()
		if ok {
			rows = append(rows, s.baselineRow())
		}
		if len(rows) == c.batch || (!ok && len(rows) > 0) {
			if err := bl.InsertBatch(ctx, rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
		if !ok {
			break
		}
	}
	el := time.Since(start)
	m.BareSeconds, m.BareRowsPerSecond = el.Seconds(), float64(p.total)/el.Seconds()
	fmt.Fprintf(out, "bare baseline %s: %d rows in %.1fs (%.0f rows/s)\n", c.bare, p.total, el.Seconds(), m.BareRowsPerSecond)
	return bl.Close()
}

// describe fills the manifest's members from the plan and the case counts.
func describe(p *plan, counts []map[int]int, m *Manifest) {
	for gi, g := range p.guilds {
		m.GuildIDs = append(m.GuildIDs, g.id)
		m.BenchMembers = append(m.BenchMembers, Member{Guild: g.id, User: g.members[0].id, Cases: counts[gi][0]})
		for mi := range g.members {
			if n := counts[gi][mi]; n > m.Heaviest.Cases {
				m.Heaviest = Member{Guild: g.id, User: g.members[mi].id, Cases: n}
			}
		}
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x7761726e))
	for range 1000 {
		g := p.guilds[p.order[rng.IntN(len(p.order))]]
		t := g.members[1+rng.IntN(len(g.members)-1)]
		mod := g.moderators[rng.IntN(len(g.moderators))]
		m.WarnTargets = append(m.WarnTargets, WarnTarget{Guild: g.id, User: t.id, Username: t.name,
			Moderator: mod.id, ModeratorName: mod.name})
	}
}
