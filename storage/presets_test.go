package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestPresets(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	db := newTestDB(t)
	p := NewPresets(db, k)
	const mod = "222222222222222222"

	if replaced, err := p.Put(ctx, testGuild, ReasonPreset{Name: "Spam", Text: "Posting spam links", Points: 2}, 3, mod, t0); err != nil || replaced {
		t.Fatalf("Put: %v, %v", replaced, err)
	}
	if _, err := p.Put(ctx, testGuild, ReasonPreset{Name: "flood", Text: "Flooding the chat"}, 3, mod, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, "999999999999999999", ReasonPreset{Name: "elsewhere", Text: "another guild's"}, 3, mod, t0); err != nil {
		t.Fatal(err)
	}
	// The same name in other case replaces the preset.
	if replaced, err := p.Put(ctx, testGuild, ReasonPreset{Name: "SPAM", Text: "Spam, again", Points: 3}, 3, mod, t0); err != nil || !replaced {
		t.Fatalf("Put of an existing name: %v, %v; want it replaced", replaced, err)
	}
	got, err := p.List(ctx, testGuild)
	if err != nil || len(got) != 2 || got[0].Name != "flood" || got[1].Name != "SPAM" || got[1].Text != "Spam, again" || got[1].Points != 3 || got[0].Points != 0 {
		t.Fatalf("List: %+v, %v; want flood and SPAM (3 points)", got, err)
	}
	if _, err := p.Put(ctx, testGuild, ReasonPreset{Name: "third", Text: "x"}, 3, mod, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, testGuild, ReasonPreset{Name: "fourth", Text: "x"}, 3, mod, t0); !errors.Is(err, ErrTooMany) {
		t.Fatalf("Put beyond the limit: %v, want ErrTooMany", err)
	}
	if _, err := p.Put(ctx, testGuild, ReasonPreset{Name: "third", Text: "y"}, 3, mod, t0); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	if gone, err := p.Remove(ctx, testGuild, "Flood", mod, t0); err != nil || gone.Text != "Flooding the chat" {
		t.Fatalf("Remove: %+v, %v", gone, err)
	}
	if _, err := p.Remove(ctx, testGuild, "flood", mod, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove again: %v, want ErrNotFound", err)
	}
	mustVerifyDatabase(t, db, k)

	// Names and texts are sealed: the file holds neither.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Spam, again", "SPAM", "another guild's"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the database file holds %q in plain text", s)
		}
	}

	// A departed guild's presets go with its other records.
	ret := NewRetention(db, k)
	if err := ret.RecordDeparture(ctx, testGuild, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		if done, err = ret.DeleteGuildBatch(ctx, testGuild, t0.Add(2*time.Hour), 10); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := p.List(ctx, testGuild); err != nil || len(got) != 0 {
		t.Errorf("presets of the departed guild: %+v, %v; want none", got, err)
	}
	if got, err := p.List(ctx, "999999999999999999"); err != nil || len(got) != 1 {
		t.Errorf("presets of another guild: %+v, %v; want kept", got, err)
	}
	mustVerifyDatabase(t, db, k)
}

func TestRevokeWarnings(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	db := newTestDB(t)
	cs := NewCases(db, k)
	const target, other = "333333333333333333", "444444444444444444"
	a := mustCreateCase(t, cs, warning(target, "one"))
	mustCreateCase(t, cs, warning(other, "someone else"))
	note := warning(target, "a note")
	note.Kind, note.Points = CaseNote, 0
	mustCreateCase(t, cs, note)
	b := mustCreateCase(t, cs, warning(target, "two"))
	expired := warning(target, "expired")
	expired.ExpiresAt = t0.Add(time.Minute)
	mustCreateCase(t, cs, expired)
	at := t0.Add(time.Hour)
	shown := []int64{a.Number, b.Number}
	later := mustCreateCase(t, cs, warning(target, "given after the preview"))
	got, newer, err := cs.RevokeWarnings(ctx, testGuild, target, shown, "222222222222222222", "clean slate", at)
	if err != nil || len(got) != 2 || got[0].Number != a.Number || got[1].Number != b.Number || newer != 1 {
		t.Fatalf("RevokeWarnings: %+v, %d newer, %v; want cases %d and %d, and 1 newer", got, newer, err, a.Number, b.Number)
	}
	if c, err := cs.Get(ctx, testGuild, later.Number); err != nil || c.Revoked != nil {
		t.Errorf("a warning not among the numbers shown: %+v, %v; want it left active", c.Revoked, err)
	}
	for _, c := range got {
		if c.Revoked == nil || c.Revoked.Reason != "clean slate" || c.Reason == "" {
			t.Errorf("case %d: %+v, want revoked with the reason, its own reason kept", c.Number, c.Revoked)
		}
	}
	if pts, _ := cs.ActivePoints(ctx, testGuild, other, at); pts != 1 {
		t.Errorf("another member's points: %d, want 1", pts)
	}
	if again, newer, err := cs.RevokeWarnings(ctx, testGuild, target, shown, "222222222222222222", "x", at); err != nil || len(again) != 0 || newer != 1 {
		t.Errorf("RevokeWarnings again: %+v, %d newer, %v; want none revoked, 1 newer", again, newer, err)
	}
	recent, err := cs.Recent(ctx, testGuild, 2)
	if err != nil || len(recent) != 2 || recent[0].Number <= recent[1].Number {
		t.Errorf("Recent: %+v, %v; want the 2 newest, newest first", recent, err)
	}
	mustVerifyDatabase(t, db, k)
}
