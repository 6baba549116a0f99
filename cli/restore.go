package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/atomicfile"
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

func cmdRestore(ctx context.Context, e *env, args []string) (err error) {
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
	live, kdir := datadir.DBPath(cfg), datadir.KeysPath(cfg)
	if storage.SameFile(src, live) {
		return fmt.Errorf("%s is the live database itself: give a backup file (see 'bot backup')%s", e.rel(src), unchanged)
	}
	res, err := storage.Verify(ctx, src)
	if err != nil {
		return fmt.Errorf("%w%s", err, unchanged)
	}
	mk, err := datadir.MasterKey(cfg)
	if err != nil {
		return err
	}
	rk := datadir.RestoreKeys{
		Dir: kdir, Shown: e.rel(kdir), MasterKey: mk, WithKeys: *withKeys,
		Passphrase: func() ([]byte, error) { return readPassphrase(e, false) },
	}
	plan, err := rk.Plan(res)
	if err != nil {
		return fmt.Errorf("%w%s", err, unchanged)
	}
	if _, err := res.CheckRecords(ctx, plan.Keys); err != nil {
		return fmt.Errorf("%w: %w; use another backup%s", storage.ErrRecordAltered, err, unchanged)
	}
	var carried []storage.Erasure
	if res.Erasures != nil {
		if carried, err = datadir.OpenLedger(plan.Keys, res.Erasures, "the backup's erasure ledger"); err != nil {
			return fmt.Errorf("%w; use another backup%s", err, unchanged)
		}
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
	if note := restoreNotice(e, live, kdir); note != "" {
		fmt.Fprintf(e.stdout, "%sThis restore goes ahead now.\n\n", note)
	}

	now := e.clock().UTC()
	pending := pendingPath(live)
	if err := writePending(pending, src, now); err != nil {
		return fmt.Errorf("%w%s", err, unchanged)
	}
	swapped := false
	defer func() {
		// A restore stopped after the swap keeps the record, so that the
		// next one says what is in place; one that changed nothing, or
		// finished, drops it.
		if !swapped || err == nil {
			os.Remove(pending)
		}
	}()
	undoKeys, installed, err := plan.Install(rk, now)
	if err != nil {
		var undoErr *datadir.UndoError
		if errors.As(err, &undoErr) {
			return err
		}
		return fmt.Errorf("%w%s", err, unchanged)
	}
	keysDid := keysReport(e, kdir, installed)
	rr, err := storage.Restore(ctx, src, live, now, plan.Keys)
	swapped = err == nil
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
	if err := reapplyErasures(ctx, e, cfg, plan, carried, now); err != nil {
		return fmt.Errorf("the database was restored, but the erasures were not applied to it again: %w\n"+
			"Fix that before 'bot run', which applies them at start and refuses to start until it can", err)
	}
	printUndo(e, rr, plan.FromBundle, cfg)
	return nil
}

// reapplyErasures erases again, in the restored database, every member the
// erasure ledger names: a backup made before an erasure must not bring the
// member back. carried is the ledger inside the backup, merged into the
// data directory's. A ledger sealed with keys that the restore replaced
// no longer opens; it is kept aside, since its blind indexes match nothing
// the new keys compute.
func reapplyErasures(ctx context.Context, e *env, cfg *config.Config, plan *datadir.KeyPlan, carried []storage.Erasure, now time.Time) error {
	path := datadir.LedgerPath(cfg)
	if plan.FromBundle && fileExists(path) {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := datadir.OpenLedger(plan.Keys, data, path); err != nil {
			aside := path + ".before-restore-" + now.Format("20060102T150405Z")
			if err := os.Rename(path, aside); err != nil {
				return fmt.Errorf("move the previous keys' erasure ledger aside: %w", err)
			}
			report(e, []string{"kept the previous keys' erasure ledger as " + e.rel(aside) + " (it belongs with them)"})
		}
	}
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()
	if len(carried) > 0 {
		if err := datadir.AddToLedger(in, carried); err != nil {
			return err
		}
	}
	n, cases, err := datadir.ReapplyLedger(ctx, in, "restore")
	if err != nil {
		return err
	}
	if n > 0 {
		report(e, []string{fmt.Sprintf("re-applied %d %s (%d %s erased again): the backup predates them",
			n, plural(n, "erasure", "erasures"), cases, plural(cases, "case", "cases"))})
	}
	return in.DB.Checkpoint(ctx)
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// keysReport words what KeyPlan.Install did.
func keysReport(e *env, kdir string, in datadir.InstalledKeys) []string {
	var did []string
	if in.Unchanged {
		did = append(did, "the keys in "+e.rel(kdir)+" are the backup's own; left them as they are")
	}
	if in.Aside != "" {
		did = append(did, "kept the previous keys as "+e.rel(in.Aside))
	}
	if in.Installed {
		did = append(did, "installed the keys from the backup in "+e.rel(kdir)+" (mode 0600)")
	}
	return did
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

func printVerified(e *env, res *storage.VerifyResult, plan *datadir.KeyPlan, kdir string) {
	fmt.Fprintf(e.stdout, "Verified %s (%s):\n", e.rel(res.Path), humanSize(res.Size))
	check := "- SQLite integrity check passed; schema as this bot's migrations make it; no bot checksum or seal (a plain copy of a database): nothing proves its records unchanged"
	switch {
	case res.Sealed:
		check = "- SQLite integrity check passed; schema as this bot's migrations make it; checksum matches and its seal (keyed by the installation's keys) is intact"
	case res.Checksummed:
		check = "- SQLite integrity check passed; schema as this bot's migrations make it; checksum matches, but no seal (an older bot made it, or the seal was removed): nothing proves its records unchanged"
	}
	if (res.Sealed || res.Checksummed) && !res.CreatedAt.IsZero() {
		check += " (bot backup at " + res.CreatedAt.Format(time.DateTime) + " UTC)"
	}
	fmt.Fprintln(e.stdout, check)
	if n := len(res.StaleIndexes); n > 0 {
		fmt.Fprintf(e.stdout, "- SQLite found %d problems in its indexes, the tables intact: restore rebuilds the indexes\n", n)
	}
	fmt.Fprintf(e.stdout, "- schema version %d (this bot knows up to %d)\n", res.SchemaVersion, res.LatestVersion)
	if r := res.Records; r != nil {
		if r.Unsealed {
			fmt.Fprintf(e.stdout, "- audit chain of %d entries intact; its records predate sealing, so nothing proves them unchanged (restore seals them as they are)\n", r.Entries)
		} else {
			fmt.Fprintf(e.stdout, "- audit chain of %d entries intact, and all %d records match their seals\n", r.Entries, r.Records)
		}
	}
	if !plan.FromBundle {
		fmt.Fprintf(e.stdout, "- the keys in %s open it\n", e.rel(kdir))
		return
	}
	line := "- the keys inside the backup open it (passphrase accepted)"
	if plan.Why != "" {
		line = "- " + plan.Why + "; " + line[2:]
	}
	fmt.Fprintln(e.stdout, line)
}

func printUndo(e *env, rr *storage.RestoreResult, keysChanged bool, cfg *config.Config) {
	if rr.Previous == "" {
		fmt.Fprintln(e.stdout, "\nThere was no database before, so there is nothing to undo.")
	} else {
		fmt.Fprintln(e.stdout, "\nTo undo, stop the bot, then:")
		if keysChanged {
			fmt.Fprintln(e.stdout, "  put the previous keys directory (named above) back in place of "+e.rel(datadir.KeysPath(cfg)))
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

// restoreStamp is how a restore names what it keeps aside: the previous
// database and keys get ".before-restore-" and the time in this layout.
const restoreStamp = "20060102T150405Z"

// pendingRestore is what a restore records beside the database while it
// runs: a restore killed part-way leaves it, so that the next one can say
// which database is in place and how to finish or undo it.
type pendingRestore struct {
	From  string `json:"from"`
	Stamp string `json:"stamp"`
}

// pendingPath is where the record of a running restore lives.
func pendingPath(live string) string { return live + ".restore-pending" }

func writePending(path, src string, now time.Time) error {
	data, err := json.Marshal(pendingRestore{From: src, Stamp: now.Format(restoreStamp)})
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// restoreNotice describes what a restore stopped part-way (killed, or a
// power cut) left in place, or returns "" when none was. The database is
// always one whole file, the previous or the backup's copy: the restore
// swaps it in with one rename, after keeping the previous one under a
// second name. So the kept name tells which: a second name of the live
// file means the swap never happened.
func restoreNotice(e *env, live, kdir string) string {
	data, err := os.ReadFile(pendingPath(live))
	if err != nil {
		return ""
	}
	var p pendingRestore
	if json.Unmarshal(data, &p) != nil || p.Stamp == "" {
		return ""
	}
	at := p.Stamp
	if t, err := time.Parse(restoreStamp, p.Stamp); err == nil {
		at = t.Format(time.DateTime) + " UTC"
	}
	// The copy is renamed over the database in the swap: while it is
	// there, the swap has not happened, whatever the kept name is (a copy
	// rather than a second name where the file system has no hard links).
	copies, _ := filepath.Glob(filepath.Join(filepath.Dir(live), ".bot-restore-*.tmp"))
	var prev, alias string
	for _, m := range keptAside(live, p.Stamp) {
		if storage.SameFile(m, live) || len(copies) > 0 {
			alias = m
		} else if prev == "" {
			prev = m
		}
	}
	keysAside := ""
	if ks := keptAside(kdir, p.Stamp); len(ks) > 0 {
		keysAside = ks[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The restore of %s started at %s was stopped before it finished.\n", e.rel(p.From), at)
	if prev != "" {
		fmt.Fprintf(&b, "%s is the restored database, whole; the previous one is kept as %s.\n", e.rel(live), e.rel(prev))
		fmt.Fprintln(&b, "To finish: run 'bot run', which applies the erasure ledger to it again at start.")
		fmt.Fprintf(&b, "To undo: stop the bot, then run 'bot restore %s'", e.rel(prev))
		if keysAside != "" {
			fmt.Fprintf(&b, ", after putting %s back in place of %s", e.rel(keysAside), e.rel(kdir))
		}
		fmt.Fprintln(&b, ".")
		return b.String()
	}
	fmt.Fprintf(&b, "%s is still the previous database, whole: the backup was not put in place.\n", e.rel(live))
	if alias != "" {
		fmt.Fprintf(&b, "%s is a copy of it, or a second name of the same file; remove it once you no longer need it.\n", e.rel(alias))
	}
	if keysAside != "" {
		fmt.Fprintf(&b, "The keys were already replaced by the backup's, the previous ones kept as %s: "+
			"finish with 'bot restore %s', or undo by putting %s back in place of %s.\n",
			e.rel(keysAside), e.rel(p.From), e.rel(keysAside), e.rel(kdir))
		return b.String()
	}
	fmt.Fprintf(&b, "To finish: run 'bot restore %s' again. Nothing needs undoing.\n", e.rel(p.From))
	return b.String()
}

// keptAside lists what a restore at stamp kept aside of path: path with
// ".before-restore-" and the stamp, with any suffix that made the name
// free, but not SQLite's files beside a kept database.
func keptAside(path, stamp string) []string {
	names, _ := filepath.Glob(path + ".before-restore-" + stamp + "*")
	var kept []string
	for _, n := range names {
		if !strings.HasSuffix(n, "-wal") && !strings.HasSuffix(n, "-shm") && !strings.HasSuffix(n, "-journal") {
			kept = append(kept, n)
		}
	}
	return kept
}
