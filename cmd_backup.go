package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const backupUsage = `
Usage: bot backup [-c FILE] [--with-keys] [--json] [FILE]

Writes a consistent copy of the database to FILE while 'bot run' keeps
running. Without FILE the copy goes to backup.dir (default
<data_dir>/backups) as bot-<UTC time>.db; FILE may also name a directory.
An existing file is never overwritten. The copy is written under a
temporary name, synced and verified (SQLite integrity check, checksum,
schema version, and the keys open it) before it takes its name, so an
interrupted backup leaves no half-written file.

The records are encrypted: a backup is useless without the keys. Keep a
copy of the keys directory (<data_dir>/keys) apart from the backups, or use
--with-keys to put the keys inside the backup, sealed under a passphrase
(argon2id and AES-256-GCM). The passphrase is read from
BOT_BACKUP_PASSPHRASE when set, otherwise asked on the terminal; it needs
at least 12 characters. Such a backup restores a fresh machine on its own,
and is exactly as safe as its passphrase.

Scheduled backups: with backup.interval set (e.g. "24h"), 'bot run' writes
bot-<UTC time>-scheduled.db into backup.dir and keeps the newest
backup.keep of them (other files there are never removed).
`

// passphraseEnv holds the passphrase of a keys bundle for scripts.
const passphraseEnv = "BOT_BACKUP_PASSPHRASE"

// progressMinBytes is the database size from which a progress bar is worth
// drawing; smaller databases are copied in a blink.
const progressMinBytes = 8 << 20

// backupClock is the time backups are named and recorded by; tests replace it.
var backupClock = time.Now

// backupStamp formats times in backup file names: UTC, sortable, no colons
// (which Windows refuses in file names).
const backupStamp = "20060102T150405Z"

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
}

