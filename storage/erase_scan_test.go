package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// memberBytes reads, straight from the tables, every value longer than a
// few bytes in the rows of cases, reason history and scheduled actions
// about the member of blind indexes idx: ciphertexts, row seals, nonces;
// blind indexes aside.
func memberBytes(t *testing.T, db *DB, idx [][]byte) map[string][]byte {
	t.Helper()
	target, args := indexIn(`target_index`, idx)
	out := map[string][]byte{}
	for _, q := range []struct{ table, sql string }{
		{"cases", `SELECT * FROM cases WHERE ` + target},
		{"case_history", `SELECT * FROM case_history WHERE case_id IN (SELECT id FROM cases WHERE ` + target + `)`},
		{"scheduled_actions", `SELECT * FROM scheduled_actions WHERE ` + target},
	} {
		rows, err := db.read.Query(q.sql, append([]any(nil), args...)...)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				// Blind indexes are checked apart: the member's by page
				// below, a moderator's belongs to the moderator's cases too.
				if b, ok := v.([]byte); ok && len(b) >= 12 && !strings.HasSuffix(cols[i], "_index") {
					out[fmt.Sprintf("%s row %d %s", q.table, n, cols[i])] = bytes.Clone(b)
				}
			}
			n++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("no %s rows about the member: the scan would prove nothing", q.table)
		}
	}
	return out
}

// TestEraseLeavesNoBytes plants a member's records (reasons, names, a note,
// an edited reason, a timed unban that has run) beside another member's,
// erases the first, checkpoints, and scans the database file and its WAL
// byte for byte: none of the erased member's ciphertexts, seals or blind
// index may remain, in live, free or index pages, while the other
// member's bytes are all still found, so the scan is shown to see them.
// member_erasures keeps only a keyed mark of the member's blind index, so
// the index itself must not be found either.
func TestEraseLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openTestDB(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k := newTestKeys(t)
	cs, sched := NewCases(db, k), NewSchedule(db, k)
	const member, other = "412345678901234501", "412345678901234502"
	for i, n := range []NewCase{
		{Kind: CaseWarning, TargetID: member, TargetName: "canary-member-name", Reason: "canary-member-warning", Points: 1},
		{Kind: CaseNote, TargetID: member, TargetName: "canary-member-name", Reason: "canary-member-note"},
		{Kind: CaseBan, TargetID: member, TargetName: "canary-member-name", Reason: "canary-member-ban", Duration: time.Hour, ExpiresAt: t0.Add(time.Hour)},
		{Kind: CaseWarning, TargetID: other, TargetName: "canary-other-name", Reason: "canary-other-warning", Points: 1},
	} {
		n.GuildID, n.ModeratorID, n.ModeratorName, n.CreatedAt = testGuild, "412345678901234599", "canary-mod", t0.Add(time.Duration(i-100)*time.Second)
		mustCreateCase(t, cs, n)
	}
	if _, err := cs.UpdateReason(ctx, testGuild, 1, "412345678901234599", "canary-member-edited", t0); err != nil {
		t.Fatal(err)
	}
	unban, err := sched.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: member, DueAt: t0, CaseNumber: 3}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sched.ClaimDue(ctx, t0, 5); err != nil {
		t.Fatal(err)
	}
	if err := sched.Complete(ctx, unban.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := sched.Add(ctx, NewScheduledAction{GuildID: testGuild, Kind: ActionUnban, TargetID: other, DueAt: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.UpdateReason(ctx, testGuild, 4, "412345678901234599", "canary-other-edited", t0); err != nil {
		t.Fatal(err)
	}

	memberIdx, otherIdx := userIndexes(k, member), userIndexes(k, other)
	gone, kept := memberBytes(t, db, memberIdx), memberBytes(t, db, otherIdx)
	for i, ix := range otherIdx {
		kept[fmt.Sprintf("the other member's blind index %d", i)] = ix
	}

	if _, err := cs.EraseMember(ctx, testGuild, member, "cli", t0, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDatabase(ctx, db, k); err != nil {
		t.Fatalf("VerifyDatabase: %v", err)
	}

	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wal, err := os.ReadFile(path + "-wal")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	both := append(bytes.Clone(file), wal...)
	for label, b := range gone {
		if bytes.Contains(both, b) {
			t.Errorf("after the erasure the database still holds the member's %s", label)
		}
	}
	for label, b := range kept {
		if !bytes.Contains(both, b) {
			t.Errorf("the other member's %s is not found: the scan does not see what it looks for", label)
		}
	}
	if len(wal) != 0 {
		t.Errorf("the WAL holds %d bytes after a truncating checkpoint", len(wal))
	}

	var pageSize int
	if err := db.read.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	for i, ix := range memberIdx {
		if at := bytes.Index(file, ix); at >= 0 {
			var name string
			err := db.read.QueryRow(`SELECT name FROM dbstat WHERE pageno = ?`, at/pageSize+1).Scan(&name)
			t.Errorf("the member's blind index %d is still in the database file, on page %d (%s, %v)", i, at/pageSize+1, name, err)
		}
	}
}
