package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/atomicfile"
	"github.com/modbot/bot/storage"
)

const devUsage = `
Usage: bot dev init [-c FILE]
       bot dev seed [-c FILE] --cases N [--guild ID] [--seed S]
       bot dev reset [-c FILE]

Commands for a development installation, such as the one 'make dev' keeps
in .dev/. None of them touches a data directory that 'bot dev init' did not
create: a real bot's data is refused, and so is a database put in place of
the one created for development.

  init   creates the configuration file (unless it exists), the data
         directory, database and keys, as 'bot init' does, and marks them
         as development data; refused when the data directory already holds
         a database of its own
  seed   adds N synthetic cases (warnings, notes and actions on made-up
         members, some revoked), encrypted and sealed as the bot stores
         them, to the guild --guild (default: the first of
         discord.guild_ids, else a made-up one)
  reset  deletes the database and everything recorded about it, then
         creates an empty one under the same keys

seed and reset need the bot stopped.
`

// devMarkerFile, in the data directory, records that 'bot dev init'
// created its database; devMarker is what it holds.
const devMarkerFile = "development.json"

// devMarker ties the mark to one database by the creation time sealed
// into it, so that a production database copied or restored into a
// development directory is not taken for development data.
type devMarker struct {
	Purpose           string    `json:"purpose"`
	DatabaseCreatedAt time.Time `json:"database_created_at"`
}

func cmdDev(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("name a subcommand: init, seed or reset")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "--help", "-help":
		return parseFlags(e, newFlagSet("dev"), devUsage, []string{"--help"})
	case "init":
		return cmdDevInit(ctx, e, args)
	case "seed":
		return cmdDevSeed(ctx, e, args)
	case "reset":
		return cmdDevReset(ctx, e, args)
	}
	return usagef("unknown subcommand %q: use init, seed or reset", sub)
}

