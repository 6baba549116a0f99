package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
)

const initUsage = `
Usage: bot init [-c FILE]

Sets up a bot in the current directory:
  - writes config.toml from the documented example, unless it exists;
  - creates the data directory (storage.data_dir, default ./data) with the
    database, its migrations applied, and the encryption keys (mode 0600);
  - seals the key sentinel that proves at every start that the keys match
    the database.

Running it again changes nothing and says so. It never replaces existing
keys: a database that holds records but has lost its keys is reported, not
overwritten.
`

func cmdInit(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("init")
	cfgPath := configFlag(flags)
	if err := parseFlags(e, flags, initUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	var did []string
	file := *cfgPath
	if file == "" {
		file = config.DefaultFile
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(e.dir(), file)
	}
	created, err := writeExampleConfig(file)
	if err != nil {
		return err
	}
	if created {
		did = append(did, fmt.Sprintf("created %s from the documented example", e.rel(file)))
	}
	cfg, err := e.loadConfig(file, nil)
	if err != nil {
		return err
	}
	dir := cfg.Storage.DataDir
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the data directory: %w (check the permissions of %s, or set storage.data_dir)", err, filepath.Dir(dir))
		}
		did = append(did, "created the data directory "+e.rel(dir))
	}
	steps, err := initData(ctx, e, cfg)
	did = append(did, steps...)
	if err != nil {
		report(e, did)
		return err
	}
	if len(did) == 0 {
		fmt.Fprintf(e.stdout, "Nothing to do: %s, the database %s and the keys in %s already exist and belong together.\n",
			e.rel(cfg.File), e.rel(datadir.DBPath(cfg)), e.rel(datadir.KeysPath(cfg)))
		return nil
	}
	report(e, did)
	fmt.Fprintf(e.stdout, `
Back up %s somewhere safe, apart from the database: without it nobody,
including you, can read the records.

Next: put the bot token in %s (discord.token) or in BOT_DISCORD_TOKEN,
then run 'bot invite' to add the bot to your server, and 'bot run'.
`, e.rel(datadir.KeysPath(cfg)), e.rel(cfg.File))
	return nil
}

// initData runs datadir.Init and words what it did.
func initData(ctx context.Context, e *env, cfg *config.Config) ([]string, error) {
	rep, err := datadir.Init(ctx, cfg)
	var did []string
	if rep.CreatedDB {
		did = append(did, "created the database "+e.rel(datadir.DBPath(cfg)))
	}
	if rep.ToVersion != rep.FromVersion {
		did = append(did, fmt.Sprintf("applied migrations: schema version %d → %d", rep.FromVersion, rep.ToVersion))
	}
	if rep.CreatedKeys {
		protected := ""
		if rep.MasterKeyed {
			protected = ", encrypted with the master key"
		}
		did = append(did, fmt.Sprintf("created the encryption keys in %s (mode 0600%s)", e.rel(datadir.KeysPath(cfg)), protected))
	}
	if rep.SealedSentinel {
		did = append(did, "sealed the key sentinel in the database")
	}
	return did, err
}

// writeExampleConfig writes the example config to path unless a file is
// there. It is 0600 from the start because the owner may paste the token
// into it.
func writeExampleConfig(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(config.Example()); err != nil {
		f.Close()
		os.Remove(path)
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, f.Close()
}
