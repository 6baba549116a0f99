package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFileName is the lock file inside the data directory.
const lockFileName = "bot.lock"

// ErrLocked means another process holds the data directory's lock.
var ErrLocked = errors.New("data directory is in use")

// errWouldBlock is what the platform lock returns when the lock is held.
var errWouldBlock = errors.New("lock held by another process")

// LockedError is returned (wrapped) by Lock when another process holds the
// lock. errors.Is(err, ErrLocked) reports true for it.
type LockedError struct {
	Dir     string
	PID     int    // 0 if the holder did not record one
	Command string // how the holder was started, e.g. "bot run"; may be empty
}

// Error names the directory and the process holding it.
func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID != 0 {
		holder = "process " + strconv.Itoa(e.PID)
		if e.Command != "" {
			holder += " (" + e.Command + ")"
		}
	}
	return fmt.Sprintf("the data directory %s is in use by %s; stop it first", e.Dir, holder)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DirLock is an exclusive lock on a data directory, held until Close or the
// end of the process (the operating system drops it then, so a crash never
// leaves a stale lock behind).
type DirLock struct {
	f *os.File
}

// Lock takes the data directory's lock, so that only one bot process (a
// running bot, a restore) uses the database at a time. The directory must
// exist. It records this process's PID in the lock file; if another process
// holds the lock it returns a *LockedError naming that PID.
func Lock(dataDir string) (*DirLock, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			le := &LockedError{Dir: dataDir}
			le.PID, le.Command = readHolder(f)
			return nil, le
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dataDir, err)
	}
	if err := writeHolder(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data directory %s: record holder: %w", dataDir, err)
	}
	return &DirLock{f: f}, nil
}

// Close releases the lock. The file stays: removing it would race with a
// process that has just opened it and is about to lock it.
func (l *DirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Clear the holder first, so nobody reads a PID that has moved on.
	terr := l.f.Truncate(0)
	cerr := l.f.Close() // closing the file releases the lock
	l.f = nil
	return errors.Join(terr, cerr)
}

// writeHolder records "PID\ncommand\n".
func writeHolder(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), processCommand())), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads what writeHolder wrote; zero values if unreadable.
func readHolder(f *os.File) (pid int, command string) {
	s := bufio.NewScanner(io.NewSectionReader(f, 0, 4096))
	if s.Scan() {
		pid, _ = strconv.Atoi(strings.TrimSpace(s.Text()))
	}
	if s.Scan() {
		command = strings.TrimSpace(s.Text())
	}
	return pid, command
}

// processCommand names this process for other processes' messages: the
// program and its subcommand, e.g. "bot run". Flags are left out, since they
// may carry paths or secrets.
func processCommand() string {
	if len(os.Args) == 0 {
		return ""
	}
	cmd := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		cmd += " " + os.Args[1]
	}
	return cmd
}
