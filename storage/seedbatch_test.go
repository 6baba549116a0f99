package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestCreateBatch checks that a batch stores what Create and Revoke store
// one at a time: the same cases, numbers and revocations, read back through
// the same queries, and an audit chain of the same length that verifies.
func TestCreateBatch(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	revoked := &Revocation{At: t0.Add(time.Hour), ByID: "333333333333333333", Reason: "appeal accepted"}
	batch := []BatchCase{
		{NewCase: warning("444444444444444444", "spam")},
		{NewCase: warning("444444444444444444", "more spam"), Revocation: revoked},
		{NewCase: warning("555555555555555555", "slurs")},
	}
	batch[2].ExpiresAt = t0.Add(24 * time.Hour)

	one := NewCases(newTestDB(t), k)
	for _, bc := range batch {
		c := mustCreateCase(t, one, bc.NewCase)
		if r := bc.Revocation; r != nil {
			if _, err := one.Revoke(ctx, testGuild, c.Number, r.ByID, r.Reason, r.At); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
		}
	}
	many := NewCases(newTestDB(t), k)
	if err := many.CreateBatch(ctx, batch); err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}

	for _, user := range []string{"444444444444444444", "555555555555555555"} {
		want, err := one.AllForUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		got, err := many.AllForUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cases of %s got=%+v, want %+v", user, got, want)
		}
	}
	wantN, err := NewAudit(one.db, k).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gotN, err := NewAudit(many.db, k).Verify(ctx)
	if err != nil || gotN != wantN {
		t.Errorf("audit chain after a batch got=%d entries (%v), want %d and no error", gotN, err, wantN)
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		bad := append([]BatchCase{{NewCase: warning("666666666666666666", "ok")}}, BatchCase{NewCase: NewCase{GuildID: testGuild}})
		if err := many.CreateBatch(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("CreateBatch with an invalid case got=%v, want ErrInvalid", err)
		}
		if got, _ := many.AllForUser(ctx, "666666666666666666"); len(got) != 0 {
			t.Errorf("a refused batch stored %d cases, want none", len(got))
		}
	})
}

// TestBaseline checks the bare baseline's insert and indexed select, and
// that it runs with the bot's pragmas.
func TestBaseline(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBaseline(ctx, filepath.Join(t.TempDir(), "bare.db"))
	if err != nil {
		t.Fatalf("OpenBaseline: %v", err)
	}
	defer b.Close()
	if err := checkPragmas(ctx, b.write); err != nil {
		t.Error(err)
	}
	rows := []BaselineRow{
		{GuildID: testGuild, Number: 1, Kind: CaseWarning, TargetID: "7", Reason: "a", Points: 1, CreatedAt: t0},
		{GuildID: testGuild, Number: 2, Kind: CaseWarning, TargetID: "7", Reason: "b", Points: 1, CreatedAt: t0, RevokedAt: t0},
		{GuildID: testGuild, Number: 3, Kind: CaseWarning, TargetID: "8", Reason: "c", Points: 1, CreatedAt: t0},
	}
	if err := b.InsertBatch(ctx, rows[:2]); err != nil {
		t.Fatal(err)
	}
	if err := b.Insert(ctx, rows[2]); err != nil {
		t.Fatal(err)
	}
	got, err := b.ListForUser(ctx, testGuild, "7", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], rows[0]) {
		t.Errorf("ListForUser got=%+v, want only %+v", got, rows[0])
	}
}

// TestBaselineMirrorsCaseIndexes: the baseline keeps an index for each of
// the cases table's, with as many columns, so that a benchmark against it
// measures what the bot adds to an insert, not an index it lacks.
func TestBaselineMirrorsCaseIndexes(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	b, err := OpenBaseline(ctx, filepath.Join(t.TempDir(), "bare.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	widths := func(q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}, table string) []int {
		rows, err := q.QueryContext(ctx, `SELECT (SELECT count(*) FROM pragma_index_info(il.name))
			FROM pragma_index_list(?) il WHERE il.origin = 'c' ORDER BY 1`, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	cases, bare := widths(db.write, "cases"), widths(b.write, "bare_cases")
	if !slices.Equal(cases, bare) {
		t.Errorf("index widths of cases %v, of the baseline %v: give the baseline the index it lacks", cases, bare)
	}
}
