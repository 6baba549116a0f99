package storage

import (
	"context"
	"testing"
)

// TestReencryptPresets: a preset sealed under an old key reads after
// re-encryption, and its seal still verifies.
func TestReencryptPresets(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	p := NewPresets(db, k)
	if _, err := p.Put(ctx, testGuild, ReasonPreset{Name: "spam", Text: "Posting spam", Points: 2}, 25, alice, t0); err != nil {
		t.Fatal(err)
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Reencrypt(ctx, k, 10, nil); err != nil || n < 2 {
		t.Fatalf("Reencrypt: %d, %v; want the name and text rewritten", n, err)
	}
	if left := staleCount(t, db, k); left != 0 {
		t.Errorf("after re-encryption: %d stale values", left)
	}
	got, err := p.List(ctx, testGuild)
	if err != nil || len(got) != 1 || got[0].Name != "spam" || got[0].Text != "Posting spam" || got[0].Points != 2 {
		t.Errorf("List: %+v, %v", got, err)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("VerifyDatabase: %v", err)
	}
}
