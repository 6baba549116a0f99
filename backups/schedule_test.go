package backups

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

// newInstallation creates and opens an installation in a new directory,
// as 'bot init' leaves one.
func newInstallation(t *testing.T) *datadir.Installation {
	t.Helper()
	dir := t.TempDir()
	cfg, _, err := config.Load(config.Source{
		Environ: []string{"BOT_STORAGE_DATA_DIR=" + filepath.Join(dir, "data")},
		WorkDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.Storage.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Init(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	in, err := datadir.Open(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

func TestScheduler(t *testing.T) {
	in := newInstallation(t)
	cfg := in.Config
	cfg.Backup.Interval, cfg.Backup.Keep = 10*time.Millisecond, 2
	manual := filepath.Join(cfg.Backup.Dir, "bot-20000101T000000Z.db")
	os.MkdirAll(cfg.Backup.Dir, 0o700)
	os.WriteFile(manual, []byte("a manual backup"), 0o600)

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	s := NewScheduler(cfg, in.DB, in.Keys, log)
	// Each backup an hour after the last, so names never collide.
	var ticks atomic.Int64
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Hour) }
	s.StartDelay = 0

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for deadline := time.Now().Add(20 * time.Second); ticks.Load() < 5; {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 5 scheduled backups in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done

	files, _ := filepath.Glob(filepath.Join(cfg.Backup.Dir, "bot-*"+ScheduledSuffix))
	if len(files) != 2 {
		t.Errorf("scheduled backups kept: %v, want the newest 2", files)
	}
	if _, err := os.Stat(manual); err != nil {
		t.Errorf("retention removed a manual backup: %v", err)
	}
	at, path, err := Last(cfg)
	if _, serr := os.Stat(path); err != nil || at.IsZero() || serr != nil || !IsScheduledName(filepath.Base(path)) {
		t.Errorf("Last got=%v %q %v, want an existing scheduled backup", at, path, err)
	}

	t.Run("FailureIsLoggedAndRecorded", func(t *testing.T) {
		broken := *cfg
		broken.Backup.Dir = manual // a file, not a directory
		logs.Reset()
		b := *s
		b.Config = &broken
		b.BackupOnce(context.Background())
		st, err := ReadStatus(&broken)
		if err != nil || st.LastAttempt == nil || st.LastAttempt.OK || st.LastAttempt.Error == "" {
			t.Errorf("status got=%+v %v, want a failed last attempt", st, err)
		}
		if st.LastSuccess == nil || st.LastSuccess.Path != path {
			t.Errorf("last success got=%+v, want it kept at %s", st.LastSuccess, path)
		}
		if !strings.Contains(logs.String(), "scheduled backup failed") {
			t.Errorf("log got=%q, want the failure", logs.String())
		}
	})
}

// TestSchedulerOff: with backup.interval 0 the schedule makes no backup
// and waits, and a SetSchedule (a reload) turns it on.
func TestSchedulerOff(t *testing.T) {
	in := newInstallation(t)
	in.Config.Backup.Interval = 0
	s := NewScheduler(in.Config, in.DB, in.Keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.StartDelay = 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	if st, _ := ReadStatus(in.Config); st.LastAttempt != nil {
		t.Fatalf("a backup with backup.interval 0: %+v", st.LastAttempt)
	}
	s.SetSchedule(time.Hour, 2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := ReadStatus(in.Config); st.LastSuccess != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no backup after SetSchedule turned the schedule on")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"bot-20260101T000000Z-scheduled.db",
		"bot-20260102T000000Z-scheduled.db",
		"bot-20260103T000000Z-scheduled.db",
		"bot-20260101T000000Z.db",   // manual
		"bot-notatime-scheduled.db", // not a name the scheduler makes
		"notes-20260101T000000Z-scheduled.db",
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		keep        int
		wantRemoved int
	}{
		{"KeepTwo", 2, 1},
		{"KeepZeroKeepsOne", 0, 1},
		{"NothingLeftToRemove", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			removed, err := Prune(dir, tt.keep)
			if err != nil || len(removed) != tt.wantRemoved {
				t.Errorf("removed got=%v %v, want %d files", removed, err, tt.wantRemoved)
			}
		})
	}
	left, _ := os.ReadDir(dir)
	var got []string
	for _, e := range left {
		got = append(got, e.Name())
	}
	want := "bot-20260101T000000Z.db bot-20260103T000000Z-scheduled.db bot-notatime-scheduled.db notes-20260101T000000Z-scheduled.db"
	if strings.Join(got, " ") != want {
		t.Errorf("left got=%v, want %s", got, want)
	}
}

func TestRecord(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{}
	cfg.Storage.DataDir = dir
	if at, _, err := Last(cfg); err != nil || !at.IsZero() {
		t.Fatalf("no record: got=%v %v, want the zero time", at, err)
	}
	ok := Attempt{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Path: "/b/one.db", OK: true}
	failed := Attempt{At: ok.At.Add(time.Hour), Path: "/b/two.db", Error: "disk full"}
	for _, a := range []Attempt{ok, failed} {
		if err := Record(cfg, a); err != nil {
			t.Fatal(err)
		}
	}
	st, err := ReadStatus(cfg)
	if err != nil || st.LastAttempt == nil || st.LastAttempt.Path != failed.Path || st.LastSuccess == nil || st.LastSuccess.Path != ok.Path {
		t.Errorf("status got=%+v %v, want the failure as last attempt and the first as last success", st, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, StatusFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("record file got=%v %v, want mode 0600", fi, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}

	t.Run("Unreadable", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, StatusFile), []byte("{not json"), 0o600)
		if _, _, err := Last(cfg); err == nil || !strings.Contains(err.Error(), "delete it") {
			t.Errorf("got=%v, want an error saying to delete the record", err)
		}
		if err := Record(cfg, ok); err != nil {
			t.Fatalf("an unreadable record is replaced: %v", err)
		}
		if at, _, err := Last(cfg); err != nil || !at.Equal(ok.At) {
			t.Errorf("after replacing: got=%v %v, want %v", at, err, ok.At)
		}
	})
}

// syncWriter serializes writes from the scheduler goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestScheduledBackupVerifiesRecords: a scheduled backup runs the full
// record verification and records it for 'bot health'; after a record is
// edited outside the bot, the backup is not kept, the older one stays, and
// the failed verification names the record.
func TestScheduledBackupVerifiesRecords(t *testing.T) {
	ctx := context.Background()
	in := newInstallation(t)
	cfg := in.Config
	cfg.Backup.Keep = 5
	if _, err := storage.NewCases(in.DB, in.Keys).Create(ctx, storage.NewCase{GuildID: "200000000000000001",
		Kind: storage.CaseWarning, TargetID: "400000000000000002", ModeratorID: "400000000000000001", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := NewScheduler(cfg, in.DB, in.Keys, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	hour := 0
	s.Now = func() time.Time { hour++; return time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC) }
	s.BackupOnce(ctx)
	v, err := datadir.LastVerification(cfg)
	if err != nil || v == nil || !v.OK || v.Records != 1 || v.By != "scheduled backup" {
		t.Fatalf("verification after a good backup: %+v, %v", v, err)
	}

	edit, err := sql.Open("sqlite", in.DB.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := edit.Exec(`UPDATE cases SET points = 50`); err != nil {
		t.Fatal(err)
	}
	edit.Close()
	s.BackupOnce(ctx)
	v, err = datadir.LastVerification(cfg)
	if err != nil || v == nil || v.OK || !strings.Contains(v.Problem, "case #1 in guild 200000000000000001") {
		t.Errorf("verification after an edit: %+v, %v; want it failed naming case #1", v, err)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Backup.Dir, "bot-*"+ScheduledSuffix))
	if len(files) != 1 {
		t.Errorf("scheduled backups: %v, want only the one from before the edit", files)
	}
	if !strings.Contains(logs.String(), "changed outside the bot") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestSchedulerSurvivesPanic: a panic in one scheduled backup is logged with
// its stack and an error ID, and the next interval backs up as usual.
func TestSchedulerSurvivesPanic(t *testing.T) {
	in := newInstallation(t)
	cfg := in.Config
	cfg.Backup.Interval, cfg.Backup.Keep = 10*time.Millisecond, 5
	var logs bytes.Buffer
	s := NewScheduler(cfg, in.DB, in.Keys, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)))
	s.StartDelay = 0
	var calls atomic.Int64
	s.Now = func() time.Time {
		if calls.Add(1) <= 2 {
			panic("injected fault")
		}
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(calls.Load()) * time.Hour)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if files, _ := filepath.Glob(filepath.Join(cfg.Backup.Dir, "bot-*"+ScheduledSuffix)); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no backup in 20s after a panicking one")
		}
	}
	cancel()
	<-done
	out := logs.String()
	for _, want := range []string{"level=ERROR msg=\"scheduled backup panicked", "error_id=", "injected fault", "schedule.go"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestSetSchedule: a running Scheduler takes a new interval and keep at
// once, and an interval of 0 pauses it.
func TestSetSchedule(t *testing.T) {
	in := newInstallation(t)
	cfg := *in.Config
	cfg.Backup.Interval, cfg.Backup.Keep = time.Hour, 3
	var buf bytes.Buffer
	logs := &syncWriter{w: &buf}
	text := func() string { logs.mu.Lock(); defer logs.mu.Unlock(); return buf.String() }
	s := NewScheduler(&cfg, in.DB, in.Keys, slog.New(slog.NewTextHandler(logs, nil)))
	var ticks atomic.Int64
	base := time.Now().UTC()
	s.Now = func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Second) }
	if err := Record(&cfg, Attempt{At: base, OK: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	scheduled := func() []string {
		files, _ := filepath.Glob(filepath.Join(cfg.Backup.Dir, "bot-*"+ScheduledSuffix))
		return files
	}
	s.SetSchedule(20*time.Millisecond, 1)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled backups after the interval changed; log:\n%s", text())
		}
		if a, _ := ReadStatus(&cfg); a.LastSuccess != nil && a.LastSuccess.Scheduled && ticks.Load() >= 4 {
			break
		}
	}
	s.SetSchedule(0, 1)
	// The loop logs the pause only once a backup under way has ended and
	// its retention has run, however loaded the machine.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(text(), "scheduled backups paused") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if files := scheduled(); len(files) != 1 {
		t.Errorf("scheduled backups kept: %v, want the newest 1", files)
	}
	before := ticks.Load()
	time.Sleep(100 * time.Millisecond)
	if n := ticks.Load(); n != before {
		t.Errorf("%d backups after the schedule was paused", n-before)
	}
	if !strings.Contains(text(), "scheduled backups paused") {
		t.Errorf("log does not say the schedule paused:\n%s", text())
	}
}
