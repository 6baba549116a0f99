// Package backups owns what happens around a database backup once it is
// written: the record of the last attempt and the last success
// (backup-status.json in the data directory, which 'bot health' reads), the
// schedule on which 'bot run' makes backups, the names scheduled backups
// take, and the retention that keeps the newest of them.
//
// Writing and verifying one backup file is storage's work
// (storage.DB.BackupWithOptions); this package decides when, where, and what
// is kept.
package backups

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/internal/atomicfile"
)

// StatusFile, in the data directory, records the last backup attempt and
// the last success, so that 'bot health' can report a backup's age.
const StatusFile = "backup-status.json"

// Stamp formats times in backup file names: UTC, sortable, no colons
// (which Windows refuses in file names).
const Stamp = "20060102T150405Z"

// Status is the content of StatusFile.
type Status struct {
	// LastAttempt is the newest backup, whether it succeeded or not.
	LastAttempt *Attempt `json:"last_attempt,omitempty"`
	// LastSuccess is the newest backup that succeeded.
	LastSuccess *Attempt `json:"last_success,omitempty"`
}

// Attempt is one backup, manual or scheduled.
type Attempt struct {
	// At is when the backup was made, and Path the file it went to.
	At   time.Time `json:"at"`
	Path string    `json:"path"`
	// Scheduled is set for a backup made by the Scheduler.
	Scheduled bool `json:"scheduled"`
	// OK is set when the backup was written and verified; Error says why
	// not otherwise.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Size and SHA256 describe the file of a successful backup.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Took is how long the backup took, written and verified, in seconds.
	Took float64 `json:"took_seconds,omitempty"`
}

// Last returns when the last successful backup (manual or scheduled)
// finished and where it went; the zero time, without error, if none is
// recorded. An error means the record is unreadable.
func Last(cfg *config.Config) (at time.Time, path string, err error) {
	st, err := ReadStatus(cfg)
	if err != nil || st.LastSuccess == nil {
		return time.Time{}, "", err
	}
	return st.LastSuccess.At, st.LastSuccess.Path, nil
}

// ReadStatus reads the backup record of cfg's data directory. A missing
// record is an empty Status, not an error: no backup was made yet.
func ReadStatus(cfg *config.Config) (Status, error) {
	var st Status
	path := filepath.Join(cfg.Storage.DataDir, StatusFile)
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

// Record stores a as the last attempt, and as the last success if it
// succeeded, replacing the file atomically. Two processes recording at once
// may lose one attempt; the newest one wins, which is what health needs.
func Record(cfg *config.Config, a Attempt) error {
	st, _ := ReadStatus(cfg) // an unreadable record is replaced
	st.LastAttempt = &a
	if a.OK {
		st.LastSuccess = &a
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Storage.DataDir, StatusFile)
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the backup: %w", err)
	}
	return nil
}

// SHA256 returns the hex SHA-256 of the file at path, for the owner to
// compare copies of a backup with.
func SHA256(path string) (string, error) {
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
