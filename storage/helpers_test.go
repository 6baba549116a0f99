package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modbot/bot/keys"
)

// Interface checks: the real keyring is what storage is written against.
var (
	_ Cipher           = (*keys.Keyring)(nil)
	_ SentinelChecker  = (*keys.Keyring)(nil)
	_ KeyInspector     = (*keys.Keyring)(nil)
	_ SentinelResealer = (*keys.Keyring)(nil)
)

// t0 is a fixed "now" for tests, so expiry arithmetic is exact.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testGuild is a guild ID used across tests.
const testGuild = "111111111111111111"

// newTestDB opens and migrates a database in a fresh temporary directory.
func newTestDB(t *testing.T) *DB {
	t.Helper()
	return newTestDBWith(t, openOptions{})
}

// newTestDBWith is newTestDB with options.
func newTestDBWith(t *testing.T, o openOptions) *DB {
	t.Helper()
	db := openTestDBWith(t, filepath.Join(t.TempDir(), "bot.db"), o)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// openTestDB opens path and closes it when the test ends.
func openTestDB(t *testing.T, path string) *DB {
	t.Helper()
	return openTestDBWith(t, path, openOptions{})
}

// openTestDBWith is openTestDB with options.
func openTestDBWith(t *testing.T, path string, o openOptions) *DB {
	t.Helper()
	db, err := openDB(context.Background(), path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newTestKeys creates a real keyring in a fresh temporary directory.
func newTestKeys(t *testing.T) *keys.Keyring {
	t.Helper()
	k, err := keys.Create(keys.Options{Dir: filepath.Join(t.TempDir(), "keys")})
	if err != nil {
		t.Fatalf("keys.Create: %v", err)
	}
	return k
}

// mustCreateCase creates a case or fails the test.
func mustCreateCase(t *testing.T, cs *Cases, n NewCase) Case {
	t.Helper()
	c, err := cs.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return c
}

// warning returns a valid one-point warning against target in testGuild.
func warning(target, reason string) NewCase {
	return NewCase{
		GuildID: testGuild, Kind: CaseWarning, TargetID: target, TargetName: "name-" + target,
		ModeratorID: "222222222222222222", ModeratorName: "mod", Reason: reason, Points: 1, CreatedAt: t0,
	}
}
