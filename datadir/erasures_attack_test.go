package datadir

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/modbot/bot/storage"
)

// TestAttackCrashBeforeLedgerWrite: the process dies right after an
// erasure commits. The database's member_erasures mark cannot be matched to
// anything, so the ledger must already hold the erasure (it is written
// before the commit), or restoring an older copy would bring the member's
// records back at start-up.
func TestAttackCrashBeforeLedgerWrite(t *testing.T) {
	ctx := context.Background()
	cfg := initialized(t)
	addCase(t, cfg)
	in := open(t, cfg, false)
	if err := in.DB.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(DBPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	keep := func(e []storage.Erasure) error { return AddToLedger(in, e) }
	if _, err := storage.NewCases(in.DB, in.Keys).EraseMember(ctx, ledgerGuild, ledgerMember, "admin", time.Now(), keep); err != nil {
		t.Fatal(err)
	}
	// The crash: nothing runs after the commit.
	in.Close()

	// The bot restarts once (start-up re-applies the ledger), then the
	// owner restores the copy from before the erasure.
	open(t, cfg, true).Close()
	os.Remove(DBPath(cfg) + "-wal")
	os.Remove(DBPath(cfg) + "-shm")
	if err := os.WriteFile(DBPath(cfg), before, 0o600); err != nil {
		t.Fatal(err)
	}
	in = open(t, cfg, true)
	if n := memberCases(t, in); n != 0 {
		t.Errorf("after a crash between the erasure's commit and the ledger write, a restored copy brings back %d case(s) of the erased member", n)
	}
}

// TestAttackWALKeepsErasedBytesWhenCheckpointBusy: after an erasure in
// 'bot run', a reader (a scheduled backup's snapshot) keeps the WAL from
// being emptied at once; once it ends, the background checkpointer, asked
// for a truncating checkpoint by the erasure, must empty it, so that the
// WAL does not keep the member's ciphertext until the next erasure or
// shutdown.
func TestAttackWALKeepsErasedBytesWhenCheckpointBusy(t *testing.T) {
	ctx := context.Background()
	cfg := initialized(t)
	in := open(t, cfg, true)
	cs := storage.NewCases(in.DB, in.Keys)
	if _, err := cs.Create(ctx, storage.NewCase{
		GuildID: ledgerGuild, Kind: storage.CaseWarning, TargetID: ledgerMember, TargetName: "someone",
		ModeratorID: "400000000000000001", ModeratorName: "mod", Reason: "canary reason", Points: 1, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open("sqlite", DBPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var sealed []byte
	if err := reader.QueryRow(`SELECT reason FROM cases`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	tx, err := reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM cases`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.EraseMember(ctx, ledgerGuild, ledgerMember, "admin", time.Now(),
		func(e []storage.Erasure) error { return AddToLedger(in, e) }); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	time.Sleep(time.Second) // several rounds of the background checkpointer
	wal, _ := os.ReadFile(DBPath(cfg) + "-wal")
	file, _ := os.ReadFile(DBPath(cfg))
	if bytes.Contains(wal, sealed) || bytes.Contains(file, sealed) {
		t.Errorf("a second after the reader ended, the erased case's sealed reason is still on disk (WAL %d bytes): "+
			"nothing retries the truncating checkpoint", len(wal))
	}
}

// TestAttackHostileLedgerNoPanic (holds today): damaged or odd ledgers,
// sealed with the right keys, give errors, never panics.
func TestAttackHostileLedgerNoPanic(t *testing.T) {
	cfg := initialized(t)
	in := open(t, cfg, false)
	kr := in.Keys
	seal := func(plain string) []byte {
		s, err := kr.Seal([]byte(plain), ledgerAD)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(ledgerMagic), s...)
	}
	for name, data := range map[string][]byte{
		"empty":        nil,
		"magicOnly":    []byte(ledgerMagic),
		"null":         seal(`null`),
		"object":       seal(`{}`),
		"badIndex":     seal(`[{"guild_id":"1","index":"!!","at":"2025-01-01T00:00:00Z"}]`),
		"noTime":       seal(`[{"guild_id":"1","index":"AQ=="}]`),
		"nullEntry":    seal(`[null]`),
		"hugeYear":     seal(`[{"guild_id":"1","index":"AQ==","at":"9999-12-31T23:59:59Z"}]`),
		"garbageAfter": append([]byte(ledgerMagic), bytes.Repeat([]byte{0xff}, 4096)...),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic: %v", r)
				}
			}()
			es, err := OpenLedger(kr, data, "ledger")
			if err == nil {
				for _, e := range es {
					if _, err := storage.NewCases(in.DB, in.Keys).ReapplyErasure(context.Background(), e, "test"); err != nil &&
						!strings.Contains(err.Error(), "erasure") {
						t.Errorf("ReapplyErasure: %v", err)
					}
				}
			}
		})
	}
}
