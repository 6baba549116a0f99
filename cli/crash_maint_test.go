//go:build unix

package cli

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

// crashCycles is how many times a maintenance command is killed: a few in
// make test, many more in make test-long.
func crashCycles() int {
	if os.Getenv("BOT_LONG_TESTS") != "" {
		return 200
	}
	return 20
}

// crashSeedCases is how many cases seedCrashDir stores: enough that a
// backup or a restore takes long enough to be killed in each of its steps.
const crashSeedCases = 400

// seedCrashDir returns an initialised directory whose database holds
// crashSeedCases warnings of the member addCase warns, with the audit
// chain and seals the bot writes.
func seedCrashDir(t *testing.T) string {
	t.Helper()
	dir := initDir(t)
	in := installed(t, dir)
	defer in.Close()
	batch := make([]storage.BatchCase, crashSeedCases)
	for i := range batch {
		batch[i].NewCase = storage.NewCase{
			GuildID: "200000000000000001", Kind: storage.CaseWarning,
			TargetID: "400000000000000002", TargetName: "someone",
			ModeratorID: "400000000000000001", ModeratorName: "mod",
			Reason: fmt.Sprintf("seeded warning %d: %s", i, strings.Repeat("x", 200)), Points: 1, CreatedAt: time.Now(),
		}
	}
	if err := storage.NewCases(in.DB, in.Keys).CreateBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return dir
}

// maintChild is a bot command run as a real process: the test binary acts
// as the bot (see TestMain).
type maintChild struct {
	cmd *exec.Cmd
	out lockedBuffer
}

func startMaint(t *testing.T, dir string, environ []string, args ...string) *maintChild {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &maintChild{cmd: exec.Command(bin, args...)}
	c.cmd.Dir, c.cmd.Env = dir, append(append(os.Environ(), environ...), childEnv+"=1")
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// killAfter sends SIGKILL after d and reports whether the command was still
// running then (false: it had finished, and must have succeeded).
func (c *maintChild) killAfter(t *testing.T, d time.Duration) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v finished before the kill, with %v:\n%s", c.cmd.Args[1:], err, c.out.String())
		}
		return false
	case <-time.After(d):
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
		return true
	}
	if err != nil {
		t.Fatalf("%v: %v:\n%s", c.cmd.Args[1:], err, c.out.String())
	}
	return false
}

// timeMaint runs the command to its end and returns how long it took.
func timeMaint(t *testing.T, dir string, environ []string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	c := startMaint(t, dir, environ, args...)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("%v: %v:\n%s", args, err, c.out.String())
	}
	return time.Since(start)
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// checkBackupDir checks what a killed backup left in dir: every file under
// a backup name is complete and verified, the backups in earlier are
// byte-identical, and anything else is a temporary file. A new complete
// backup joins earlier. It returns the number of temporary files.
func checkBackupDir(t *testing.T, dir string, k storage.BackupKeys, earlier map[string][sha256.Size]byte, cycle int) int {
	t.Helper()
	ctx := context.Background()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	temps := 0
	present := map[string]bool{}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(name, ".bot-backup-"):
			temps++
			continue
		case !strings.HasPrefix(name, "bot-") || !strings.HasSuffix(name, ".db"):
			t.Fatalf("cycle %d: unexpected file %s in the backup directory", cycle, name)
		}
		present[name] = true
		if sum, ok := earlier[name]; ok {
			if fileSum(t, path) != sum {
				t.Fatalf("cycle %d: the earlier backup %s changed", cycle, name)
			}
			continue
		}
		res, err := storage.Verify(ctx, path)
		if err != nil {
			t.Fatalf("cycle %d: %s is under a backup name but incomplete: %v", cycle, name, err)
		}
		if err := res.CheckKeys(k); err != nil || !res.Sealed {
			t.Fatalf("cycle %d: %s is under a backup name but its seal does not hold (%v)", cycle, name, err)
		}
		earlier[name] = fileSum(t, path)
	}
	for name := range earlier {
		if !present[name] {
			t.Fatalf("cycle %d: the earlier backup %s is gone", cycle, name)
		}
	}
	return temps
}

