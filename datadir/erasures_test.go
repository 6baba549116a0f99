package datadir

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/storage"
)

const (
	ledgerGuild  = "200000000000000001"
	ledgerMember = "400000000000000002"
)

// erase erases ledgerMember's records through storage, recording the
// erasure in the ledger first, as the bot and 'bot privacy erase' do.
func erase(t *testing.T, in *Installation, at time.Time) {
	t.Helper()
	keep := func(e []storage.Erasure) error {
		if len(e) == 0 {
			t.Error("EraseMember gave nothing for the ledger")
		}
		return AddToLedger(in, e)
	}
	if _, err := storage.NewCases(in.DB, in.Keys).EraseMember(context.Background(), ledgerGuild, ledgerMember, "test", at, keep); err != nil {
		t.Fatal(err)
	}
}

// memberCases counts ledgerMember's cases.
func memberCases(t *testing.T, in *Installation) int {
	t.Helper()
	cs, err := storage.NewCases(in.DB, in.Keys).AllForUser(context.Background(), ledgerMember)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

func open(t *testing.T, cfg *config.Config, migrate bool) *Installation {
	t.Helper()
	in, err := Open(context.Background(), cfg, migrate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// TestLedgerSurvivesRestore: a database put back from before an erasure
// (here, a copy of the file) has the member erased again at start-up,
// from the ledger, and the records still match their seals.
func TestLedgerSurvivesRestore(t *testing.T) {
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
	erase(t, in, time.Now())
	st, err := os.Stat(LedgerPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ledger mode got=%v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(LedgerPath(cfg))
	if strings.Contains(string(raw), ledgerGuild) {
		t.Error("the ledger holds a guild ID in plaintext; it must be sealed")
	}
	in.Close()

	// The owner copies the old database back by hand.
	os.Remove(DBPath(cfg) + "-wal")
	os.Remove(DBPath(cfg) + "-shm")
	if err := os.WriteFile(DBPath(cfg), before, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := memberCases(t, open(t, cfg, false)); n != 1 {
		t.Fatalf("the old copy holds %d cases of the member, want 1", n)
	}
	in = open(t, cfg, true)
	if n := memberCases(t, in); n != 0 {
		t.Errorf("after start-up: %d cases of the member, want 0 (the ledger re-applies the erasure)", n)
	}
	if _, err := storage.VerifyDatabase(ctx, in.DB, in.Keys); err != nil {
		t.Errorf("records after re-applying: %v", err)
	}
	if e, c, err := ReapplyLedger(ctx, in, "test"); err != nil || e != 0 || c != 0 {
		t.Errorf("re-applying again: %d erasures, %d cases, %v; want nothing to do", e, c, err)
	}
}

// TestLedgerRefusesOtherKeys: a ledger that does not open is an error
// that says what to do, never skipped.
func TestLedgerRefusesOtherKeys(t *testing.T) {
	ctx := context.Background()
	cfg := initialized(t)
	addCase(t, cfg)
	in := open(t, cfg, false)
	erase(t, in, time.Now())
	in.Close()

	other := initialized(t)
	theirs, err := os.ReadFile(LedgerPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"OtherKeys", theirs, "does not open with these keys"},
		{"NotALedger", []byte("hello"), "is not an erasure ledger"},
		{"Truncated", theirs[:len(theirs)-3], "does not open with these keys"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(LedgerPath(other), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(ctx, other, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "move the file aside") {
				t.Errorf("got=%v, want %q and what to do", err, tt.want)
			}
		})
	}
}

func TestMergeErasures(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	a := []storage.Erasure{{GuildID: "1", Index: []byte{1}, At: t1}, {GuildID: "2", Index: []byte{1}, At: t2}}
	b := []storage.Erasure{{GuildID: "1", Index: []byte{1}, At: t2}, {GuildID: "1", Index: []byte{2}, At: t1}}
	got := MergeErasures(a, b)
	if len(got) != 3 {
		t.Fatalf("got=%+v, want 3 entries (the union)", got)
	}
	for _, e := range got {
		if e.GuildID == "1" && e.Index[0] == 1 && !e.At.Equal(t2) {
			t.Errorf("guild 1 index 1 at %v, want the newer %v", e.At, t2)
		}
	}
}
