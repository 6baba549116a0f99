package storage

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

const day = 24 * time.Hour

// retentionFixture is a guild's cases of every shape, made at t0, and what
// a sweep at t0+40d with 30 days of retention must do to each: every case
// that stopped counting before t0+10d goes.
type retentionFixture struct {
	db    *DB
	k     Cipher
	cases *Cases
	ret   *Retention
	// numbers of the cases by what they are.
	gone, kept map[string]int64
}

func newRetentionFixture(t *testing.T, db *DB, k Cipher) *retentionFixture {
	t.Helper()
	ctx := context.Background()
	f := &retentionFixture{db: db, k: k, cases: NewCases(db, k), ret: NewRetention(db, k),
		gone: map[string]int64{}, kept: map[string]int64{}}
	mk := func(into map[string]int64, name string, n NewCase) Case {
		t.Helper()
		c := mustCreateCase(t, f.cases, n)
		into[name] = c.Number
		return c
	}
	action := func(kind CaseKind, d time.Duration) NewCase {
		n := warning("333333333333333333", "action")
		n.Kind, n.Points, n.Duration = kind, 0, d
		return n
	}
	note := warning("333333333333333333", "a note")
	note.Kind, note.Points = CaseNote, 0
	expired := warning("333333333333333333", "expired")
	expired.ExpiresAt = t0.Add(day)
	expired.MessageLink = "https://discord.com/channels/1/2/3"
	revoked := warning("333333333333333333", "revoked")
	expiresLate := warning("333333333333333333", "expires after the cutoff")
	expiresLate.ExpiresAt = t0.Add(20 * day)
	lateNote := note
	lateNote.CreatedAt = t0.Add(15 * day)

	w := mk(f.gone, "expired warning", expired)
	mk(f.gone, "note", note)
	r := mk(f.gone, "revoked warning", revoked)
	mk(f.gone, "kick", action(CaseKick, 0))
	mk(f.gone, "timeout", action(CaseTimeout, 7*day))
	finished := mk(f.gone, "temporary ban, unbanned", action(CaseBan, day))
	forever := warning("333333333333333333", "counts forever")
	forever.MessageLink = "https://discord.com/channels/1/2/4"
	mk(f.kept, "warning", forever)
	mk(f.kept, "warning expiring after the cutoff", expiresLate)
	mk(f.kept, "note after the cutoff", lateNote)
	mk(f.kept, "permanent ban", action(CaseBan, 0))
	pending := mk(f.kept, "temporary ban with a pending unban", action(CaseBan, day))
	linked := action(CaseBan, 0)
	linked.LinkedCase = w.Number
	mk(f.kept, "ban linked to the expired warning", linked)

	if _, err := f.cases.Revoke(ctx, testGuild, r.Number, "222222222222222222", "mistake", t0.Add(2*day)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cases.UpdateReason(ctx, testGuild, w.Number, "222222222222222222", "edited", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sched := NewSchedule(db, k)
	for _, c := range []Case{finished, pending} {
		if _, err := sched.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: strconv.FormatInt(4_000_000+c.Number, 10),
			DueAt: t0.Add(day), CaseNumber: c.Number}, t0); err != nil {
			t.Fatal(err)
		}
	}
	due, err := sched.ClaimDue(ctx, t0.Add(day), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("ClaimDue: %v, %v", due, err)
	}
	for _, a := range due {
		if a.CaseNumber == finished.Number {
			if err := sched.Complete(ctx, a.ID, t0.Add(day)); err != nil {
				t.Fatal(err)
			}
		} else if err := sched.Fail(ctx, a.ID, "rate limited", t0.Add(60*day), t0.Add(day)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// sweepAll runs batches of limit until none is left, checking the records
// after each, and returns how many cases went.
func sweepAll(t *testing.T, f *retentionFixture, operator time.Duration, now time.Time, limit int) int {
	t.Helper()
	total, after := 0, int64(0)
	for range 1000 {
		res, err := f.ret.SweepBatch(context.Background(), operator, now, after, limit)
		if err != nil {
			t.Fatalf("SweepBatch: %v", err)
		}
		mustVerifyDatabase(t, f.db, f.k)
		total += res.Deleted
		if !res.More {
			return total
		}
		after = res.Next
	}
	t.Fatal("the sweep never ended")
	return 0
}

// numbersOf returns the guild's case numbers, kept and erased.
func numbersOf(t *testing.T, db *DB, guild string) (kept, erased []int64) {
	t.Helper()
	for _, q := range []struct {
		dest *[]int64
		sql  string
	}{
		{&kept, `SELECT number FROM cases WHERE guild_id = ? ORDER BY number`},
		{&erased, `SELECT number FROM erased_cases WHERE guild_id = ? ORDER BY number`},
	} {
		got, err := scanIDs(db.read.QueryContext(context.Background(), q.sql, guild))
		if err != nil {
			t.Fatal(err)
		}
		*q.dest = got
	}
	return kept, erased
}

func sortedValues(m map[string]int64) []int64 {
	var out []int64
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func TestSweepDeletesOnlyWhatStoppedCounting(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	f := newRetentionFixture(t, newTestDB(t), k)

	if n := sweepAll(t, f, 30*day, t0.Add(10*day), 2); n != 0 {
		t.Fatalf("a sweep before anything is due deleted %d cases, want 0", n)
	}
	if n := sweepAll(t, f, 0, t0.Add(400*day), 2); n != 0 {
		t.Fatalf("a sweep without any retention deleted %d cases, want 0", n)
	}
	if n := sweepAll(t, f, 30*day, t0.Add(40*day), 2); n != len(f.gone) {
		t.Fatalf("sweep deleted %d cases, want %d (%v)", n, len(f.gone), f.gone)
	}
	kept, erased := numbersOf(t, f.db, testGuild)
	if want := sortedValues(f.kept); !slices.Equal(kept, want) {
		t.Errorf("cases left: got=%v, want %v", kept, want)
	}
	if want := sortedValues(f.gone); !slices.Equal(erased, want) {
		t.Errorf("erased numbers: got=%v, want %v", erased, want)
	}
	ban, err := f.cases.Get(ctx, testGuild, f.kept["ban linked to the expired warning"])
	if err != nil || ban.LinkedCase != 0 {
		t.Errorf("the linked ban: %+v, %v; want it kept without its link", ban, err)
	}
	var actions, history int
	if err := f.db.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM scheduled_actions), (SELECT count(*) FROM case_history)`).
		Scan(&actions, &history); err != nil {
		t.Fatal(err)
	}
	if actions != 1 || history != 0 {
		t.Errorf("after the sweep: %d scheduled actions and %d history rows, want the pending unban only", actions, history)
	}
	if kept, err := f.cases.Get(ctx, testGuild, f.kept["warning"]); err != nil || kept.MessageLink != "https://discord.com/channels/1/2/4" {
		t.Errorf("the kept warning's message link: %q, %v; want it kept", kept.MessageLink, err)
	}
	var links int
	if err := f.db.read.QueryRowContext(ctx, `SELECT count(*) FROM case_message_links`).Scan(&links); err != nil {
		t.Fatal(err)
	}
	if links != 1 {
		t.Errorf("after the sweep: %d message links, want the kept warning's only", links)
	}
	audit, err := NewAudit(f.db, k).List(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sweeps := 0
	for _, e := range audit {
		if e.Action == "retention.sweep" {
			sweeps++
		}
	}
	if want := (len(f.gone) + 1) / 2; sweeps != want {
		t.Errorf("audit entries of the sweep: %d, want one per batch of 2 (%d)", sweeps, want)
	}
	// Numbers are never handed out again, even the highest deleted.
	next := mustCreateCase(t, f.cases, warning("333333333333333333", "new"))
	if highest := max(slices.Max(sortedValues(f.kept)), slices.Max(sortedValues(f.gone))); next.Number != highest+1 {
		t.Errorf("next case number: got=%d, want %d", next.Number, highest+1)
	}
	mustVerifyDatabase(t, f.db, k)
}

func TestSweepGuildPeriod(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	db := newTestDB(t)
	cases, ret := NewCases(db, k), NewRetention(db, k)
	const other = "999999999999999999"
	for _, g := range []string{testGuild, other} {
		n := warning("333333333333333333", "expired")
		n.GuildID, n.ExpiresAt = g, t0
		mustCreateCase(t, cases, n)
	}
	if err := ret.SetGuildPeriod(ctx, testGuild, 5*day, "222222222222222222", t0); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
	if got, err := ret.GuildPeriod(ctx, testGuild); err != nil || got != 5*day {
		t.Fatalf("GuildPeriod: %v, %v; want 5 days", got, err)
	}
	f := &retentionFixture{db: db, k: k, ret: ret}

	// Operator none: the guild's own period applies, others keep all.
	if n := sweepAll(t, f, 0, t0.Add(6*day), 10); n != 1 {
		t.Fatalf("sweep with only the guild's period deleted %d, want 1", n)
	}
	if kept, _ := numbersOf(t, db, other); len(kept) != 1 {
		t.Errorf("the other guild's cases: %v, want its one case kept", kept)
	}
	// Operator shorter than the guild: the operator's applies.
	n := warning("333333333333333333", "expired again")
	n.ExpiresAt = t0
	mustCreateCase(t, cases, n)
	if n := sweepAll(t, f, 2*day, t0.Add(3*day), 10); n != 2 {
		t.Fatalf("sweep at the operator's shorter period deleted %d, want 2", n)
	}
	if err := ret.SetGuildPeriod(ctx, testGuild, 0, "222222222222222222", t0); err != nil {
		t.Fatal(err)
	}
	if got, err := ret.GuildPeriod(ctx, testGuild); err != nil || got != 0 {
		t.Fatalf("GuildPeriod after off: %v, %v; want 0", got, err)
	}
	if err := ret.SetGuildPeriod(ctx, testGuild, -day, "222222222222222222", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("a negative period: %v, want ErrInvalid", err)
	}
	mustVerifyDatabase(t, db, k)
}

// TestSweepAcrossRestart sweeps, closes the database, opens it again as a
// new process would and sweeps later: what came due meanwhile goes, the
// rest stays, and the records verify throughout.
func TestSweepAcrossRestart(t *testing.T) {
	k := newTestKeys(t)
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := newRetentionFixture(t, db, k)
	if n := sweepAll(t, f, 30*day, t0.Add(40*day), 3); n != len(f.gone) {
		t.Fatalf("first sweep deleted %d, want %d", n, len(f.gone))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTestDB(t, path)
	f.db, f.cases, f.ret = db, NewCases(db, k), NewRetention(db, k)
	mustVerifyDatabase(t, db, k)
	if n := sweepAll(t, f, 30*day, t0.Add(40*day), 3); n != 0 {
		t.Fatalf("the same sweep after a restart deleted %d, want 0", n)
	}
	// Fifty days on, the note made at t0+15d and the warning that expired
	// at t0+20d are due; the rest still counts or is pending.
	if n := sweepAll(t, f, 30*day, t0.Add(51*day), 3); n != 2 {
		t.Fatalf("the later sweep deleted %d, want 2", n)
	}
	kept, _ := numbersOf(t, db, testGuild)
	want := []int64{f.kept["warning"], f.kept["permanent ban"], f.kept["temporary ban with a pending unban"],
		f.kept["ban linked to the expired warning"]}
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("cases left: got=%v, want %v", kept, want)
	}
}

func TestDepartures(t *testing.T) {
	ctx := context.Background()
	k := newTestKeys(t)
	db := newTestDB(t)
	f := newRetentionFixture(t, db, k)
	ret, cases := f.ret, f.cases
	const other = "999999999999999999"
	n := warning("333333333333333333", "another guild's")
	n.GuildID = other
	mustCreateCase(t, cases, n)
	if err := NewGuilds(db, k).Save(ctx, GuildSettings{GuildID: testGuild, ModeratorRoleIDs: []string{"5"},
		Escalations: []EscalationRule{{Points: 3, Action: EscalateKick}}}, "222222222222222222", t0); err != nil {
		t.Fatal(err)
	}
	if err := ret.SetGuildPeriod(ctx, testGuild, 90*day, "222222222222222222", t0); err != nil {
		t.Fatal(err)
	}
	// A sweep first, so the guild has erased numbers among its cases.
	sweepAll(t, f, 30*day, t0.Add(40*day), 100)

	left := t0.Add(50 * day)
	if err := ret.RecordDeparture(ctx, testGuild, left, left.Add(30*day)); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
	deps, err := ret.Departures(ctx)
	if err != nil || len(deps) != 1 || deps[0].GuildID != testGuild || !deps[0].DeleteAt.Equal(left.Add(30*day)) {
		t.Fatalf("Departures: %+v, %v; want the guild, due 30 days after it left", deps, err)
	}

	t.Run("NotDueYet", func(t *testing.T) {
		done, err := ret.DeleteGuildBatch(ctx, testGuild, left.Add(29*day), 2)
		if err != nil || !done {
			t.Fatalf("DeleteGuildBatch before the date: %v, %v", done, err)
		}
		if kept, _ := numbersOf(t, db, testGuild); len(kept) != len(f.kept) {
			t.Errorf("cases before the date: %v, want all %d kept", kept, len(f.kept))
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		if ok, err := ret.CancelDeparture(ctx, testGuild, left.Add(day)); err != nil || !ok {
			t.Fatalf("CancelDeparture: %v, %v; want true", ok, err)
		}
		if ok, err := ret.CancelDeparture(ctx, testGuild, left.Add(day)); err != nil || ok {
			t.Fatalf("CancelDeparture again: %v, %v; want false", ok, err)
		}
		mustVerifyDatabase(t, db, k)
		if done, err := ret.DeleteGuildBatch(ctx, testGuild, left.Add(31*day), 2); err != nil || !done {
			t.Fatalf("DeleteGuildBatch after a cancel: %v, %v", done, err)
		}
		if kept, _ := numbersOf(t, db, testGuild); len(kept) != len(f.kept) {
			t.Errorf("cases after a cancelled departure: %v, want all %d kept", kept, len(f.kept))
		}
	})
	t.Run("Due", func(t *testing.T) {
		if err := ret.RecordDeparture(ctx, testGuild, left, left.Add(30*day)); err != nil {
			t.Fatal(err)
		}
		batches := 0
		for done := false; !done; batches++ {
			if batches > 100 {
				t.Fatal("the deletion never ended")
			}
			if done, err = ret.DeleteGuildBatch(ctx, testGuild, left.Add(30*day), 2); err != nil {
				t.Fatal(err)
			}
			mustVerifyDatabase(t, db, k)
		}
		if batches < 3 {
			t.Errorf("deletion took %d batches of 2, want several", batches)
		}
		for _, table := range recordTables {
			if table.name == "case_history" {
				continue
			}
			var left int
			q := `SELECT count(*) FROM ` + table.name + ` WHERE guild_id = ?`
			if err := db.read.QueryRowContext(ctx, q, testGuild).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left != 0 {
				t.Errorf("%s: %d rows of the guild left, want none", table.name, left)
			}
		}
		if kept, _ := numbersOf(t, db, other); len(kept) != 1 {
			t.Errorf("the other guild's cases: %v, want its one case", kept)
		}
		if deps, err := ret.Departures(ctx); err != nil || len(deps) != 0 {
			t.Errorf("Departures after the deletion: %+v, %v; want none", deps, err)
		}
	})
}
