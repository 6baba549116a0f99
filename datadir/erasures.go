package datadir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/internal/atomicfile"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// LedgerFile is the erasure ledger inside the data directory: every member
// erasure, kept outside the database so that restoring a backup made
// before an erasure cannot bring the member's records back. It holds only
// blind indexes, guild IDs and times, sealed with the installation's keys.
const LedgerFile = "erasures.ledger"

// ledgerMagic starts the file, so that a file that is not a ledger is
// named as such rather than reported as failing to decrypt.
const ledgerMagic = "modbot-erasures-v1\n"

// ledgerAD is the associated data of the sealed ledger: its ciphertext
// opens as nothing else, and nothing else opens as a ledger.
var ledgerAD = []byte("modbot " + LedgerFile + " v1")

// LedgerPath is the erasure ledger of cfg's data directory.
func LedgerPath(cfg *config.Config) string { return filepath.Join(cfg.Storage.DataDir, LedgerFile) }

// ledgerEntry is one erasure as the ledger's JSON holds it; Index is
// base64 there.
type ledgerEntry struct {
	GuildID string    `json:"guild_id"`
	Index   []byte    `json:"index"`
	At      time.Time `json:"at"`
}

// ledgerMu serialises the read-merge-write of the ledger within a process:
// the bot may finish two erasures at once. Other processes that write it
// hold the data directory's lock.
var ledgerMu sync.Mutex

// SealLedger seals erasures as a ledger's bytes under kr.
func SealLedger(kr *keys.Keyring, erasures []storage.Erasure) ([]byte, error) {
	entries := make([]ledgerEntry, 0, len(erasures))
	for _, e := range erasures {
		entries = append(entries, ledgerEntry{GuildID: e.GuildID, Index: e.Index, At: e.At.UTC()})
	}
	plain, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	sealed, err := kr.Seal(plain, ledgerAD)
	if err != nil {
		return nil, fmt.Errorf("seal the erasure ledger: %w", err)
	}
	return append([]byte(ledgerMagic), sealed...), nil
}

// OpenLedger opens a ledger's bytes sealed by SealLedger under kr. what
// names them in errors (a file, or "the backup's erasure ledger").
func OpenLedger(kr *keys.Keyring, data []byte, what string) ([]storage.Erasure, error) {
	sealed, ok := bytes.CutPrefix(data, []byte(ledgerMagic))
	if !ok {
		return nil, fmt.Errorf("%s is not an erasure ledger of this bot (damaged or replaced)", what)
	}
	plain, err := kr.Open(sealed, ledgerAD)
	if err != nil {
		return nil, fmt.Errorf("%s does not open with these keys (%w)", what, err)
	}
	var entries []ledgerEntry
	if err := json.Unmarshal(plain, &entries); err != nil {
		return nil, fmt.Errorf("%s opened but its contents are damaged: %v", what, err)
	}
	out := make([]storage.Erasure, 0, len(entries))
	for _, e := range entries {
		if e.GuildID == "" || len(e.Index) == 0 || e.At.IsZero() {
			return nil, fmt.Errorf("%s opened but holds an incomplete entry", what)
		}
		out = append(out, storage.Erasure{GuildID: e.GuildID, Index: e.Index, At: e.At.UTC()})
	}
	return out, nil
}

// ReadLedger returns the erasures in the data directory's ledger, none
// when there is no ledger yet. A ledger that does not open is an error
// that says what to do: skipping it would let a restore bring erased
// members back.
func ReadLedger(in *Installation) ([]storage.Erasure, error) {
	path := LedgerPath(in.Config)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the erasure ledger: %w; make it readable by the user that runs bot", err)
	}
	out, err := OpenLedger(in.Keys, data, path)
	if err != nil {
		return nil, fmt.Errorf("%w.\nThe ledger lists the members whose records were erased, so that a restored backup cannot bring them back. "+
			"Put back the copy of %s that belongs with the keys in %s (from your backup of the data directory). "+
			"If there is none, move the file aside: the bot then starts a new ledger with the next erasure, "+
			"and the erasures recorded only in the lost one are not applied again to restored backups: "+
			"erase those members again after any restore",
			err, LedgerFile, KeysPath(in.Config))
	}
	return out, nil
}

// MergeErasures returns the union of a and b, one entry per guild and
// index, the newest time winning, in a stable order.
func MergeErasures(a, b []storage.Erasure) []storage.Erasure {
	type key struct{ guild, index string }
	seen := map[key]int{}
	var out []storage.Erasure
	for _, e := range slices.Concat(a, b) {
		k := key{e.GuildID, string(e.Index)}
		if i, ok := seen[k]; ok {
			if e.At.After(out[i].At) {
				out[i].At = e.At
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(x, y storage.Erasure) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		if c := strings.Compare(x.GuildID, y.GuildID); c != 0 {
			return c
		}
		return bytes.Compare(x.Index, y.Index)
	})
	return out
}

// writeLedger replaces the ledger with erasures, sealed, mode 0600.
func writeLedger(in *Installation, erasures []storage.Erasure) error {
	data, err := SealLedger(in.Keys, erasures)
	if err != nil {
		return err
	}
	return atomicfile.Write(LedgerPath(in.Config), data, 0o600)
}

// AddToLedger merges erasures (from a backup's ledger) into the data
// directory's ledger.
func AddToLedger(in *Installation, erasures []storage.Erasure) error {
	ledgerMu.Lock()
	defer ledgerMu.Unlock()
	have, err := ReadLedger(in)
	if err != nil {
		return err
	}
	return writeLedger(in, MergeErasures(have, erasures))
}

// LedgerForBackup returns the ledger a --with-keys backup carries, sealed
// under in's keys. It writes nothing, since a backup runs beside the bot,
// which owns the file.
func LedgerForBackup(in *Installation) ([]byte, error) {
	have, err := ReadLedger(in)
	if err != nil {
		return nil, err
	}
	return SealLedger(in.Keys, have)
}

// ReapplyLedger applies every erasure in the ledger to the database again
// (storage's ReapplyErasure), so that records a restored backup brought
// back are erased. It returns how many erasures erased something (one per
// guild and time, whatever the number of index keys) and how many cases
// they erased. actorID names who ran it in the audit log.
func ReapplyLedger(ctx context.Context, in *Installation, actorID string) (erasures, cases int, err error) {
	ledger, err := ReadLedger(in)
	if err != nil {
		return 0, 0, err
	}
	type erasure struct {
		guild string
		at    time.Time
	}
	did := map[erasure]bool{}
	cs := storage.NewCases(in.DB, in.Keys)
	for _, e := range ledger {
		n, err := cs.ReapplyErasure(ctx, e, actorID)
		if err != nil {
			return 0, 0, err
		}
		if n > 0 {
			cases += n
			did[erasure{e.GuildID, e.At}] = true
		}
	}
	return len(did), cases, nil
}
