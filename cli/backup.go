package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const backupUsage = `
Usage: bot backup [-c FILE] [--with-keys] [--verify quick|full] [--json] [FILE]
       bot backup --prune [-c FILE]

Writes a consistent copy of the database to FILE while 'bot run' keeps
running. Without FILE the copy goes to backup.dir (default
<data_dir>/backups) as bot-<UTC time>.db; FILE may also name a directory.
An existing file is never overwritten. The copy is written under a
temporary name, synced and verified before it takes its name, so an
interrupted backup leaves no half-written file.

Verification, --verify:
  quick (default)  SQLite's quick_check (every page and record well formed),
                   the schema against this bot's migrations, the schema
                   version, the checksum over the bytes written, and the
                   keys open it. It reads the file once.
  full             also SQLite's integrity_check, which looks up every row
                   in each of its indexes: several times slower on a large
                   database. Scheduled backups and every restore use it.

The records are encrypted: a backup is useless without the keys. Keep a
copy of the keys directory (<data_dir>/keys) apart from the backups, or use
--with-keys to put the keys inside the backup, sealed under a passphrase
(argon2id and AES-256-GCM). The passphrase is read from
BOT_BACKUP_PASSPHRASE when set, otherwise asked on the terminal; it needs
at least 12 characters. Such a backup restores a fresh machine on its own,
and is exactly as safe as its passphrase.

Backups keep the records as they were, erased members' included, until
they are removed. --prune removes the backups in backup.dir made longer
than retention.cases ago (only files named by bot: bot-<UTC time>.db and
bot-<UTC time>-scheduled.db); it refuses when retention.cases is not set.

Scheduled backups: with backup.interval set (e.g. "24h"), 'bot run' writes
bot-<UTC time>-scheduled.db into backup.dir and keeps the newest
backup.keep of them (other files there are never removed).
`

// passphraseEnv holds the passphrase of a keys bundle for scripts.
const passphraseEnv = "BOT_BACKUP_PASSPHRASE"

// progressMinBytes is the database size from which a progress bar is worth
// drawing; smaller databases are copied in a blink.
const progressMinBytes = 8 << 20

// backupReport is the --json output of bot backup.
type backupReport struct {
	Path          string    `json:"path"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
	SchemaVersion int64     `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	WithKeys      bool      `json:"with_keys"`
	KeysDir       string    `json:"keys_dir"`
	AEADKeyIDs    []uint32  `json:"aead_key_ids"`
	PRFKeyIDs     []uint32  `json:"prf_key_ids"`
	Duration      float64   `json:"duration_seconds"`
	Verify        string    `json:"verify"`
}

