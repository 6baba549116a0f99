package storage

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// recordsFixture is a database with something in every sealed table: ten
// cases of one guild (1 revoked, 2 with an edited reason, 9 linked to 8),
// settings with roles and rules, a scheduled unban, and one member's data
// erased (cases 4 and 5), which leaves two numbers in erased_cases and
// raises the guild's case counter.
func recordsFixture(t *testing.T) (*DB, Cipher) {
	t.Helper()
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	cs := NewCases(db, k)
	for i := 1; i <= 10; i++ {
		target := alice
		if i == 4 || i == 5 {
			target = "300000000000000003"
		}
		n := warning(target, "reason")
		n.Points = i
		if i == 9 {
			n.LinkedCase = 8
		}
		if i == 7 {
			n.ExpiresAt = t0.Add(time.Hour)
		}
		mustCreateCase(t, cs, n)
	}
	if _, err := cs.Revoke(ctx, testGuild, 1, bob, "revoked", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.UpdateReason(ctx, testGuild, 2, bob, "edited", t0); err != nil {
		t.Fatal(err)
	}
	g := NewGuilds(db, k)
	s := DefaultGuildSettings(testGuild)
	s.ModeratorRoleIDs = []string{"500", "501"}
	s.Escalations = []EscalationRule{{Points: 10, Action: EscalateKick}}
	if err := g.Save(ctx, s, bob, t0); err != nil {
		t.Fatal(err)
	}
	sched := NewSchedule(db, k)
	if _, err := sched.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: alice,
		DueAt: t0.Add(time.Hour), CaseNumber: 3}, t0); err != nil {
		t.Fatal(err)
	}
	if r, err := cs.EraseMember(ctx, "", "300000000000000003", bob, t0, nil); err != nil || r.Cases != 2 {
		t.Fatalf("EraseMember: %+v, %v", r, err)
	}
	return db, k
}

func mustVerifyDatabase(t *testing.T, db *DB, k Cipher) FullReport {
	t.Helper()
	rep, err := VerifyDatabase(context.Background(), db, k)
	if err != nil || rep.Unsealed {
		t.Fatalf("VerifyDatabase: %+v, %v; want every record intact", rep, err)
	}
	return rep
}

