package storage

import (
	"context"
	"errors"
	"testing"
)

func TestModlogRecord(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	ml := NewModlog(db, k)
	w := mustCreateCase(t, cs, warning(alice, "spam"))
	other := mustCreateCase(t, cs, warning(bob, "flood"))

	t.Run("OK", func(t *testing.T) {
		for _, m := range []ModlogMessage{
			{GuildID: testGuild, CaseNumber: w.Number, ChannelID: "222", MessageID: "333"},
			{GuildID: testGuild, CaseNumber: w.Number, ChannelID: "222", MessageID: "334"},
			{GuildID: testGuild, CaseNumber: other.Number, ChannelID: "222", MessageID: "335"},
		} {
			if err := ml.Record(ctx, m); err != nil {
				t.Fatalf("Record(%+v): %v", m, err)
			}
		}
		if _, err := VerifyDatabase(ctx, db, k); err != nil {
			t.Fatalf("VerifyDatabase after Record: %v", err)
		}
		p, err := cs.PreviewErase(ctx, testGuild, alice)
		if err != nil || p.ModlogMessages != 2 {
			t.Errorf("preview modlog messages got=%d (%v), want 2", p.ModlogMessages, err)
		}
	})

	t.Run("ErasedWithTheCase", func(t *testing.T) {
		r, err := cs.EraseMember(ctx, testGuild, alice, "admin", t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.ModlogMessages) != 2 || r.ModlogMessages[0].MessageID != "333" || r.ModlogMessages[1].ChannelID != "222" {
			t.Errorf("erased modlog messages got=%+v, want 333 and 334 in channel 222", r.ModlogMessages)
		}
		if _, err := VerifyDatabase(ctx, db, k); err != nil {
			t.Fatalf("VerifyDatabase after the erasure: %v", err)
		}
		p, err := cs.PreviewErase(ctx, testGuild, bob)
		if err != nil || p.ModlogMessages != 1 {
			t.Errorf("another member's modlog messages got=%d (%v), want 1 kept", p.ModlogMessages, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		// The case was erased between the post and the record.
		err := ml.Record(ctx, ModlogMessage{GuildID: testGuild, CaseNumber: w.Number, ChannelID: "222", MessageID: "336"})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Record for an erased case got=%v, want ErrNotFound", err)
		}
		if _, err := VerifyDatabase(ctx, db, k); err != nil {
			t.Fatalf("VerifyDatabase: %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, m := range []ModlogMessage{
			{GuildID: testGuild, CaseNumber: 0, ChannelID: "222", MessageID: "1"},
			{GuildID: testGuild, CaseNumber: other.Number, MessageID: "1"},
			{GuildID: testGuild, CaseNumber: other.Number, ChannelID: "222"},
			{CaseNumber: other.Number, ChannelID: "222", MessageID: "1"},
		} {
			if err := ml.Record(ctx, m); !errors.Is(err, ErrInvalid) {
				t.Errorf("Record(%+v) got=%v, want ErrInvalid", m, err)
			}
		}
	})
}

// TestModlogRecordBatch: many posts share one commit; a post about a case
// erased meanwhile is skipped, the others recorded, and the records
// verify.
func TestModlogRecordBatch(t *testing.T) {
	ctx := context.Background()
	db, k := newTestDB(t), newTestKeys(t)
	cs := NewCases(db, k)
	a := mustCreateCase(t, cs, warning(alice, "a"))
	b := mustCreateCase(t, cs, warning(bob, "b"))
	if _, err := cs.EraseMember(ctx, testGuild, bob, "admin", t0, nil); err != nil {
		t.Fatal(err)
	}
	n, err := NewModlog(db, k).RecordBatch(ctx, []ModlogMessage{
		{GuildID: testGuild, CaseNumber: a.Number, ChannelID: "9", MessageID: "100"},
		{GuildID: testGuild, CaseNumber: b.Number, ChannelID: "9", MessageID: "101"},
		{GuildID: testGuild, CaseNumber: a.Number, ChannelID: "9", MessageID: "102"},
	})
	if err != nil || n != 2 {
		t.Fatalf("RecordBatch: %d, %v; want 2 (the erased case's post skipped)", n, err)
	}
	if _, err := NewModlog(db, k).RecordBatch(ctx, []ModlogMessage{{GuildID: testGuild, CaseNumber: a.Number}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an incomplete message: %v, want ErrInvalid", err)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Errorf("records: %v", err)
	}
}