func cmdBackup(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("backup")
	cfgPath := configFlag(flags)
	withKeys := flags.Bool("with-keys", false, "put the keys in the backup, sealed under a passphrase")
	asJSON := flags.Bool("json", false, "print the result as JSON")
	verifyFlag := flags.String("verify", "quick", "how thoroughly to check the backup: quick or full")
	prune := flags.Bool("prune", false, "remove backups older than retention.cases instead")
	if err := parseFlags(e, flags, backupUsage, args); err != nil {
		return err
	}
	if *prune {
		if flags.NArg() > 0 || *withKeys || *asJSON || *verifyFlag != "quick" {
			return usagef("--prune takes no FILE and no other flag but -c")
		}
		cfg, err := e.loadConfig(*cfgPath, nil)
		if err != nil {
			return err
		}
		return pruneBackups(e, cfg)
	}
	if flags.NArg() > 1 {
		return usagef("unexpected argument %q: give at most one FILE", flags.Arg(1))
	}
	level, err := storage.ParseVerifyLevel(*verifyFlag)
	if err != nil {
		return usagef("--verify %q: use quick or full", *verifyFlag)
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	dest, err := backupDest(e, cfg.Backup.Dir, flags.Arg(0))
	if err != nil {
		return err
	}
	var bundle []byte
	if *withKeys {
		// Before the database is touched: a mistyped passphrase costs nothing.
		pass, err := readPassphrase(e, true)
		if err != nil {
			return err
		}
		mk, err := datadir.MasterKey(cfg)
		if err != nil {
			return err
		}
		if bundle, err = keys.ExportBundle(datadir.KeysPath(cfg), mk, pass, e.bundleKDF); err != nil {
			return err
		}
	}
	// No lock: a backup runs beside 'bot run' by design.
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()

	var ledger []byte
	if bundle != nil {
		// A fresh machine restored from this one file must know which
		// members were erased, or an older backup restored there later
		// would bring them back.
		if ledger, err = datadir.LedgerForBackup(in); err != nil {
			return err
		}
	}

	start := time.Now()
	bar := &progressBar{e: e}
	res, err := in.DB.BackupWithOptions(ctx, dest, storage.BackupOptions{
		Progress: bar.update, KeysBundle: bundle, Erasures: ledger, Keys: in.Keys, Verify: level,
	})
	bar.finish()
	took := time.Since(start)
	if level == storage.VerifyFull {
		var rep storage.FullReport
		if res != nil && res.Records != nil {
			rep = *res.Records
		}
		if v, found := datadir.NewVerification(e.clock(), "bot backup --verify full", rep, err); found {
			if rerr := datadir.RecordVerification(cfg, v); rerr != nil {
				fmt.Fprintf(e.stderr, "warning: %v ('bot health' will not show this verification)\n", rerr)
			}
		}
	}
	attempt := backups.Attempt{At: e.clock().UTC(), Path: dest}
	if err != nil {
		attempt.Error = err.Error()
		backups.Record(cfg, attempt)
		return err
	}
	sum, err := backups.SHA256(dest)
	if err != nil {
		return err
	}
	attempt.OK, attempt.Size, attempt.SHA256, attempt.Took = true, res.Size, sum, took.Seconds()
	if err := backups.Record(cfg, attempt); err != nil {
		fmt.Fprintf(e.stderr, "warning: the backup is complete, but its time was not recorded for 'bot health': %v\n", err)
	}

	st := in.Keys.Status()
	if *asJSON {
		r := backupReport{Path: dest, Size: res.Size, SHA256: sum, SchemaVersion: res.SchemaVersion,
			CreatedAt: res.CreatedAt, WithKeys: bundle != nil, KeysDir: st.Dir, Duration: took.Seconds(), Verify: res.Level.String()}
		for _, k := range st.AEAD.Keys {
			r.AEADKeyIDs = append(r.AEADKeyIDs, k.ID)
		}
		for _, k := range st.PRF.Keys {
			r.PRFKeyIDs = append(r.PRFKeyIDs, k.ID)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	kdir := e.rel(datadir.KeysPath(cfg))
	fmt.Fprintf(e.stdout, "Backed up %s to %s (%s, sha256 %s) in %s.\n",
		e.rel(datadir.DBPath(cfg)), e.rel(dest), humanSize(res.Size), sum[:16], took.Round(time.Millisecond))
	check := "SQLite's quick check"
	if res.Level == storage.VerifyFull {
		check = "SQLite's full integrity check"
	}
	fmt.Fprintf(e.stdout, "Verified: %s, the schema, schema version %d, and the keys in %s open it; sealed with them.\n", check, res.SchemaVersion, kdir)
	if r := res.Records; r != nil {
		if r.Unsealed {
			fmt.Fprintf(e.stdout, "Audit chain of %d entries intact; the records predate sealing and were not checked.\n", r.Entries)
		} else {
			fmt.Fprintf(e.stdout, "Audit chain of %d entries intact, and all %d records match their seals.\n", r.Entries, r.Records)
		}
	}
	fmt.Fprintln(e.stdout)
	masterKeyed := cfg.Keys.MasterKey != "" || cfg.Keys.MasterKeyFile != ""
	if bundle != nil {
		fmt.Fprint(e.stdout, `The keys are inside this backup, sealed under your passphrase, with the
ledger of erased members. 'bot restore' needs that passphrase to use them:
keep it safe, apart from the backup.
`)
		if masterKeyed {
			fmt.Fprintln(e.stdout, "Inside the backup the passphrase alone protects them, not the master key.")
		}
		return nil
	}
	fmt.Fprintf(e.stdout, `The keys are NOT in this backup, and without them nobody, including you,
can read it. Keep a copy of %s (aead.json and prf.json) somewhere safe,
apart from the backups, or run 'bot backup --with-keys' to seal them inside.
`, kdir)
	if masterKeyed {
		fmt.Fprintln(e.stdout, "The keysets are encrypted with the master key: keep a copy of it too.")
	}
	return nil
}

// backupDest resolves the FILE argument: a file, a directory to put a
// timestamped backup in, or "" for backup.dir.
func backupDest(e *env, dir, arg string) (string, error) {
	if arg != "" {
		if !filepath.IsAbs(arg) {
			arg = filepath.Join(e.dir(), arg)
		}
		st, err := os.Stat(arg)
		if err == nil && !st.IsDir() {
			return "", fmt.Errorf("%s already exists: choose another name (a backup never overwrites a file)", e.rel(arg))
		}
		if err != nil || !st.IsDir() {
			return arg, nil
		}
		dir = arg
	}
	base := "bot-" + e.clock().UTC().Format(backups.Stamp)
	name := filepath.Join(dir, base+".db")
	for i := 2; fileExists(name); i++ {
		name = filepath.Join(dir, fmt.Sprintf("%s-%d.db", base, i))
	}
	return name, nil
}

// progressBar draws the copy's progress on stderr when it is a terminal and
// the database is large enough for it to matter.
type progressBar struct {
	e     *env
	last  time.Time
	shown bool
}

func (p *progressBar) update(done, total int64) {
	if !p.e.terminal || total < progressMinBytes {
		return
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	const width = 30
	n := int(done * width / total)
	fmt.Fprintf(p.e.stderr, "\rbacking up [%s%s] %3d%% %s of %s ", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		done*100/total, humanSize(done), humanSize(total))
}

func (p *progressBar) finish() {
	if p.shown {
		fmt.Fprintln(p.e.stderr)
	}
}