func TestRecordsIntactAfterEveryWriter(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	rep := mustVerifyDatabase(t, db, k)
	// 8 cases, 1 history row, settings, 2 roles, 1 rule, 1 scheduled
	// action, 1 counter, 2 erased numbers, 1 member erasure.
	if rep.Records != 18 || rep.Entries == 0 {
		t.Errorf("report %+v, want 18 records", rep)
	}
	sched := NewSchedule(db, k)
	claimed, err := sched.ClaimDue(ctx, t0.Add(2*time.Hour), 5)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue: %v, %v", claimed, err)
	}
	mustVerifyDatabase(t, db, k)
	if err := sched.Fail(ctx, claimed[0].ID, "discord said no", t0.Add(3*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.ClaimDue(ctx, t0.Add(4*time.Hour), 5); err != nil {
		t.Fatal(err)
	}
	if n, err := sched.RequeueStale(ctx, t0.Add(5*time.Hour), t0); err != nil || n != 1 {
		t.Fatalf("RequeueStale: %d, %v", n, err)
	}
	if n, err := sched.Cancel(ctx, testGuild, alice, ActionUnban, t0); err != nil || n != 1 {
		t.Fatalf("Cancel: %d, %v", n, err)
	}
	// Erasing the member whose case 3 the action names sets its case to NULL
	// on the way, and case 9's link to case 8 stays.
	if _, err := NewCases(db, k).EraseMember(ctx, testGuild, alice, bob, t0, nil); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
	if err := k.(interface{ Rotate() error }).Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reencrypt(ctx, k, 3, nil); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
}

// TestRecordEditsAreNamed makes each edit of finding 2 with plain SQL, as
// someone with an SQLite shell would, and checks that verification names
// the record.
func TestRecordEditsAreNamed(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		want  string
	}{
		{"DeleteCase", []string{`DELETE FROM cases WHERE number = 3`}, "case #3 is missing from guild " + testGuild},
		{"Unrevoke", []string{`UPDATE cases SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL WHERE number = 1`},
			"case #1 in guild " + testGuild + ": its revocation was removed since it was written (revoked at "},
		{"Points", []string{`UPDATE cases SET points = 50 WHERE number = 1`},
			"case #1 in guild " + testGuild + ": points changed since it was written (written as 1, now 50)"},
		{"KindToNote", []string{`UPDATE cases SET kind = 'note' WHERE number = 7`},
			"case #7 in guild " + testGuild + ": kind changed since it was written (written as warning, now note)"},
		{"PointsAndKind", []string{`UPDATE cases SET kind = 'note', points = 9 WHERE number = 7`},
			"case #7 in guild " + testGuild + ": changed since the bot wrote it"},
		{"Revoke", []string{`UPDATE cases SET revoked_at = 5, revoked_by = X'01' WHERE number = 7`},
			"case #7 in guild " + testGuild + ": marked revoked since it was written"},
		{"Expiry", []string{`UPDATE cases SET expires_at = 1 WHERE number = 7`}, "case #7"},
		{"Relink", []string{`UPDATE cases SET linked_case_id = (SELECT id FROM cases WHERE number = 2) WHERE number = 9`}, "case #9"},
		{"SwapIDs", []string{`UPDATE case_history SET case_id = (SELECT id FROM cases WHERE number = 3)`}, "revision 1 of the reason of case #3"},
		{"DeleteNewest", []string{`DELETE FROM cases WHERE number = 10`}, "table cases: holds 7 rows where the bot wrote 8"},
		{"PlantRole", []string{`INSERT INTO guild_moderator_roles (guild_id, role_id) VALUES ('` + testGuild + `', '666')`},
			"moderator role 666 of guild " + testGuild + ": was not written by the bot"},
		{"CopyRoleSeal", []string{`INSERT INTO guild_moderator_roles (guild_id, role_id, row_mac)
			SELECT guild_id, '666', row_mac FROM guild_moderator_roles LIMIT 1`}, "moderator role 666"},
		{"DropRule", []string{`DELETE FROM escalation_rules`}, "table escalation_rules: holds 0 rows where the bot wrote 1"},
		{"PostponeUnban", []string{`UPDATE scheduled_actions SET due_at = due_at + 1000000000`}, "scheduled unban #1"},
		{"CancelUnban", []string{`UPDATE scheduled_actions SET state = 'cancelled'`}, "scheduled unban #1"},
		{"DeleteUnban", []string{`DELETE FROM scheduled_actions`}, "table scheduled_actions: holds 0 rows"},
		{"ForgeErasure", []string{`DELETE FROM cases WHERE number = 6`,
			`INSERT INTO erased_cases (guild_id, number, erased_at) VALUES ('` + testGuild + `', 6, 1)`},
			"the erasure of case #6 in guild " + testGuild + ": was not written by the bot"},
		{"LowerCounter", []string{`UPDATE case_counters SET last_number = 1`}, "the case counter of guild " + testGuild},
		{"DisableDMs", []string{`UPDATE guild_settings SET dm_enabled = 0`}, "the settings of guild " + testGuild},
		{"EditHistory", []string{`DELETE FROM case_history`}, "table case_history: holds 0 rows where the bot wrote 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, k := recordsFixture(t)
			for _, q := range tt.edits {
				if _, err := db.write.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			_, err := VerifyDatabase(context.Background(), db, k)
			var re *RecordError
			if !errors.As(err, &re) || !errors.Is(err, ErrRecordAltered) {
				t.Fatalf("got %v, want a RecordError", err)
			}
			if !strings.Contains(re.Error(), tt.want) {
				t.Errorf("got %q, want it to say %q", re.Error(), tt.want)
			}
		})
	}
}

