package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/config"
)

// manualBackupName matches the names 'bot backup' gives in backup.dir:
// bot-<UTC time>.db, or bot-<UTC time>-N.db when that was taken.
var manualBackupName = regexp.MustCompile(`^bot-(\d{8}T\d{6}Z)(-\d+)?\.db$`)

// backupTime returns when the backup named name was made, from its name,
// and whether the bot gave it that name; files it did not name are never
// pruned.
func backupTime(name string) (time.Time, bool) {
	var stamp string
	switch {
	case backups.IsScheduledName(name):
		stamp = name[len("bot-") : len(name)-len(backups.ScheduledSuffix)]
	case manualBackupName.MatchString(name):
		stamp = manualBackupName.FindStringSubmatch(name)[1]
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(backups.Stamp, stamp)
	return t, err == nil
}

// pruneBackups removes the backups in backup.dir made longer than
// retention.cases ago: they hold records, erased ones included, that the
// database no longer keeps. Only files named by the bot go.
func pruneBackups(e *env, cfg *config.Config) error {
	if cfg.Retention.Cases <= 0 {
		return errors.New("retention.cases is not set, so cases are kept forever and no backup is too old: " +
			"set retention.cases (e.g. \"2y\") in config.toml or BOT_RETENTION_CASES to prune backups older than that")
	}
	dir := cfg.Backup.Dir
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "No backups in %s: nothing to prune.\n", e.rel(dir))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the backup directory: %w; check backup.dir and its permissions", err)
	}
	cutoff := e.clock().Add(-cfg.Retention.Cases)
	var old []string
	for _, en := range entries {
		if at, ok := backupTime(en.Name()); ok && en.Type().IsRegular() && at.Before(cutoff) {
			old = append(old, en.Name())
		}
	}
	sort.Strings(old)
	var errs []error
	removed := 0
	for _, name := range old {
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		fmt.Fprintf(e.stdout, "removed %s\n", e.rel(p))
	}
	fmt.Fprintf(e.stdout, "Pruned %d %s made before %s (retention.cases); other files in %s are left alone.\n",
		removed, plural(removed, "backup", "backups"), cutoff.UTC().Format(time.DateTime+" UTC"), e.rel(dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w; remove these by hand", err)
	}
	return nil
}
