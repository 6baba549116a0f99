package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/modbot/bot/keys"
)

// TestPrivacyAtRest writes personal data through every repository and then
// searches the raw bytes of the database file and its WAL: no user ID, name
// or reason may appear, in any encoding storage could have used.
func TestPrivacyAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openTestDB(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k := newTestKeys(t)
	const (
		targetID  = "412345678901234567"
		modID     = "498765432109876543"
		name      = "xyzzy-secret-username"
		modName   = "xyzzy-secret-modname"
		reason    = "xyzzy-secret-reason"
		newReason = "xyzzy-secret-edited-reason"
		revoke    = "xyzzy-secret-revoke-reason"
		details   = "xyzzy-secret-audit-details"
		lastErr   = "xyzzy-secret-error"
	)
	cs := NewCases(db, k)
	for _, kind := range []CaseKind{CaseWarning, CaseNote, CaseBan} {
		mustCreateCase(t, cs, NewCase{
			GuildID: testGuild, Kind: kind, TargetID: targetID, TargetName: name,
			ModeratorID: modID, ModeratorName: modName, Reason: reason, Points: 1, CreatedAt: t0,
		})
	}
	if _, err := cs.UpdateReason(ctx, testGuild, 1, modID, newReason, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Revoke(ctx, testGuild, 2, modID, revoke, t0); err != nil {
		t.Fatal(err)
	}
	s := NewSchedule(db, k)
	a, err := s.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: targetID, DueAt: t0, CaseNumber: 3}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDue(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, a.ID, lastErr, t0.Add(1), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAudit(db, k).Append(ctx, AuditEntry{At: t0, GuildID: testGuild, ActorID: modID, Action: "test", Details: details}); err != nil {
		t.Fatal(err)
	}

	secrets := map[string][]byte{}
	for _, s := range []string{targetID, modID, name, modName, reason, newReason, revoke, details, lastErr} {
		secrets[s] = []byte(s)
	}
	for _, id := range []string{targetID, modID} {
		n, _ := strconv.ParseUint(id, 10, 64)
		secrets[id+" (int64 big-endian)"] = binary.BigEndian.AppendUint64(nil, n)
		secrets[id+" (int64 little-endian)"] = binary.LittleEndian.AppendUint64(nil, n)
	}
	search := func(t *testing.T, file string) {
		t.Helper()
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 {
			t.Fatalf("%s is empty: the test would prove nothing", file)
		}
		for label, needle := range secrets {
			if bytes.Contains(raw, needle) {
				t.Errorf("%s contains %s in plaintext", filepath.Base(file), label)
			}
		}
	}
	// Nothing has been checkpointed: the data sits in the WAL.
	t.Run("WAL", func(t *testing.T) { search(t, path+"-wal") })
	t.Run("MainFile", func(t *testing.T) { search(t, path) })
	// Closing checkpoints the WAL into the main file.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("MainFileAfterCheckpoint", func(t *testing.T) { search(t, path) })
}

// TestPrivacyMovedCiphertext moves ciphertexts with raw SQL, as someone with
// the file but not the keys might, to show one person's record under
// another's name: reading fails as tampering instead.
func TestPrivacyMovedCiphertext(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tamper string
	}{
		{"ToOtherRow", `UPDATE cases SET reason = (SELECT reason FROM cases WHERE number = 1) WHERE number = 2`},
		{"ToOtherColumn", `UPDATE cases SET target_name = target_id WHERE number = 2`},
		{"ToOtherGuildSameNumber", `UPDATE cases SET reason = (SELECT reason FROM cases WHERE guild_id = '999') WHERE number = 2 AND guild_id = '` + testGuild + `'`},
		{"Altered", `UPDATE cases SET reason = unhex(substr(hex(reason), 1, 40) ||
			iif(substr(hex(reason), 41, 2) = 'FF', '00', 'FF') || substr(hex(reason), 43)) WHERE number = 2`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := newTestDB(t)
			cs := NewCases(db, newTestKeys(t))
			mustCreateCase(t, cs, warning(alice, "about alice"))
			mustCreateCase(t, cs, warning(bob, "about bob"))
			other := warning(alice, "other guild")
			other.GuildID = "999"
			mustCreateCase(t, cs, other)
			exec(t, db, tt.tamper)
			_, err := cs.Get(ctx, testGuild, 2)
			if !errors.Is(err, ErrTampered) || !errors.Is(err, keys.ErrDecrypt) {
				t.Errorf("got=%v, want ErrTampered wrapping keys.ErrDecrypt", err)
			}
			if _, err := cs.Get(ctx, testGuild, 1); err != nil {
				t.Errorf("untouched case: %v", err)
			}
		})
	}
}