// TestBackupKilled kills `bot backup` with SIGKILL at random moments over
// the time a backup takes. After each kill no file under a backup name is
// partial, earlier backups are byte-identical, and the live database is
// sound; the next backup removes the temporary files the killed ones left.
func TestBackupKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := seedCrashDir(t)
	bdir := filepath.Join(dir, "data", "backups")
	took := timeMaint(t, dir, nil, "backup")
	timeMaint(t, dir, nil, "backup")
	in := installed(t, dir)
	k := in.Keys
	in.Close()
	earlier := map[string][sha256.Size]byte{}
	checkBackupDir(t, bdir, k, earlier, -1)
	if len(earlier) != 2 {
		t.Fatalf("want 2 earlier backups, have %d", len(earlier))
	}

	cycles := crashCycles()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	killed, leftovers := 0, 0
	for cycle := range cycles {
		c := startMaint(t, dir, nil, "backup")
		if c.killAfter(t, time.Duration(rng.Int64N(int64(took)*6/5))) {
			killed++
		}
		leftovers += checkBackupDir(t, bdir, k, earlier, cycle)
	}
	if killed < cycles/4 {
		t.Fatalf("only %d of %d backups were killed before they finished; the test did not exercise the kill", killed, cycles)
	}

	// The next backup cleans up after the killed ones and works.
	if code, out, errOut := runCLI(t, dir, nil, "backup"); code != exitOK {
		t.Fatalf("backup after the kills: exit %d\n%s%s", code, out, errOut)
	}
	if n := checkBackupDir(t, bdir, k, earlier, cycles); n != 0 {
		t.Errorf("%d temporary files left after the next backup; want it to remove them", n)
	}
	checkLive(t, dir, crashSeedCases)
	t.Logf("%d cycles: %d backups killed while running (%d temporary files left, removed by the next backup), %d finished; %d complete backups, none partial, earlier ones unchanged",
		cycles, killed, leftovers, cycles-killed, len(earlier))
}

// checkLive opens the live database as the bot does and checks that it is
// whole: SQLite's integrity check, the audit chain and every record's seal,
// and the number of cases; it returns that number.
func checkLive(t *testing.T, dir string, want ...int) int {
	t.Helper()
	ctx := context.Background()
	in := installed(t, dir)
	defer in.Close()
	if err := in.DB.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.VerifyDatabase(ctx, in.DB, in.Keys); err != nil {
		t.Fatalf("audit chain or records: %v", err)
	}
	cs, err := storage.NewCases(in.DB, in.Keys).AllForUser(ctx, "400000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if len(cs) == w {
			return len(cs)
		}
	}
	t.Fatalf("the live database holds %d cases, want one of %v", len(cs), want)
	return 0
}

