package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/atomicfile"
	"github.com/modbot/bot/keys"
)

const initUsage = `
Usage: bot init [-c FILE] [--master-key]

Sets up a bot in the current directory:
  - writes config.toml from the documented example, unless it exists;
  - creates the data directory (storage.data_dir, default ./data) with the
    database, its migrations applied, and the encryption keys (mode 0600);
  - seals the key sentinel that proves at every start that the keys match
    the database.

--master-key also creates a master key in master.key beside the
configuration file (mode 0600) and sets keys.master_key_file to it, so that
the keys are encrypted on disk from the start. It is refused when a master
key is already configured or the keys already exist (encrypt existing keys
with 'bot keys change-master-key').

Running it again changes nothing and says so. It never replaces existing
keys: a database that holds records but has lost its keys is reported, not
overwritten.
`

func cmdInit(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("init")
	cfgPath := configFlag(flags)
	withMaster := flags.Bool("master-key", false, "create a master key file and configure it")
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
	var masterFile string
	if *withMaster {
		if masterFile, err = initMasterKey(cfg); err != nil {
			report(e, did)
			return err
		}
		did = append(did, fmt.Sprintf("created the master key %s (mode 0600) and set keys.master_key_file in %s", e.rel(masterFile), e.rel(cfg.File)))
		if cfg, err = e.loadConfig(file, nil); err != nil {
			report(e, did)
			return err
		}
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
	if masterFile != "" {
		fmt.Fprintf(e.stdout, `
Keep a copy of the master key %s away from this machine: in a password
manager, or on a USB stick kept apart. Never beside %s or in its backups:
whoever holds both the key and the data reads every record. Without the
key, nobody, including you, can open the keys or the records.
`, e.rel(masterFile), e.rel(cfg.Storage.DataDir))
	}
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

// masterKeyFileName is where 'bot init --master-key' puts the key, beside
// the configuration file that names it.
const masterKeyFileName = "master.key"

// masterKeySetting is the line of the example configuration that
// initMasterKey fills in.
const masterKeySetting = "\nmaster_key_file = \"\"\n"

// initMasterKey creates a master key file beside cfg.File and names it in
// cfg.File. It refuses, before writing anything, when a master key is
// already configured, when keys already exist (they would stay in clear
// while the configuration names a key), or when the configuration file
// has no empty master_key_file line to fill in.
func initMasterKey(cfg *config.Config) (string, error) {
	if cfg.Keys.MasterKey != "" || cfg.Keys.MasterKeyFile != "" {
		return "", fmt.Errorf("a master key is already configured (keys.master_key_file or BOT_KEYS_MASTER_KEY); run 'bot init' without --master-key")
	}
	kdir := datadir.KeysPath(cfg)
	if ok, err := keys.Exists(kdir); err != nil {
		return "", err
	} else if ok {
		return "", fmt.Errorf("the keys in %s already exist, stored in clear; to encrypt them, run 'bot keys generate-master-key > master.key', 'chmod 600 master.key', "+
			"then 'bot keys change-master-key --new-file master.key'", kdir)
	}
	text, err := os.ReadFile(cfg.File)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", cfg.File, err)
	}
	if strings.Count(string(text), masterKeySetting) != 1 {
		return "", fmt.Errorf("%s has no line 'master_key_file = \"\"' under [keys] for bot init to fill in; create the key yourself with 'bot keys generate-master-key' and set keys.master_key_file", cfg.File)
	}
	info, err := os.Stat(cfg.File)
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(cfg.File), masterKeyFileName)
	if _, err := keys.WriteMasterKeyFile(path); err != nil {
		return "", err
	}
	line := fmt.Sprintf("\nmaster_key_file = %q\n", masterKeyFileName)
	text = []byte(strings.Replace(string(text), masterKeySetting, line, 1))
	if err := atomicfile.Write(cfg.File, text, info.Mode().Perm()); err != nil {
		return "", fmt.Errorf("%w; the master key is in %s: set keys.master_key_file = %q in %s by hand", err, path, masterKeyFileName, cfg.File)
	}
	return path, nil
}