// TestRecordRollback puts back an older copy of a row, seal and all, as
// someone holding an earlier copy of the database could: every stored seal
// is valid, and only the table's sum shows it.
func TestRecordRollback(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	var old []any
	row := db.write.QueryRow(`SELECT revoked_at, revoked_by, revoke_reason, row_mac FROM cases WHERE number = 3`)
	old = make([]any, 4)
	if err := row.Scan(&old[0], &old[1], &old[2], &old[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCases(db, k).Revoke(ctx, testGuild, 3, bob, "later", t0); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
	if _, err := db.write.Exec(`UPDATE cases SET revoked_at = ?, revoked_by = ?, revoke_reason = ?, row_mac = ? WHERE number = 3`,
		old...); err != nil {
		t.Fatal(err)
	}
	_, err := VerifyDatabase(ctx, db, k)
	if !errors.Is(err, ErrRecordAltered) || !strings.Contains(err.Error(), "table cases: does not add up") {
		t.Fatalf("got %v, want the cases table's sum named", err)
	}
}

// TestWritersRefuseAlteredRecords: the bot does not build on a record
// edited outside it, so the edit is not sealed over.
func TestWritersRefuseAlteredRecords(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	if _, err := db.write.Exec(`UPDATE cases SET points = 50 WHERE number = 7`); err != nil {
		t.Fatal(err)
	}
	_, err := NewCases(db, k).Revoke(ctx, testGuild, 7, bob, "x", t0)
	if !errors.Is(err, ErrRecordAltered) || !strings.Contains(err.Error(), "case #7") {
		t.Fatalf("Revoke of an edited case: %v, want it refused naming case #7", err)
	}
	if _, err := db.Reencrypt(ctx, k, 100, nil); err != nil {
		t.Fatalf("Reencrypt with nothing to do: %v", err)
	}
}

// TestSealRecords: a database whose records predate sealing (no seals, a
// head of the first format) is reported as such, and SealRecords seals it
// once.
func TestSealRecords(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	// Back to how an older version left it.
	tx, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := loadHead(ctx, tx, k)
	if err != nil {
		t.Fatal(err)
	}
	h.records = nil
	if err := storeHead(ctx, tx, k, h); err != nil {
		t.Fatal(err)
	}
	for _, rt := range recordTables {
		if _, err := tx.ExecContext(ctx, `UPDATE `+rt.name+` SET row_mac = NULL`); err != nil {
			t.Fatal(err)
		}
	}
	// An older version erased cases without recording their numbers: here
	// cases 4 and 5 (erased by the fixture) and 10, the newest, whose
	// number the counter kept.
	for _, q := range []string{`DELETE FROM erased_cases`, `DELETE FROM cases WHERE number = 10`,
		`UPDATE case_counters SET last_number = 10`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.head.clear() // written behind the recorders' back, as another process would

	if rep, err := VerifyDatabase(ctx, db, k); err != nil || !rep.Unsealed || rep.Entries == 0 {
		t.Fatalf("before sealing: %+v, %v; want the chain checked and the records unsealed", rep, err)
	}
	if _, err := NewCases(db, k).Create(ctx, warning(alice, "x")); !errors.Is(err, ErrRecordsUnsealed) {
		t.Fatalf("Create before sealing: %v, want ErrRecordsUnsealed", err)
	}
	n, err := SealRecords(ctx, db, k, "test")
	if err != nil || n != 18 {
		t.Fatalf("SealRecords: %d, %v; want 18 (7 cases and 3 numbers erased before among them)", n, err)
	}
	mustVerifyDatabase(t, db, k)
	var erased string
	if err := db.write.QueryRow(`SELECT group_concat(number) FROM (SELECT number FROM erased_cases ORDER BY number)`).Scan(&erased); err != nil || erased != "4,5,10" {
		t.Errorf("erased_cases after sealing: %q, %v; want 4,5,10", erased, err)
	}
	if n, err := SealRecords(ctx, db, k, "test"); err != nil || n != 0 {
		t.Fatalf("second SealRecords: %d, %v; want 0", n, err)
	}
	mustCreateCase(t, NewCases(db, k), warning(alice, "after"))
	mustVerifyDatabase(t, db, k)
}

// TestRecordsWithoutHead: deleting the chain's head along with the audit
// log does not make the records look like a fresh database's.
func TestRecordsWithoutHead(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	if _, err := db.write.Exec(`DELETE FROM meta WHERE key = 'audit_head'; DELETE FROM audit_log`); err != nil {
		t.Fatal(err)
	}
	_, err := VerifyDatabase(ctx, db, k)
	if !errors.Is(err, ErrRecordAltered) || !strings.Contains(err.Error(), "sealed head that covers them is missing") {
		t.Fatalf("got %v, want the missing head named", err)
	}
	if _, err := SealRecords(ctx, db, k, "test"); !errors.Is(err, ErrRecordAltered) {
		t.Fatalf("SealRecords: %v, want it refused", err)
	}
}

// TestHeadCacheLateSet: a transaction that committed, and only then sets the
// cache, after a later transaction has begun its commit, must not leave its
// older head there for the next writer.
func TestHeadCacheLateSet(t *testing.T) {
	var hc headCache
	k := newTestKeys(t)
	old := chainHead{seq: 1, hash: make([]byte, hashSize)}
	first := hc.clear()
	second := hc.clear()
	hc.set(k, old, first)
	if _, ok := hc.get(k); ok {
		t.Fatal("a set from before the last clear was kept")
	}
	hc.set(k, chainHead{seq: 2, hash: make([]byte, hashSize)}, second)
	if h, ok := hc.get(k); !ok || h.seq != 2 {
		t.Fatalf("get: %+v, %v; want the head of the last commit", h, ok)
	}
	if _, ok := hc.get(newTestKeys(t)); ok {
		t.Error("the head was given for another Cipher")
	}
}

// TestHeadWithFewerTables: a head written when fewer tables were sealed
// reads with zero sums for the tables added since, which a migration
// creates empty.
func TestHeadWithFewerTables(t *testing.T) {
	h := chainHead{seq: 7, hash: bytes.Repeat([]byte{1}, hashSize), records: &recordState{}}
	for i := range h.records.sums {
		h.records.sums[i] = tableSum{rows: int64(i + 1)}
	}
	full := h.encode()
	const older = 8
	b := append([]byte(nil), full[:headSize(0)]...)
	b[headSize(0)-1] = older
	b = append(b, full[headSize(0):headSize(older)]...)
	got, ok := decodeHead(b)
	if !ok || got.seq != 7 || got.records == nil {
		t.Fatalf("decode: %+v, %v", got, ok)
	}
	for i, s := range got.records.sums {
		want := int64(0)
		if i < older {
			want = int64(i + 1)
		}
		if s.rows != want {
			t.Errorf("table %d: %d rows, want %d", i, s.rows, want)
		}
	}
	if _, ok := decodeHead(full[:len(full)-1]); ok {
		t.Error("a cut-short head decoded")
	}
}
