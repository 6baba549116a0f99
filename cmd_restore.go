package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const restoreUsage = `
Usage: bot restore [-c FILE] [--dry-run] [--with-keys] FILE

Replaces the database with the backup FILE. First it verifies the backup
(SQLite integrity check, checksum, schema version not newer than this bot,
and keys that open it), and changes nothing if a check fails. Then, if
'bot run' is not using the data directory (stop it first), it:
  - keeps the current database as bot.db.before-restore-<UTC time>;
  - puts a copy of the backup in its place in one atomic step, migrated
    up to this bot's schema if it is older;
  - prints what it did and how to undo it.

Keys: the keys in <data_dir>/keys are used if they open the backup. A
backup made with --with-keys carries its own keys, sealed under a
passphrase (read from BOT_BACKUP_PASSPHRASE, or asked on the terminal):
they are used, and installed, when the current keys do not open the backup,
or always with --with-keys. Keys they replace are kept as
keys.before-restore-<UTC time>. On a fresh machine this creates the data
directory and keys: one backup file is all it needs.

--dry-run verifies and reports, and changes nothing; it works while the
bot runs.
`

// unchanged ends the message of every refusal that left the data alone.
const unchanged = "\nNothing was changed."

// keyPlan is which keys open the backup, and whether they must be
// installed from its bundle.
type keyPlan struct {
	keys       *keys.Keyring
	fromBundle bool
	passphrase []byte
	why        string // why the current keys were not used, if they were not
}

func cmdRestore(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("restore")
	cfgPath := configFlag(flags)
	dryRun := flags.Bool("dry-run", false, "verify the backup and report; change nothing")
	withKeys := flags.Bool("with-keys", false, "install the keys carried in the backup")
	if err := parseFlags(e, flags, restoreUsage, args); err != nil {
		return err
	}
	switch flags.NArg() {
	case 0:
		return usagef("give the backup FILE to restore")
	case 1:
	default:
		return usagef("unexpected argument %q: give one backup FILE", flags.Arg(1))
	}
	src := flags.Arg(0)
	if !filepath.IsAbs(src) {
		src = filepath.Join(e.dir(), src)
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	live, kdir := dbPath(cfg), keysPath(cfg)
	if storage.SameFile(src, live) {
		return fmt.Errorf("%s is the live database itself: give a backup file (see 'bot backup')%s", e.rel(src), unchanged)
	}
	res, err := storage.Verify(ctx, src)
	if err != nil {
		return fmt.Errorf("%w%s", err, unchanged)
	}
	mk, err := masterKey(cfg)
	if err != nil {
		return err
	}
	plan, err := planKeys(e, res, kdir, mk, *withKeys)
	if err != nil {
		return fmt.Errorf("%w%s", err, unchanged)
	}
	if *dryRun {
		printVerified(e, res, plan, kdir)
		fmt.Fprintf(e.stdout, "\nDry run: nothing was changed. To restore it, stop 'bot run' and run:\n  bot restore %s\n", e.rel(src))
		return nil
	}

	dir := cfg.Storage.DataDir
	var did []string
	if !fileExists(dir) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create the data directory: %w (check the permissions of %s, or set storage.data_dir)", err, filepath.Dir(dir))
		}
		did = append(did, "created the data directory "+e.rel(dir))
	}
	lock, err := storage.Lock(dir)
	if err != nil {
		return fmt.Errorf("%w (a restore replaces the database under the bot)%s", err, unchanged)
	}
	defer lock.Close()

	now := backupClock().UTC()
	undoKeys, keysDid, err := installKeys(e, res, plan, kdir, mk, now)
	if err != nil {
		return err
	}
	rr, err := storage.Restore(ctx, src, live, now)
	if err != nil {
		if uerr := undoKeys(); uerr != nil {
			return fmt.Errorf("%w\nPutting the previous keys back failed too: %v", err, uerr)
		}
		return fmt.Errorf("%w%s", err, unchanged)
	}
	did = append(did, keysDid...)

	printVerified(e, res, plan, kdir)
	fmt.Fprintf(e.stdout, "\nRestored %s into %s:\n", e.rel(src), e.rel(live))
	if rr.Previous != "" {
		did = append(did, "kept the previous database as "+e.rel(rr.Previous))
	}
	for _, m := range rr.MovedAside {
		did = append(did, "moved "+e.rel(m)+" aside with it (the previous database could not be checkpointed)")
	}
	if rr.ToVersion != rr.FromVersion {
		did = append(did, fmt.Sprintf("migrated the restored database from schema version %d to %d", rr.FromVersion, rr.ToVersion))
	}
	report(e, did)
	if err := checkRestored(ctx, live, kdir, mk); err != nil {
		return fmt.Errorf("the database was restored, but does not open with the keys in %s: %w", kdir, err)
	}
	printUndo(e, rr, keysDid != nil, cfg)
	return nil
}

