package backups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// ScheduledSuffix ends the names of scheduled backups: retention removes
// only files named bot-<UTC time>-scheduled.db, never a manual backup.
const ScheduledSuffix = "-scheduled.db"

// DefaultStartDelay is how long after start-up the first scheduled backup
// runs when none was ever made, so a bot that crashes on start does not
// back up in a loop.
const DefaultStartDelay = time.Minute

// Scheduler makes the scheduled backups of one open database. Build it
// with NewScheduler; the exported fields may be changed before Run.
type Scheduler struct {
	// Config gives backup.interval, backup.dir, backup.keep and the data
	// directory that holds the backup record.
	Config *config.Config
	// DB is the database to back up, and Keys the keys that must open each
	// backup before it is kept.
	DB   *storage.DB
	Keys *keys.Keyring
	// Log receives one line per backup, failure and removed file.
	Log *slog.Logger
	// Now names and records each backup.
	Now func() time.Time
	// StartDelay bounds the wait for the first backup when none is recorded.
	StartDelay time.Duration
	// Observer, if set, is told of each scheduled backup that fails, for
	// metrics; the time and duration of the last success are in the
	// status file, which manual backups write too.
	Observer Observer

	live *liveSchedule // what SetSchedule changed; nil until NewScheduler
}

// Observer is told of failed backups. Its method must return at once.
type Observer interface {
	BackupFailed()
}

// liveSchedule is the schedule SetSchedule sets while Run reads it. It is
// held by pointer, so a copy of a Scheduler shares it.
type liveSchedule struct {
	mu      sync.Mutex
	cfg     *config.Config // nil until SetSchedule
	changed chan struct{}  // SetSchedule wakes Run through it
}

// NewScheduler returns a Scheduler for db on the real clock.
func NewScheduler(cfg *config.Config, db *storage.DB, kr *keys.Keyring, log *slog.Logger) *Scheduler {
	return &Scheduler{Config: cfg, DB: db, Keys: kr, Log: log, Now: time.Now, StartDelay: DefaultStartDelay,
		live: &liveSchedule{changed: make(chan struct{}, 1)}}
}

// SetSchedule changes backup.interval and backup.keep of a running
// Scheduler: the next backup is due one new interval after the last
// success, and the next retention keeps the new count. An interval of 0
// pauses the schedule until a later SetSchedule. A Scheduler whose Run
// returned at once, its interval being 0 at start, stays stopped.
func (s *Scheduler) SetSchedule(interval time.Duration, keep int) {
	cfg := *s.config()
	cfg.Backup.Interval, cfg.Backup.Keep = interval, keep
	s.live.mu.Lock()
	s.live.cfg = &cfg
	s.live.mu.Unlock()
	select {
	case s.live.changed <- struct{}{}:
	default:
	}
}

// config returns the configuration in force: Config, with the schedule
// SetSchedule gave.
func (s *Scheduler) config() *config.Config {
	if s.live == nil {
		return s.Config
	}
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if s.live.cfg != nil {
		return s.live.cfg
	}
	return s.Config
}

// changed is the channel SetSchedule signals on; nil, which never
// receives, for a Scheduler not made by NewScheduler.
func (s *Scheduler) changed() <-chan struct{} {
	if s.live == nil {
		return nil
	}
	return s.live.changed
}

// Run backs the database up every backup.interval until ctx ends, into
// backup.dir, keeping the newest backup.keep scheduled backups. It returns
// at once when the interval is 0. The first backup is due one interval
// after the last recorded success, so restarts do not reset the schedule. A
// failure is logged and recorded, and the next interval tries again: a
// backup problem never stops the bot. Scheduled backups do not carry the
// keys.
func (s *Scheduler) Run(ctx context.Context) {
	cfg := s.config()
	log := s.Log.With(slog.String("component", "backup"))
	// Off at start: wait for a SetSchedule that turns it on (a reload).
	for cfg.Backup.Interval <= 0 {
		select {
		case <-ctx.Done():
			return
		case <-s.changed():
			cfg = s.config()
		}
	}
	every := cfg.Backup.Interval
	timer := time.NewTimer(s.firstWait(cfg, log, min(every, s.StartDelay)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.changed():
			timer.Stop()
			if cfg = s.config(); cfg.Backup.Interval > 0 {
				timer.Reset(s.firstWait(cfg, log, min(cfg.Backup.Interval, s.StartDelay)))
			} else {
				log.Info("scheduled backups paused (backup.interval is 0)")
			}
			continue
		case <-timer.C:
		}
		s.backupRecovering(ctx, log)
		if every := s.config().Backup.Interval; every > 0 {
			timer.Reset(every)
		} // else paused: the SetSchedule that set 0 has signalled changed

	}
}