func cmdDevInit(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("dev init")
	cfgPath := configFlag(flags)
	if err := parseFlags(e, flags, devUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	file := *cfgPath
	if file == "" {
		file = config.DefaultFile
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(e.dir(), file)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	if _, err := writeExampleConfig(file); err != nil {
		return err
	}
	cfg, err := e.loadConfig(file, nil)
	if err != nil {
		return err
	}
	if fileExists(datadir.DBPath(cfg)) {
		if err := checkDevData(ctx, cfg); err != nil {
			return err
		}
	}
	if err := cmdInit(ctx, e, []string{"-c", file}); err != nil {
		return err
	}
	if err := markDevData(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is marked as development data: 'bot dev seed' and 'bot dev reset' work on it.\n", e.rel(cfg.Storage.DataDir))
	return nil
}

// devCommandSetup parses the flags of seed and reset, loads the
// configuration, checks the mark and locks the data directory.
func devCommandSetup(ctx context.Context, e *env, name string, args []string, extra func(*flag.FlagSet)) (*config.Config, *storage.DirLock, error) {
	flags := newFlagSet("dev " + name)
	cfgPath := configFlag(flags)
	if extra != nil {
		extra(flags)
	}
	if err := parseFlags(e, flags, devUsage, args); err != nil {
		return nil, nil, err
	}
	if flags.NArg() > 0 {
		return nil, nil, usagef("unexpected argument %q", flags.Arg(0))
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDevData(ctx, cfg); err != nil {
		return nil, nil, err
	}
	lock, err := storage.Lock(cfg.Storage.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (stop the bot, or 'make dev', first)", err)
	}
	return cfg, lock, nil
}

func cmdDevSeed(ctx context.Context, e *env, args []string) error {
	var cases *int
	var guild *string
	var seed *uint64
	cfg, lock, err := devCommandSetup(ctx, e, "seed", args, func(fs *flag.FlagSet) {
		cases = fs.Int("cases", 0, "how many cases to add")
		guild = fs.String("guild", "", "the guild ID they belong to (default: the first of discord.guild_ids)")
		seed = fs.Uint64("seed", 1, "the random seed; the same seed makes the same people and reasons")
	})
	if err != nil {
		return err
	}
	defer lock.Close()
	if *cases < 1 {
		return usagef("--cases must be at least 1")
	}
	gid := *guild
	if gid == "" && len(cfg.Discord.GuildIDs) > 0 {
		gid = fmt.Sprint(cfg.Discord.GuildIDs[0])
	}
	if gid == "" {
		gid = syntheticID(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	}
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()
	repo := storage.NewCases(in.DB, in.Keys)
	rng := rand.New(rand.NewPCG(*seed, uint64(*cases)))
	now := e.clock()
	const batchSize = 1000
	for done := 0; done < *cases; {
		n := min(batchSize, *cases-done)
		batch := make([]storage.BatchCase, n)
		for i := range batch {
			batch[i] = syntheticCase(rng, gid, now, done+i, *cases)
		}
		if err := repo.CreateBatch(ctx, batch); err != nil {
			return err
		}
		done += n
	}
	fmt.Fprintf(e.stdout, "Added %d synthetic cases to guild %s in %s.\n", *cases, gid, e.rel(datadir.DBPath(cfg)))
	return nil
}

// The made-up people and reasons of 'bot dev seed'.
var (
	devReasons = []string{"spamming invite links", "off-topic in #help", "rude to a new member", "posting NSFW outside its channel",
		"repeated pings of the staff", "advertising a server in DMs", "arguing after a warning", "impersonating a moderator"}
	devKinds = []storage.CaseKind{storage.CaseWarning, storage.CaseWarning, storage.CaseWarning, storage.CaseNote,
		storage.CaseTimeout, storage.CaseKick, storage.CaseBan}
)

// syntheticID is a snowflake of time at with a sequence number, shaped as
// Discord's are, so that the bot's staleness and parsing checks take it.
func syntheticID(at time.Time, seq int) string {
	const discordEpochMillis = 1420070400000
	return strconv.FormatUint(uint64(at.UnixMilli()-discordEpochMillis)<<22|uint64(seq&0xfff), 10)
}

// syntheticCase is the i-th of total cases, spread over the last year
// before now, oldest first, among 50 members and 5 moderators.
func syntheticCase(rng *rand.Rand, guildID string, now time.Time, i, total int) storage.BatchCase {
	start := now.AddDate(-1, 0, 0)
	at := start.Add(time.Duration(float64(now.Sub(start)) * float64(i) / float64(total)))
	member := rng.IntN(50)
	mod := rng.IntN(5)
	kind := devKinds[rng.IntN(len(devKinds))]
	c := storage.BatchCase{NewCase: storage.NewCase{
		GuildID:       guildID,
		Kind:          kind,
		TargetID:      syntheticID(time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), member+100),
		TargetName:    fmt.Sprintf("member%02d", member),
		ModeratorID:   syntheticID(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), mod+10),
		ModeratorName: fmt.Sprintf("moderator%d", mod),
		Reason:        devReasons[rng.IntN(len(devReasons))],
		CreatedAt:     at,
	}}
	switch kind {
	case storage.CaseWarning:
		c.Points = 1 + rng.IntN(3)
		if rng.IntN(5) == 0 {
			c.Revocation = &storage.Revocation{At: at.Add(time.Hour), ByID: c.ModeratorID, Reason: "appeal accepted"}
		}
	case storage.CaseTimeout:
		c.Duration = time.Duration(1+rng.IntN(24)) * time.Hour
	}
	return c
}

func cmdDevReset(ctx context.Context, e *env, args []string) error {
	cfg, lock, err := devCommandSetup(ctx, e, "reset", args, nil)
	if err != nil {
		return err
	}
	defer lock.Close()
	db := datadir.DBPath(cfg)
	// Everything that describes the old database goes with it; the keys
	// stay, and seal the new one.
	for _, path := range []string{db, db + "-wal", db + "-shm", datadir.LedgerPath(cfg), datadir.SessionPath(cfg),
		filepath.Join(cfg.Storage.DataDir, "verification.json"), filepath.Join(cfg.Storage.DataDir, "backup-status.json")} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if _, err := datadir.Init(ctx, cfg); err != nil {
		return fmt.Errorf("create the empty database: %w", err)
	}
	if err := markDevData(ctx, cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Emptied %s: a new database under the same keys in %s.\n", e.rel(db), e.rel(datadir.KeysPath(cfg)))
	return nil
}

// markDevData writes the mark of cfg's database, which must exist.
func markDevData(ctx context.Context, cfg *config.Config) error {
	created, err := databaseCreatedAt(ctx, cfg)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(devMarker{Purpose: "development", DatabaseCreatedAt: created}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(cfg.Storage.DataDir, devMarkerFile), append(b, '\n'), 0o600)
}

// checkDevData returns an error unless cfg's database is the one 'bot dev
// init' marked.
func checkDevData(ctx context.Context, cfg *config.Config) error {
	dir := cfg.Storage.DataDir
	refuse := func(why string) error {
		return fmt.Errorf("refusing to touch %s: %s. The dev commands work only on a data directory made by 'bot dev init' (as 'make dev' does)", dir, why)
	}
	raw, err := os.ReadFile(filepath.Join(dir, devMarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("it was not created for development")
	} else if err != nil {
		return err
	}
	var m devMarker
	if err := json.Unmarshal(raw, &m); err != nil || m.Purpose != "development" {
		return refuse("its " + devMarkerFile + " is not one 'bot dev init' wrote")
	}
	created, err := databaseCreatedAt(ctx, cfg)
	if err != nil {
		return err
	}
	if !created.Equal(m.DatabaseCreatedAt) {
		return refuse("its database is not the one created for development (copied or restored over it?)")
	}
	return nil
}

// databaseCreatedAt reads when cfg's database was created, without
// migrating or creating anything.
func databaseCreatedAt(ctx context.Context, cfg *config.Config) (time.Time, error) {
	path := datadir.DBPath(cfg)
	if !fileExists(path) {
		return time.Time{}, fmt.Errorf("no database at %s: run 'bot dev init' first", path)
	}
	db, err := storage.Open(ctx, path)
	if err != nil {
		return time.Time{}, err
	}
	defer db.Close()
	return storage.NewMeta(db).CreatedAt(ctx)
}