// planKeys finds the keys that open the verified backup: the installed ones
// if they do (unless withKeys), else those in the backup's bundle.
func planKeys(e *env, res *storage.VerifyResult, kdir string, mk []byte, withKeys bool) (*keyPlan, error) {
	plan := &keyPlan{}
	if !withKeys {
		exists, err := keys.Exists(kdir)
		if err != nil {
			return nil, err
		}
		var currentErr error
		if exists {
			kr, err := keys.Load(keys.Options{Dir: kdir, MasterKey: mk})
			if err == nil {
				if err = res.CheckKeys(kr); err == nil {
					return &keyPlan{keys: kr}, nil
				}
			}
			currentErr = err
			plan.why = "the keys in " + e.rel(kdir) + " do not open it"
		} else {
			plan.why = "there are no keys in " + e.rel(kdir)
		}
		if res.KeysBundle == nil {
			how := fmt.Sprintf("This backup does not carry its keys (it was made without --with-keys): put the keys directory "+
				"that was backed up with it at %s (move the current one aside first), then run 'bot restore' again", e.rel(kdir))
			if currentErr != nil {
				return nil, fmt.Errorf("the keys in %s do not open this backup: %w\n%s", e.rel(kdir), currentErr, how)
			}
			return nil, fmt.Errorf("there are no keys in %s to open this backup.\n%s", e.rel(kdir), how)
		}
	} else if res.KeysBundle == nil {
		return nil, fmt.Errorf("--with-keys: this backup does not carry keys (it was made without --with-keys); run without --with-keys to use the keys in %s", e.rel(kdir))
	}
	pass, err := readPassphrase(e, false)
	if err != nil {
		return nil, err
	}
	kr, err := keys.OpenBundle(res.KeysBundle, pass)
	if err != nil {
		return nil, err
	}
	if err := res.CheckKeys(kr); err != nil {
		return nil, fmt.Errorf("the keys inside the backup do not open it, so it is inconsistent; use another backup: %w", err)
	}
	plan.keys, plan.fromBundle, plan.passphrase = kr, true, pass
	return plan, nil
}

// installKeys installs the bundle's keys when the plan says so, moving
// other keys aside first. It returns a function that puts things back, and
// what it did.
func installKeys(e *env, res *storage.VerifyResult, plan *keyPlan, kdir string, mk []byte, now time.Time) (undo func() error, did []string, err error) {
	undo = func() error { return nil }
	if !plan.fromBundle {
		return undo, nil, nil
	}
	existed := fileExists(kdir)
	err = keys.ImportBundle(res.KeysBundle, plan.passphrase, kdir, mk)
	if err == nil {
		if existed {
			// The same keys were already there: nothing to undo.
			return undo, []string{"the keys in " + e.rel(kdir) + " are the backup's own; left them as they are"}, nil
		}
		undo = func() error { return removeKeys(kdir) }
		return undo, []string{"installed the keys from the backup in " + e.rel(kdir) + " (mode 0600)"}, nil
	}
	if !errors.Is(err, keys.ErrExist) {
		return undo, nil, fmt.Errorf("%w%s", err, unchanged)
	}
	aside := kdir + ".before-restore-" + now.Format(backupStamp)
	for i := 2; fileExists(aside); i++ {
		aside = fmt.Sprintf("%s.before-restore-%s-%d", kdir, now.Format(backupStamp), i)
	}
	if err := os.Rename(kdir, aside); err != nil {
		return undo, nil, fmt.Errorf("move the current keys aside to %s: %w%s", aside, err, unchanged)
	}
	undo = func() error {
		if err := removeKeys(kdir); err != nil {
			return err
		}
		return os.Rename(aside, kdir)
	}
	if err := keys.ImportBundle(res.KeysBundle, plan.passphrase, kdir, mk); err != nil {
		if uerr := undo(); uerr != nil {
			return nil, nil, fmt.Errorf("%w; putting the previous keys back from %s failed too: %v", err, aside, uerr)
		}
		return nil, nil, fmt.Errorf("%w%s", err, unchanged)
	}
	return undo, []string{
		"kept the previous keys as " + e.rel(aside),
		"installed the keys from the backup in " + e.rel(kdir) + " (mode 0600)",
	}, nil
}

