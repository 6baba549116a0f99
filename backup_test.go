package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// Bundles sealed by these tests use cheap argon2id parameters; every bundle
// records its own, so the production ones are not needed to open them.
func init() { keys.BundleKDF = keys.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} }

const testPass = "correct horse battery staple"

var withPass = []string{passphraseEnv + "=" + testPass}

// installed opens the installation in dir as the commands do.
func installed(t *testing.T, dir string) *installation {
	t.Helper()
	e := env{workDir: dir, stderr: io.Discard}
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := openInstallation(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// casesIn returns the cases of the user addCase warns, read back through
// the storage repositories with the installation's keys.
func casesIn(t *testing.T, dir string) []storage.Case {
	t.Helper()
	in := installed(t, dir)
	defer in.Close()
	cs, err := storage.NewCases(in.db, in.keys).AllForUser(context.Background(), "400000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// backupOf runs `bot backup FILE` in dir and returns the file.
func backupOf(t *testing.T, dir string, environ []string, args ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := runCLI(t, dir, environ, append(append([]string{"backup"}, args...), file)...)
	if code != exitOK {
		t.Fatalf("bot backup: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	return file
}

// crashWithWAL leaves dir as a killed bot would: a case committed only to
// the WAL, bot.db-wal beside bot.db, and no process holding them.
func crashWithWAL(t *testing.T, dir string) {
	t.Helper()
	db := filepath.Join(dir, "data", "bot.db")
	in := installed(t, dir)
	_, err := storage.NewCases(in.db, in.keys).Create(context.Background(), storage.NewCase{
		GuildID: "200000000000000001", Kind: storage.CaseWarning,
		TargetID: "400000000000000002", TargetName: "someone",
		ModeratorID: "400000000000000001", ModeratorName: "mod",
		Reason: "only in the WAL", Points: 1, CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	main, err1 := os.ReadFile(db)
	wal, err2 := os.ReadFile(db + "-wal")
	if err1 != nil || err2 != nil || len(wal) == 0 {
		t.Fatalf("read the live files: %v %v (WAL %d bytes)", err1, err2, len(wal))
	}
	in.Close()
	os.Remove(db + "-shm")
	os.WriteFile(db, main, 0o600)
	os.WriteFile(db+"-wal", wal, 0o600)
}

func TestBackupCommand(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)

	t.Run("Default", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "backup")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"to data/backups/bot-", "Verified", "keys are NOT in this backup", "data/keys"} {
			if !strings.Contains(out, want) {
				t.Errorf("output got=%q, want it to contain %q", out, want)
			}
		}
		in := installed(t, dir)
		at, path, err := lastBackup(in.cfg)
		in.Close()
		if err != nil || time.Since(at) > time.Minute || !strings.HasPrefix(path, filepath.Join(dir, "data", "backups", "bot-")) {
			t.Errorf("lastBackup got=%v %q %v, want the backup just made", at, path, err)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "backup", "--json", "out.db")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var r backupReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		sum, _ := fileSHA256(filepath.Join(dir, "out.db"))
		if r.Path != filepath.Join(dir, "out.db") || r.SHA256 != sum || r.Size == 0 ||
			r.SchemaVersion != storage.LatestVersion() || len(r.AEADKeyIDs) != 1 || len(r.PRFKeyIDs) != 1 {
			t.Errorf("report got=%+v", r)
		}
	})
	t.Run("ExistingFileRefused", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "backup", "out.db")
		if code != exitFailure || !strings.Contains(errOut, "already exists") {
			t.Errorf("got exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("WhileTheBotHoldsTheLock", func(t *testing.T) {
		lock, err := storage.Lock(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		backupOf(t, dir, nil)
	})
	t.Run("WithKeys", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			environ []string
			code    int
			want    string
		}{
			{"OK", withPass, exitOK, "sealed under your passphrase"},
			{"NoPassphrase", nil, exitFailure, passphraseEnv},
			{"Empty", []string{passphraseEnv + "="}, exitFailure, "empty"},
			{"Short", []string{passphraseEnv + "=eleven char"}, exitFailure, "at least 12"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code, out, errOut := runCLI(t, dir, tt.environ, "backup", "--with-keys", filepath.Join(t.TempDir(), "k.db"))
				if code != tt.code || !strings.Contains(out+errOut, tt.want) {
					t.Errorf("got exit %d, output %q %q; want %d and %q", code, out, errOut, tt.code, tt.want)
				}
			})
		}
	})
}

func TestRestoreRoundTrip(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	want := casesIn(t, dir)
	file := backupOf(t, dir, nil)
	// The bot carries on after the backup, then is killed with part of
	// its work only in the WAL.
	addCase(t, dir)
	crashWithWAL(t, dir)

	code, out, errOut := runCLI(t, dir, nil, "restore", file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{"checksum matches", "the keys in data/keys open it", "kept the previous database as data/bot.db.before-restore-", "To undo", "bot restore data/bot.db.before-restore-"} {
		if !strings.Contains(out, w) {
			t.Errorf("output got=%q, want it to contain %q", out, w)
		}
	}
	if got := casesIn(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("restored cases got=%+v, want %+v", got, want)
	}
	// The previous database kept everything, WAL included: undoing the
	// restore brings back all three cases.
	prev, _ := filepath.Glob(filepath.Join(dir, "data", "bot.db.before-restore-*"))
	if len(prev) != 1 {
		t.Fatalf("previous databases: %v, want one", prev)
	}
	if code, out, errOut := runCLI(t, dir, nil, "restore", prev[0]); code != exitOK {
		t.Fatalf("undo: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(casesIn(t, dir)); n != 3 {
		t.Errorf("after undoing: %d cases, want 3", n)
	}
}

func TestRestoreFreshMachine(t *testing.T) {
	src := initDir(t)
	addCase(t, src)
	want := casesIn(t, src)
	file := backupOf(t, src, withPass, "--with-keys")

	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, withPass, "restore", file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{"created the data directory data", "installed the keys from the backup in data/keys", "nothing to undo", "bot init"} {
		if !strings.Contains(out, w) {
			t.Errorf("output got=%q, want it to contain %q", out, w)
		}
	}
	if code, _, errOut := runCLI(t, dir, nil, "init"); code != exitOK {
		t.Fatalf("init after restore: %s", errOut)
	}
	if got := casesIn(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("restored cases got=%+v, want %+v", got, want)
	}

	t.Run("ReplacesOtherKeysKeepingThem", func(t *testing.T) {
		other := initDir(t)
		code, out, errOut := runCLI(t, other, withPass, "restore", "--with-keys", file)
		if code != exitOK || !strings.Contains(out, "kept the previous keys as data/keys.before-restore-") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		if got := casesIn(t, other); !reflect.DeepEqual(got, want) {
			t.Errorf("restored cases got=%+v, want %+v", got, want)
		}
	})
}

// TestRestoreRefuses feeds restore each kind of bad input and checks that
// it exits 1 with a clear message and leaves the data directory (database,
// WAL, keys) byte for byte as it was.
func TestRestoreRefuses(t *testing.T) {
	other := initDir(t)
	addCase(t, other)
	otherPlain := backupOf(t, other, nil)
	otherWithKeys := backupOf(t, other, withPass, "--with-keys")

	tests := []struct {
		name    string
		file    func(t *testing.T, dir, good string) string
		environ []string
		want    []string
	}{
		{"Empty", func(t *testing.T, _, _ string) string { return writeTemp(t, nil) }, nil,
			[]string{"empty", "check the path"}},
		{"Truncated", func(t *testing.T, _, good string) string {
			return writeTemp(t, readAll(t, good)[:4096*10])
		}, nil, []string{"cut short", "use another backup"}},
		{"FlippedByte", func(t *testing.T, _, good string) string {
			b := readAll(t, good)
			b[len(b)/2+123] ^= 0x01
			return writeTemp(t, b)
		}, nil, []string{"use another backup"}},
		{"TextFile", func(t *testing.T, _, _ string) string { return writeTemp(t, []byte("user_id,reason\n1,spam\n")) }, nil,
			[]string{"not an SQLite database file"}},
		{"OtherProgram", func(t *testing.T, _, _ string) string {
			path := filepath.Join(t.TempDir(), "photos.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, []string{"another program's SQLite database"}},
		{"NewerVersion", func(t *testing.T, _, good string) string {
			path := writeTemp(t, readAll(t, good))
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, []string{"schema version 99", "upgrade"}},
		{"KeysDoNotMatch", func(t *testing.T, _, _ string) string { return otherPlain }, nil,
			[]string{"do not open this backup", "does not carry its keys"}},
		{"WrongPassphrase", func(t *testing.T, _, _ string) string { return otherWithKeys },
			[]string{passphraseEnv + "=not the passphrase"}, []string{"passphrase does not open"}},
		{"NoPassphrase", func(t *testing.T, _, _ string) string { return otherWithKeys }, nil,
			[]string{passphraseEnv}},
		{"Missing", func(t *testing.T, _, _ string) string { return filepath.Join(t.TempDir(), "nope.db") }, nil,
			[]string{"no such file", "check the path"}},
		{"LiveDatabase", func(t *testing.T, dir, _ string) string { return filepath.Join(dir, "data", "bot.db") }, nil,
			[]string{"live database itself"}},
		{"BotRunning", func(t *testing.T, dir, good string) string {
			lock, err := storage.Lock(filepath.Join(dir, "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lock.Close() })
			return good
		}, nil, []string{"in use by process", "stop it first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initDir(t)
			addCase(t, dir)
			good := backupOf(t, dir, nil)
			file := tt.file(t, dir, good)
			crashWithWAL(t, dir)
			before := snapshot(t, dir)
			code, out, errOut := runCLI(t, dir, tt.environ, "restore", file)
			if code != exitFailure {
				t.Fatalf("exit got=%d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, w := range append(tt.want, "Nothing was changed") {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr got=%q, want it to contain %q", errOut, w)
				}
			}
			if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
				t.Errorf("the data directory changed: before %v, after %v", keysOf(before), keysOf(after))
			}
		})
	}
}

func TestRestoreDryRun(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	file := backupOf(t, dir, nil)
	addCase(t, dir)
	before := snapshot(t, dir)
	code, out, errOut := runCLI(t, dir, nil, "restore", "--dry-run", file)
	if code != exitOK || !strings.Contains(out, "Dry run: nothing was changed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
		t.Error("a dry run changed the data directory")
	}
}

func TestScheduleBackups(t *testing.T) {
	dir := initDir(t)
	in := installed(t, dir)
	defer in.Close()
	cfg := in.cfg
	cfg.Backup.Interval, cfg.Backup.Keep = 10*time.Millisecond, 2
	manual := filepath.Join(cfg.Backup.Dir, "bot-20000101T000000Z.db")
	os.MkdirAll(cfg.Backup.Dir, 0o700)
	os.WriteFile(manual, []byte("a manual backup"), 0o600)

	// Each backup an hour after the last, so names never collide.
	var ticks atomic.Int64
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	savedClock, savedDelay := backupClock, scheduleStartDelay
	backupClock = func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Hour) }
	scheduleStartDelay = 0
	t.Cleanup(func() { backupClock, scheduleStartDelay = savedClock, savedDelay })

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { scheduleBackups(ctx, cfg, in, log); close(done) }()
	for deadline := time.Now().Add(20 * time.Second); ticks.Load() < 5; {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 5 scheduled backups in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done

	files, _ := filepath.Glob(filepath.Join(cfg.Backup.Dir, "bot-*"+scheduledSuffix))
	if len(files) != 2 {
		t.Errorf("scheduled backups kept: %v, want the newest 2", files)
	}
	if _, err := os.Stat(manual); err != nil {
		t.Errorf("retention removed a manual backup: %v", err)
	}
	at, path, err := lastBackup(cfg)
	if err != nil || at.IsZero() || !fileExists(path) || !isScheduledName(filepath.Base(path)) {
		t.Errorf("lastBackup got=%v %q %v, want an existing scheduled backup", at, path, err)
	}

	t.Run("FailureIsLoggedAndRecorded", func(t *testing.T) {
		broken := *cfg
		broken.Backup.Dir = manual // a file, not a directory
		logs.Reset()
		scheduledBackup(context.Background(), &broken, in, log)
		st, err := readBackupStatus(&broken)
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

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keysOf lists a snapshot's files with their sizes, for failure messages.
func keysOf(m map[string]string) []string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s (%d bytes)", k, len(v)))
	}
	sort.Strings(ks)
	return ks
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	e := &env{stderr: &buf, terminal: true}
	small := &progressBar{e: e}
	small.update(1<<20, 2<<20)
	small.finish()
	if buf.Len() != 0 {
		t.Errorf("a small database drew a bar: %q", buf.String())
	}
	big := &progressBar{e: e}
	big.update(32<<20, 64<<20)
	big.update(64<<20, 64<<20)
	big.finish()
	if got := buf.String(); !strings.Contains(got, " 50% 32.0 MiB of 64.0 MiB") || !strings.HasSuffix(got, "100% 64.0 MiB of 64.0 MiB \n") {
		t.Errorf("bar got=%q", got)
	}
	off := &progressBar{e: &env{stderr: &buf}}
	buf.Reset()
	off.update(32<<20, 64<<20)
	if buf.Len() != 0 {
		t.Errorf("drew a bar off a terminal: %q", buf.String())
	}
}
