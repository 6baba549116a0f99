package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/internal/atomicfile"
	"github.com/modbot/bot/storage"
)

// VerificationFile, in the data directory, records the last full
// verification of the records ('bot audit verify', a scheduled backup,
// 'bot backup --verify full'), which 'bot health' reports.
const VerificationFile = "verification.json"

// Verification is the content of VerificationFile.
type Verification struct {
	At time.Time `json:"at"`
	// By says what ran it.
	By string `json:"by"`
	// OK is set when the chain and every record matched; Problem names
	// the first one that did not otherwise.
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
	Entries int    `json:"audit_entries"`
	Records int    `json:"records"`
	// Unsealed: the records predate sealing and were not checked.
	Unsealed bool `json:"unsealed,omitempty"`
}

// NewVerification words the outcome of storage.VerifyDatabase (or of a
// backup's CheckRecords). found is false when err is not a finding about
// the records (the database could not be read): nothing to record then.
func NewVerification(at time.Time, by string, rep storage.FullReport, err error) (v Verification, found bool) {
	v = Verification{At: at.UTC(), By: by, Entries: rep.Entries, Records: rep.Records, Unsealed: rep.Unsealed}
	var ce *storage.ChainError
	switch {
	case err == nil:
		v.OK = true
	case errors.As(err, &ce):
		v.Problem = ce.Error()
	case errors.Is(err, storage.ErrRecordAltered):
		var re *storage.RecordError
		if errors.As(err, &re) {
			v.Problem = re.Error()
		} else {
			v.Problem = err.Error()
		}
	default:
		return v, false
	}
	return v, true
}

// RecordVerification stores v, replacing the file atomically.
func RecordVerification(cfg *config.Config, v Verification) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Storage.DataDir, VerificationFile)
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the verification: %w", err)
	}
	return nil
}

// LastVerification returns the last recorded verification, or nil if none
// was recorded.
func LastVerification(cfg *config.Config) (*Verification, error) {
	path := filepath.Join(cfg.Storage.DataDir, VerificationFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the verification record: %w", err)
	}
	var v Verification
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("read the verification record %s: %w; delete it, 'bot audit verify' writes a new one", path, err)
	}
	return &v, nil
}
