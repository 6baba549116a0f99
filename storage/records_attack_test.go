package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Attacks on the record seals, as someone with an SQLite shell on the file
// (but not the keys) would make them. Each test fails while the attack
// goes unseen.

const otherGuild = "999999999999999999"

func attackExec(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.write.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func attackHead(t *testing.T, db *DB) []byte {
	t.Helper()
	var b []byte
	if err := db.write.QueryRow(`SELECT value FROM meta WHERE key = 'audit_head'`).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// wantAltered fails the test unless verification reports something wrong.
func wantAltered(t *testing.T, db *DB, k Cipher) {
	t.Helper()
	rep, err := VerifyDatabase(context.Background(), db, k)
	var ce *ChainError
	if errors.Is(err, ErrRecordAltered) || errors.As(err, &ce) {
		return
	}
	t.Fatalf("VerifyDatabase: %+v, %v; want the attack seen (a RecordError or ChainError)", rep, err)
}

// Schedule.Add, ClaimDue, Complete, Fail, Cancel and RequeueStale move the
// sealed head but append no audit entry, so the head before them is still
// consistent with the audit chain: put back with the rows it covered, it
// verifies. Here a new temporary ban's unban is deleted (the ban becomes
// permanent), and a completed unban is put back to pending (it runs again).
func TestAttackReplayHeadAcrossUnauditedWrite(t *testing.T) {
	ctx := context.Background()
	t.Run("DeleteNewAction", func(t *testing.T) {
		db, k := recordsFixture(t)
		old := attackHead(t, db)
		a, err := NewSchedule(db, k).Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUntimeout,
			TargetID: bob, DueAt: t0.Add(time.Hour)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		mustVerifyDatabase(t, db, k)
		attackExec(t, db, `DELETE FROM scheduled_actions WHERE id = ?`, a.ID)
		attackExec(t, db, `UPDATE meta SET value = ? WHERE key = 'audit_head'`, old)
		wantAltered(t, db, k)
	})
	t.Run("ResurrectCompleted", func(t *testing.T) {
		db, k := recordsFixture(t)
		old := attackHead(t, db)
		var id int64
		row := make([]any, 6)
		if err := db.write.QueryRow(`SELECT id, state, attempts, claimed_at, updated_at, row_mac FROM scheduled_actions`).
			Scan(&id, &row[0], &row[1], &row[2], &row[3], &row[4]); err != nil {
			t.Fatal(err)
		}
		sched := NewSchedule(db, k)
		if got, err := sched.ClaimDue(ctx, t0.Add(2*time.Hour), 5); err != nil || len(got) != 1 {
			t.Fatalf("ClaimDue: %v %v", got, err)
		}
		if err := sched.Complete(ctx, id, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		mustVerifyDatabase(t, db, k)
		attackExec(t, db, `UPDATE scheduled_actions SET state = ?, attempts = ?, claimed_at = ?, updated_at = ?, row_mac = ?
			WHERE id = ?`, row[0], row[1], row[2], row[3], row[4], id)
		attackExec(t, db, `UPDATE meta SET value = ? WHERE key = 'audit_head'`, old)
		wantAltered(t, db, k)
	})
}

// sealedFixtureFromOldFormat is recordsFixture as an older bot left it (a
// head of the first format, no seals), then sealed by SealRecords. It
// returns the first-format head and the last audit seq before sealing: what
// an earlier copy of the file holds.
func sealedFixtureFromOldFormat(t *testing.T) (*DB, Cipher, []byte, int64) {
	t.Helper()
	ctx := context.Background()
	db, k := recordsFixture(t)
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
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	v1 := attackHead(t, db)
	var seq int64
	if err := db.write.QueryRow(`SELECT max(seq) FROM audit_log`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := SealRecords(ctx, db, k, "test"); err != nil {
		t.Fatal(err)
	}
	mustVerifyDatabase(t, db, k)
	return db, k, v1, seq
}

// Downgrade: with a copy of the file from before records were sealed, the
// first-format head and the audit log as it then was are put back; every
// record may then be edited at will (seals and all). Verification calls
// the records "not sealed yet" without an error, and SealRecords (which
// opening the installation is to run) seals the edits over.
func TestAttackDowngradeToFirstFormatHead(t *testing.T) {
	ctx := context.Background()
	db, k, v1, seq := sealedFixtureFromOldFormat(t)
	attackExec(t, db, `UPDATE cases SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL WHERE number = 1`)
	attackExec(t, db, `DELETE FROM guild_moderator_roles`)
	attackExec(t, db, `DELETE FROM audit_log WHERE seq > ?`, seq)
	attackExec(t, db, `UPDATE meta SET value = ? WHERE key = 'audit_head'`, v1)
	rep, err := VerifyDatabase(ctx, db, k)
	if err == nil {
		n, serr := SealRecords(ctx, db, k, "bot")
		t.Fatalf("VerifyDatabase: %+v, nil error; want the edited records (which carry seals under a head "+
			"that has none) refused. SealRecords then sealed %d rows (%v), edits included", rep, n, serr)
	}
}

// Dropping the row_mac column of cases makes verification skip every
// record ("unsealed", no error), although the head carries record sums.
func TestAttackDropRowMacColumn(t *testing.T) {
	db, k := recordsFixture(t)
	attackExec(t, db, `ALTER TABLE cases DROP COLUMN row_mac`)
	attackExec(t, db, `UPDATE cases SET points = 99 WHERE number = 1`)
	wantAltered(t, db, k)
}

// A reference is sealed as the referenced case's number only, not its
// guild: re-pointing it at the case with the same number in another guild
// keeps the seal.
func TestAttackCrossGuildReference(t *testing.T) {
	setup := func(t *testing.T) (*DB, Cipher) {
		db, k := recordsFixture(t)
		cs := NewCases(db, k)
		for i := 1; i <= 10; i++ {
			n := warning(bob, "other guild")
			n.GuildID = otherGuild
			mustCreateCase(t, cs, n)
		}
		mustVerifyDatabase(t, db, k)
		return db, k
	}
	t.Run("LinkedCase", func(t *testing.T) {
		db, k := setup(t)
		attackExec(t, db, `UPDATE cases SET linked_case_id = (SELECT id FROM cases WHERE guild_id = ? AND number = 8)
			WHERE guild_id = ? AND number = 9`, otherGuild, testGuild)
		wantAltered(t, db, k)
	})
	t.Run("ScheduledCase", func(t *testing.T) {
		db, k := setup(t)
		attackExec(t, db, `UPDATE scheduled_actions SET case_id = (SELECT id FROM cases WHERE guild_id = ? AND number = 3)`,
			otherGuild)
		wantAltered(t, db, k)
	})
}

// A NULL reference and one to no row encode alike (LEFT JOIN gives NULL):
// a link planted to the next case id to be handed out verifies, and comes
// to life when the bot creates that case, which verification then blames
// on the old case.
func TestAttackDanglingReference(t *testing.T) {
	ctx := context.Background()
	db, k := recordsFixture(t)
	attackExec(t, db, `PRAGMA foreign_keys = OFF`)
	attackExec(t, db, `UPDATE cases SET linked_case_id = (SELECT max(id) + 1 FROM cases) WHERE number = 2`)
	attackExec(t, db, `PRAGMA foreign_keys = ON`)
	_, before := VerifyDatabase(ctx, db, k)
	mustCreateCase(t, NewCases(db, k), warning(bob, "new"))
	_, after := VerifyDatabase(ctx, db, k)
	if before == nil {
		t.Fatalf("a dangling link planted in case #2 verified; after the next case it reads: %v", after)
	}
}

// Hostile types: the tables rebuilt without STRICT or constraints and
// filled with values of the wrong type and NULLs. VerifyDatabase must
// return an error, not panic.
func TestAttackHostileTypesNoPanic(t *testing.T) {
	edits := map[string][]string{
		"cases": {`UPDATE cases SET number = 'x', guild_id = 5, row_mac = 'text' WHERE number = 1`,
			`UPDATE cases SET number = NULL, guild_id = NULL, linked_case_id = 'zz' WHERE number = 2`,
			`UPDATE cases SET number = 1.5, points = X'00', id = 'abc' WHERE number = 3`},
		"case_history":          {`UPDATE case_history SET case_id = 'q', revision = NULL, row_mac = 7`},
		"scheduled_actions":     {`UPDATE scheduled_actions SET id = 'abc', guild_id = NULL, case_id = X'01', row_mac = 1.25`},
		"erased_cases":          {`UPDATE erased_cases SET number = 'n', guild_id = 3 WHERE number = 4`, `UPDATE erased_cases SET number = NULL`},
		"guild_moderator_roles": {`UPDATE guild_moderator_roles SET guild_id = NULL, role_id = 4.5, row_mac = ''`},
		"guild_settings":        {`UPDATE guild_settings SET guild_id = NULL, dm_enabled = 'yes', row_mac = NULL`},
		"escalation_rules":      {`UPDATE escalation_rules SET points = 'many', guild_id = X'ff'`},
		"case_counters":         {`UPDATE case_counters SET last_number = 'n', guild_id = NULL`},
	}
	for table, qs := range edits {
		t.Run(table, func(t *testing.T) {
			db, k := recordsFixture(t)
			attackExec(t, db, `PRAGMA foreign_keys = OFF`)
			attackExec(t, db, `CREATE TABLE x AS SELECT * FROM `+table)
			attackExec(t, db, `DROP TABLE `+table)
			attackExec(t, db, `ALTER TABLE x RENAME TO `+table)
			for _, q := range qs {
				attackExec(t, db, q)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("VerifyDatabase panicked: %v", r)
					}
				}()
				_, err := VerifyDatabase(context.Background(), db, k)
				if err == nil {
					t.Fatalf("VerifyDatabase of hostile %s: nil error", table)
				}
			}()
		})
	}
}