// firstWait logs the schedule of cfg and returns the wait for its next
// backup: one interval after the last recorded success, or fresh when
// none is recorded.
func (s *Scheduler) firstWait(cfg *config.Config, log *slog.Logger, fresh time.Duration) time.Duration {
	every := cfg.Backup.Interval
	wait := fresh
	if at, _, err := Last(cfg); err != nil {
		log.Warn("could not read the last backup time; backing up soon", slog.Any("err", err))
	} else if !at.IsZero() {
		wait = min(max(at.Add(every).Sub(s.Now()), 0), every)
	}
	log.Info("scheduled backups on", slog.Duration("interval", every), slog.Int("keep", cfg.Backup.Keep),
		slog.String("dir", cfg.Backup.Dir), slog.Duration("next_in", wait.Round(time.Second)))
	return wait
}

// BackupOnce makes one scheduled backup now, records it and applies
// retention, as Run does at each interval.
func (s *Scheduler) BackupOnce(ctx context.Context) {
	s.backup(ctx, s.Log.With(slog.String("component", "backup")))
}

// backupRecovering makes a scheduled backup, recovering a panic in it: a
// bug in one backup must not end the bot, and the next interval tries
// again. The log has the stack and an error ID.
func (s *Scheduler) backupRecovering(ctx context.Context, log *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			var id [4]byte
			_, _ = rand.Read(id[:])
			log.Error("scheduled backup panicked; the bot keeps running and tries again at the next interval",
				slog.String("error_id", hex.EncodeToString(id[:])), slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	s.backup(ctx, log)
}

func (s *Scheduler) backup(ctx context.Context, log *slog.Logger) {
	cfg := s.config()
	now := s.Now().UTC()
	dest := filepath.Join(cfg.Backup.Dir, "bot-"+now.Format(Stamp)+ScheduledSuffix)
	start := time.Now()
	res, err := s.DB.BackupWithOptions(ctx, dest, storage.BackupOptions{Keys: s.Keys, Verify: storage.VerifyFull})
	if ctx.Err() != nil {
		return // shutting down; the next start picks the schedule up
	}
	var rep storage.FullReport
	if res != nil && res.Records != nil {
		rep = *res.Records
	}
	if v, found := datadir.NewVerification(now, "scheduled backup", rep, err); found {
		if verr := datadir.RecordVerification(cfg, v); verr != nil {
			log.Warn("could not record the verification for 'bot health'", slog.Any("err", verr))
		}
		if !v.OK {
			log.Error("the records do not match their seals: they were changed outside the bot; run 'bot audit verify'",
				slog.String("problem", v.Problem))
		}
	}
	a := Attempt{At: now, Path: dest, Scheduled: true, Took: time.Since(start).Seconds()}
	if err == nil {
		a.OK, a.Size = true, res.Size
		a.SHA256, err = SHA256(dest)
	}
	if err != nil {
		a.OK, a.Error = false, err.Error()
		if s.Observer != nil {
			s.Observer.BackupFailed()
		}
		log.Error("scheduled backup failed; the bot keeps running and tries again at the next interval",
			slog.String("path", dest), slog.Any("err", err))
	} else {
		log.Info("scheduled backup written", slog.String("path", dest), slog.Int64("bytes", res.Size),
			slog.Duration("took", time.Since(start).Round(time.Millisecond)))
	}
	if rerr := Record(cfg, a); rerr != nil {
		log.Warn("could not record the backup for 'bot health'", slog.Any("err", rerr))
	}
	if err != nil {
		return // keep every older backup while new ones fail
	}
	removed, err := Prune(cfg.Backup.Dir, cfg.Backup.Keep)
	for _, r := range removed {
		log.Info("removed an old scheduled backup", slog.String("path", r), slog.Int("keep", cfg.Backup.Keep))
	}
	if err != nil {
		log.Warn("could not remove old scheduled backups", slog.Any("err", err))
	}
}

// Prune removes all but the newest keep (at least one) scheduled backups in
// dir, and returns the files it removed. Only names a Scheduler makes
// count: any other file in dir is left alone.
func Prune(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsScheduledName(e.Name()) {
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

// IsScheduledName reports whether name is bot-YYYYMMDDTHHMMSSZ-scheduled.db,
// the name of a scheduled backup.
func IsScheduledName(name string) bool {
	stamp, ok := strings.CutPrefix(name, "bot-")
	if !ok {
		return false
	}
	if stamp, ok = strings.CutSuffix(stamp, ScheduledSuffix); !ok {
		return false
	}
	_, err := time.Parse(Stamp, stamp)
	return err == nil
}