// removeKeys removes the keyset files that installKeys wrote, and the
// directory if nothing else is in it.
func removeKeys(kdir string) error {
	for _, name := range []string{keys.AEADFile, keys.PRFFile} {
		if err := os.Remove(filepath.Join(kdir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	os.Remove(kdir) // fails, harmlessly, if other files are there
	return nil
}

// checkRestored opens the restored database as 'bot run' will.
func checkRestored(ctx context.Context, live, kdir string, mk []byte) error {
	kr, err := keys.Load(keys.Options{Dir: kdir, MasterKey: mk})
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, live)
	if err != nil {
		return err
	}
	defer db.Close()
	return storage.CheckKeys(ctx, db, kr, kdir)
}

func printVerified(e *env, res *storage.VerifyResult, plan *keyPlan, kdir string) {
	fmt.Fprintf(e.stdout, "Verified %s (%s):\n", e.rel(res.Path), humanSize(res.Size))
	check := "- SQLite integrity check passed; no bot checksum (a plain copy of a database)"
	if res.Checksummed {
		check = "- SQLite integrity check passed; checksum matches"
		if !res.CreatedAt.IsZero() {
			check += " (bot backup at " + res.CreatedAt.Format(time.DateTime) + " UTC)"
		}
	}
	fmt.Fprintln(e.stdout, check)
	fmt.Fprintf(e.stdout, "- schema version %d (this bot knows up to %d)\n", res.SchemaVersion, res.LatestVersion)
	if !plan.fromBundle {
		fmt.Fprintf(e.stdout, "- the keys in %s open it\n", e.rel(kdir))
		return
	}
	line := "- the keys inside the backup open it (passphrase accepted)"
	if plan.why != "" {
		line = "- " + plan.why + "; " + line[2:]
	}
	fmt.Fprintln(e.stdout, line)
}

func printUndo(e *env, rr *storage.RestoreResult, keysChanged bool, cfg *config.Config) {
	if rr.Previous == "" {
		fmt.Fprintln(e.stdout, "\nThere was no database before, so there is nothing to undo.")
	} else {
		fmt.Fprintln(e.stdout, "\nTo undo, stop the bot, then:")
		if keysChanged {
			fmt.Fprintln(e.stdout, "  put the previous keys directory (named above) back in place of "+e.rel(keysPath(cfg)))
		}
		fmt.Fprintf(e.stdout, "  bot restore %s\n", e.rel(rr.Previous))
	}
	if cfg.File == "" {
		fmt.Fprintln(e.stdout, "\nNext: 'bot init' writes config.toml (it keeps this database and its keys); put the token in it, then 'bot run'.")
		return
	}
	fmt.Fprintln(e.stdout, "\nNext: 'bot run'.")
}

// readPassphrase returns the passphrase of a keys bundle: from
// BOT_BACKUP_PASSPHRASE when set (scripts), otherwise typed on the terminal
// without echo, twice when confirm is set (a typo would lock the keys away).
// A new passphrase (confirm) must have keys.MinPassphraseLen characters.
func readPassphrase(e *env, confirm bool) ([]byte, error) {
	var pass []byte
	if v, ok := lookupEnv(e.environ, passphraseEnv); ok {
		pass = []byte(v)
	} else {
		f, isFile := e.stdin.(*os.File)
		if !isFile || !term.IsTerminal(int(f.Fd())) {
			return nil, fmt.Errorf("the keys in the backup need a passphrase: set %s, or run the command on a terminal to type it", passphraseEnv)
		}
		fmt.Fprint(e.stderr, "Passphrase for the keys in the backup: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, fmt.Errorf("read the passphrase: %w", err)
		}
		if confirm && len(p) > 0 {
			fmt.Fprint(e.stderr, "Type it again: ")
			again, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return nil, fmt.Errorf("read the passphrase: %w", err)
			}
			if string(again) != string(p) {
				return nil, errors.New("the two passphrases differ; nothing was written, run the command again")
			}
		}
		pass = p
	}
	n := utf8.RuneCount(pass)
	switch {
	case n == 0:
		return nil, fmt.Errorf("the passphrase is empty; type one, or set %s", passphraseEnv)
	case confirm && n < keys.MinPassphraseLen:
		return nil, fmt.Errorf("the passphrase has %d characters; use at least %d (a few random words are easy to remember and hard to guess)",
			n, keys.MinPassphraseLen)
	}
	return pass, nil
}

// lookupEnv finds key in an os.Environ-style list.
func lookupEnv(environ []string, key string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// humanSize formats a byte count for people.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