func cmdBackup(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("backup")
	cfgPath := configFlag(flags)
	withKeys := flags.Bool("with-keys", false, "put the keys in the backup, sealed under a passphrase")
	asJSON := flags.Bool("json", false, "print the result as JSON")
	if err := parseFlags(e, flags, backupUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 1 {
		return usagef("unexpected argument %q: give at most one FILE", flags.Arg(1))
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
		mk, err := masterKey(cfg)
		if err != nil {
			return err
		}
		if bundle, err = keys.ExportBundle(keysPath(cfg), mk, pass); err != nil {
			return err
		}
	}
	// No lock: a backup runs beside 'bot run' by design.
	in, err := openInstallation(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()

	start := time.Now()
	bar := &progressBar{e: e}
	res, err := in.db.BackupWithOptions(ctx, dest, storage.BackupOptions{
		Progress: bar.update, KeysBundle: bundle, Keys: in.keys,
	})
	bar.finish()
	took := time.Since(start)
	attempt := backupAttempt{At: backupClock().UTC(), Path: dest}
	if err != nil {
		attempt.Error = err.Error()
		recordBackup(cfg, attempt)
		return err
	}
	sum, err := fileSHA256(dest)
	if err != nil {
		return err
	}
	attempt.OK, attempt.Size, attempt.SHA256 = true, res.Size, sum
	if err := recordBackup(cfg, attempt); err != nil {
		fmt.Fprintf(e.stderr, "warning: the backup is complete, but its time was not recorded for 'bot health': %v\n", err)
	}

	st := in.keys.Status()
	if *asJSON {
		r := backupReport{Path: dest, Size: res.Size, SHA256: sum, SchemaVersion: res.SchemaVersion,
			CreatedAt: res.CreatedAt, WithKeys: bundle != nil, KeysDir: st.Dir, Duration: took.Seconds()}
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
	kdir := e.rel(keysPath(cfg))
	fmt.Fprintf(e.stdout, "Backed up %s to %s (%s, sha256 %s) in %s.\n",
		e.rel(dbPath(cfg)), e.rel(dest), humanSize(res.Size), sum[:16], took.Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "Verified: integrity check, checksum, schema version %d, and the keys in %s open it.\n\n", res.SchemaVersion, kdir)
	masterKeyed := cfg.Keys.MasterKey != "" || cfg.Keys.MasterKeyFile != ""
	if bundle != nil {
		fmt.Fprint(e.stdout, `The keys are inside this backup, sealed under your passphrase. 'bot restore'
needs that passphrase to use them: keep it safe, apart from the backup.
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
	base := "bot-" + backupClock().UTC().Format(backupStamp)
	name := filepath.Join(dir, base+".db")
	for i := 2; fileExists(name); i++ {
		name = filepath.Join(dir, fmt.Sprintf("%s-%d.db", base, i))
	}
	return name, nil
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
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

// fileSHA256 returns the hex SHA-256 of the file at path, for the owner to
// compare copies of a backup with.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// backupStatusFile, in the data directory, records the last backup attempt
// and the last success, so that 'bot health' can report a backup's age.
const backupStatusFile = "backup-status.json"

// scheduledSuffix ends the names of scheduled backups: retention removes
// only files named bot-<UTC time>-scheduled.db, never a manual backup.
const scheduledSuffix = "-scheduled.db"

// scheduleStartDelay is how long after start-up the first scheduled backup
// runs when none was ever made, so a bot that crashes on start does not
// back up in a loop.
var scheduleStartDelay = time.Minute

// backupStatus is the content of backupStatusFile.
type backupStatus struct {
	LastAttempt *backupAttempt `json:"last_attempt,omitempty"`
	LastSuccess *backupAttempt `json:"last_success,omitempty"`
}

// backupAttempt is one backup, manual or scheduled.
type backupAttempt struct {
	At        time.Time `json:"at"`
	Path      string    `json:"path"`
	Scheduled bool      `json:"scheduled"`
	OK        bool      `json:"ok"`
	Error     string    `json:"error,omitempty"`
	Size      int64     `json:"size,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
}

// lastBackup returns when the last successful backup (manual or scheduled)
// finished and where it went; the zero time, without error, if none is
// recorded. An error means the record is unreadable.
func lastBackup(cfg *config.Config) (at time.Time, path string, err error) {
	st, err := readBackupStatus(cfg)
	if err != nil || st.LastSuccess == nil {
		return time.Time{}, "", err
	}
	return st.LastSuccess.At, st.LastSuccess.Path, nil
}

func readBackupStatus(cfg *config.Config) (backupStatus, error) {
	var st backupStatus
	path := filepath.Join(cfg.Storage.DataDir, backupStatusFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read the backup record: %w", err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("read the backup record %s: %w; delete it, the next backup writes a new one", path, err)
	}
	return st, nil
}

// recordBackup stores a as the last attempt, and as the last success if it
// succeeded, replacing the file atomically. Two processes recording at once
// may lose one attempt; the newest one wins, which is what health needs.
func recordBackup(cfg *config.Config, a backupAttempt) error {
	st, _ := readBackupStatus(cfg) // an unreadable record is replaced
	st.LastAttempt = &a
	if a.OK {
		st.LastSuccess = &a
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Storage.DataDir, backupStatusFile)
	tmp, err := os.CreateTemp(cfg.Storage.DataDir, "."+backupStatusFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("record the backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("record the backup in %s: %w", path, err)
	}
	return nil
}

// scheduleBackups backs the database up every cfg.Backup.Interval until ctx
// ends, into cfg.Backup.Dir, keeping the newest cfg.Backup.Keep scheduled
// backups. It returns at once when the interval is 0. The first backup is
// due one interval after the last recorded success, so restarts do not
// reset the schedule. A failure is logged and recorded, and the next
// interval tries again: a backup problem never stops the bot. Scheduled
// backups do not carry the keys.
func scheduleBackups(ctx context.Context, cfg *config.Config, in *installation, log *slog.Logger) {
	every := cfg.Backup.Interval
	if every <= 0 {
		return
	}
	log = log.With(slog.String("component", "backup"))
	wait := min(every, scheduleStartDelay)
	if at, _, err := lastBackup(cfg); err != nil {
		log.Warn("could not read the last backup time; backing up soon", slog.Any("err", err))
	} else if !at.IsZero() {
		wait = min(max(at.Add(every).Sub(backupClock()), 0), every)
	}
	log.Info("scheduled backups on", slog.Duration("interval", every), slog.Int("keep", cfg.Backup.Keep),
		slog.String("dir", cfg.Backup.Dir), slog.Duration("next_in", wait.Round(time.Second)))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		scheduledBackup(ctx, cfg, in, log)
		timer.Reset(every)
	}
}

// scheduledBackup makes one scheduled backup and applies retention.
func scheduledBackup(ctx context.Context, cfg *config.Config, in *installation, log *slog.Logger) {
	now := backupClock().UTC()
	dest := filepath.Join(cfg.Backup.Dir, "bot-"+now.Format(backupStamp)+scheduledSuffix)
	start := time.Now()
	res, err := in.db.BackupWithOptions(ctx, dest, storage.BackupOptions{Keys: in.keys})
	if ctx.Err() != nil {
		return // shutting down; the next start picks the schedule up
	}
	a := backupAttempt{At: now, Path: dest, Scheduled: true}
	if err == nil {
		a.OK, a.Size = true, res.Size
		a.SHA256, err = fileSHA256(dest)
	}
	if err != nil {
		a.OK, a.Error = false, err.Error()
		log.Error("scheduled backup failed; the bot keeps running and tries again at the next interval",
			slog.String("path", dest), slog.Any("err", err))
	} else {
		log.Info("scheduled backup written", slog.String("path", dest), slog.Int64("bytes", res.Size),
			slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	}
	if rerr := recordBackup(cfg, a); rerr != nil {
		log.Warn("could not record the backup for 'bot health'", slog.Any("err", rerr))
	}
	if err != nil {
		return // keep every older backup while new ones fail
	}
	removed, err := pruneScheduled(cfg.Backup.Dir, cfg.Backup.Keep)
	for _, r := range removed {
		log.Info("removed an old scheduled backup", slog.String("path", r), slog.Int("keep", cfg.Backup.Keep))
	}
	if err != nil {
		log.Warn("could not remove old scheduled backups", slog.Any("err", err))
	}
}

// pruneScheduled removes all but the newest keep scheduled backups in dir,
// and returns the files it removed. Only names scheduledBackup makes count.
func pruneScheduled(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && isScheduledName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // the UTC time in the name sorts oldest first
	var removed []string
	var errs []error
	for len(names) > max(keep, 1) {
		p := filepath.Join(dir, names[0])
		names = names[1:]
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// isScheduledName reports whether name is bot-YYYYMMDDTHHMMSSZ-scheduled.db.
func isScheduledName(name string) bool {
	stamp, ok := strings.CutPrefix(name, "bot-")
	if !ok {
		return false
	}
	if stamp, ok = strings.CutSuffix(stamp, scheduledSuffix); !ok {
		return false
	}
	_, err := time.Parse(backupStamp, stamp)
	return err == nil
}
