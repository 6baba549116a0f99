//go:build unix

package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

// diskFullEnv makes the test binary run TestWarnDiskFullChild against the
// data directory it names.
const diskFullEnv = "MODBOT_TEST_DISK_FULL_DIR"

// limitedCommand runs the test binary with args under a soft limit on the
// size of any file it writes (RLIMIT_FSIZE), about limit bytes: past it a
// write fails with EFBIG, as on a full disk. SIGXFSZ is ignored so that the
// write fails instead of the process being killed. The hard limit stays
// unlimited, so the process may lift the soft one: the space coming back.
func limitedCommand(t *testing.T, dir string, limit int64, environ []string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// ulimit counts in blocks of 512 or 1024 bytes depending on the
	// shell; either way the limit is below the database's size.
	blocks := strconv.FormatInt(limit/1024, 10)
	cmd := exec.Command("/bin/sh", append([]string{"-c", `trap "" XFSZ; ulimit -S -f ` + blocks + ` && exec "$0" "$@"`, bin}, args...)...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), environ...)
	return cmd
}

// TestBackupDiskFull runs `bot backup` with too little room for the copy:
// it fails saying to check free disk space, and leaves no file in the
// backup directory. With the room back, the next backup works.
func TestBackupDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := seedCrashDir(t)
	live := filepath.Join(dir, "data", "bot.db")
	st, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, "data", "backups")
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := limitedCommand(t, dir, st.Size()/2, []string{childEnv + "=1"}, "backup").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure {
		t.Fatalf("backup on a full disk: %v, want exit %d:\n%s", err, exitFailure, out)
	}
	t.Logf("backup on a full disk: %s", out)
	if !strings.Contains(string(out), "check free disk space") {
		t.Errorf("backup on a full disk says:\n%s\nwant it to say to check free disk space", out)
	}
	if left, _ := os.ReadDir(bdir); len(left) != 0 {
		t.Errorf("backup on a full disk left %v in the backup directory", left)
	}
	if code, out, errOut := runCLI(t, dir, nil, "backup"); code != exitOK {
		t.Fatalf("backup with the room back: exit %d\n%s%s", code, out, errOut)
	}
	checkLive(t, dir, crashSeedCases)
}

// TestWarnDiskFull stores warnings, as /warn does, in a process whose files
// cannot grow past a limit, until one fails. Every warning acknowledged
// before is still there, whole, and the failure says what is wrong; once
// the limit is lifted the same process stores warnings again.
//
// It drives the storage layer, not `bot run`: what a moderator sees of the
// failure is the bot's error reply, tested with the bot.
func TestWarnDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	dir := seedCrashDir(t)
	live := filepath.Join(dir, "data", "bot.db")
	st, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	// Room for the database as it is, and not much more.
	cmd := limitedCommand(t, dir, st.Size()+256<<10, []string{diskFullEnv + "=" + dir}, "-test.run=^TestWarnDiskFullChild$", "-test.v")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var acked, after int
	var failure string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "ACKED "); ok {
			acked, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "AFTER "); ok {
			after, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "FAILED "); ok {
			failure = v
		}
	}
	if failure == "" || acked == 0 || after == 0 {
		t.Fatalf("the child did not fill the disk, then store again (acked %d, after %d, failure %q):\n%s", acked, after, failure, out)
	}
	t.Logf("on a full disk: %s", failure)
	if !strings.Contains(failure, "free some space") {
		t.Errorf("the failure on a full disk does not say what to do: %s", failure)
	}
	checkLive(t, dir, crashSeedCases+acked+after)
}

// TestWarnDiskFullChild is TestWarnDiskFull's process under the limit; it
// does nothing in an ordinary run.
func TestWarnDiskFullChild(t *testing.T) {
	dir := os.Getenv(diskFullEnv)
	if dir == "" {
		t.Skip("runs only as TestWarnDiskFull's child")
	}
	ctx := context.Background()
	in := installed(t, dir)
	defer in.Close()
	cases := storage.NewCases(in.DB, in.Keys)
	warn := func(i int) error {
		_, err := cases.Create(ctx, storage.NewCase{
			GuildID: "200000000000000001", Kind: storage.CaseWarning,
			TargetID: "400000000000000002", TargetName: "someone",
			ModeratorID: "400000000000000001", ModeratorName: "mod",
			Reason: fmt.Sprintf("warning %d on a full disk: %s", i, strings.Repeat("y", 2000)), Points: 1, CreatedAt: time.Now(),
		})
		return err
	}
	acked := 0
	for ; ; acked++ {
		err := warn(acked)
		if err == nil {
			continue
		}
		fmt.Printf("FAILED %v\n", err)
		break
	}
	fmt.Printf("ACKED %d\n", acked)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	after := 0
	for ; after < 3; after++ {
		if err := warn(acked + after); err != nil {
			t.Fatalf("with the room back: %v", err)
		}
	}
	fmt.Printf("AFTER %d\n", after)
}