// TestRestoreKilled kills `bot restore` with SIGKILL at random moments over
// the time a restore takes, each time from the same state: a live database
// with part of its work only in its WAL, and a backup that holds fewer
// cases. After each kill the live database is either the previous one or
// the backup's, whole (integrity check, audit chain and seals, and its own
// number of cases), and the next `bot restore` says which of the two it
// found when the killed one had begun, then finishes the job and leaves no
// temporary file.
func TestRestoreKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ctx := context.Background()
	dir := seedCrashDir(t)
	file := backupOf(t, dir, nil)
	addCase(t, dir)
	crashWithWAL(t, dir)
	oldN, newN := crashSeedCases+2, crashSeedCases
	data := filepath.Join(dir, "data")
	live := filepath.Join(data, "bot.db")
	pristine := map[string][]byte{live: readAll(t, live), live + "-wal": readAll(t, live+"-wal")}
	reset := func() {
		t.Helper()
		for _, pattern := range []string{live + "*", filepath.Join(data, ".bot-restore-*")} {
			names, _ := filepath.Glob(pattern)
			for _, n := range names {
				if err := os.Remove(n); err != nil {
					t.Fatal(err)
				}
			}
		}
		for path, b := range pristine {
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	reset()
	took := timeMaint(t, dir, nil, "restore", file)

	cycles := crashCycles()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	var killed, stayedOld, swapped, toldOld, toldNew int
	for cycle := range cycles {
		reset()
		c := startMaint(t, dir, nil, "restore", file)
		delay := time.Duration(rng.Int64N(int64(took) * 6 / 5))
		if cycle%2 == 1 {
			// Every other kill comes after the restore has begun to
			// change things, wherever a loaded machine moved that point:
			// half of them at once, half a little later, before or after
			// the swap. took also counts the process's start and exit,
			// so a delay drawn from all of it mostly lands after the end.
			waitForFile(pendingPath(live), took*3)
			delay = 0
			if cycle%4 == 3 {
				delay = time.Duration(rng.Int64N(int64(took)/8 + 1))
			}
		}
		if c.killAfter(t, delay) {
			killed++
		}
		begun := fileExists(pendingPath(live))
		n := checkLive(t, dir, oldN, newN)
		switch n {
		case oldN:
			stayedOld++
		case newN:
			swapped++
			kept, _ := filepath.Glob(live + ".before-restore-*")
			var whole bool
			for _, k := range kept {
				if strings.HasSuffix(k, "-wal") || strings.HasSuffix(k, "-shm") {
					continue
				}
				if _, err := storage.Verify(ctx, k); err != nil {
					t.Fatalf("cycle %d: the previous database kept as %s: %v", cycle, k, err)
				}
				whole = true
			}
			if !whole {
				t.Fatalf("cycle %d: the backup is in place but the previous database was not kept (%v)", cycle, kept)
			}
		}
		// The next restore says what it found, then does the job.
		code, out, errOut := runCLI(t, dir, nil, "restore", file)
		if code != exitOK {
			t.Fatalf("cycle %d: restore after the kill: exit %d\n%s%s", cycle, code, out, errOut)
		}
		told := strings.Contains(out, "was stopped before it finished")
		switch {
		case begun && !told:
			t.Fatalf("cycle %d: the killed restore had begun, but the next one does not say so:\n%s", cycle, out)
		case !begun && told:
			t.Fatalf("cycle %d: the next restore reports a stopped one that never began:\n%s", cycle, out)
		case told && n == oldN:
			toldOld++
			if !strings.Contains(out, "data/bot.db is still the previous database, whole") || !strings.Contains(out, "To finish: run 'bot restore") {
				t.Fatalf("cycle %d: the previous database was in place; the notice says otherwise:\n%s", cycle, out)
			}
		case told && n == newN:
			toldNew++
			if !strings.Contains(out, "data/bot.db is the restored database, whole") || !strings.Contains(out, "To undo: stop the bot, then run 'bot restore data/bot.db.before-restore-") {
				t.Fatalf("cycle %d: the backup was in place; the notice says otherwise:\n%s", cycle, out)
			}
		}
		checkLive(t, dir, newN)
		if left, _ := filepath.Glob(filepath.Join(data, ".bot-restore-*")); len(left) > 0 {
			t.Fatalf("cycle %d: the next restore left temporary files: %v", cycle, left)
		}
		if fileExists(pendingPath(live)) {
			t.Fatalf("cycle %d: a finished restore left %s", cycle, pendingPath(live))
		}
	}
	if killed < cycles/4 || toldOld+toldNew == 0 {
		t.Fatalf("%d of %d restores killed while running, %d stopped ones reported; the test did not exercise the kill", killed, cycles, toldOld+toldNew)
	}
	t.Logf("%d cycles: %d restores killed while running; the previous database whole in place %d times, the backup's %d times, never a mix; the next restore named the previous database %d times and the backup's %d times",
		cycles, killed, stayedOld, swapped, toldOld, toldNew)
}

// TestHealthNamesInterruptedRestore: after a restore was stopped before it
// finished, 'bot health' says so and what to do.
func TestHealthNamesInterruptedRestore(t *testing.T) {
	dir := initDir(t)
	live := filepath.Join(dir, "data", "bot.db")
	if _, _, errOut := runCLI(t, dir, nil, "health", "--offline"); strings.Contains(errOut, "stopped before it finished") {
		t.Fatal("a restore notice without a restore")
	}
	if err := writePending(pendingPath(live), filepath.Join(dir, "old.db"), time.Now()); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCLI(t, dir, nil, "health", "--offline")
	if !strings.Contains(out, "restore") || !strings.Contains(out, "was stopped before it finished") {
		t.Errorf("health after an interrupted restore:\n%s", out)
	}
}

// waitForFile waits until path exists, for at most limit.
func waitForFile(path string, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && !fileExists(path); {
		time.Sleep(time.Millisecond)
	}
}
