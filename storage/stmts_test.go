package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPreparedStatements checks the writer's statement cache through the
// states a database goes through: a write before the schema exists (the
// cache stays empty and the statements run uncached), after migration (the
// cache fills and is used), and after a later schema change (SQLite
// recompiles the cached statements).
func TestPreparedStatements(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, filepath.Join(t.TempDir(), "bot.db"))
	cs := NewCases(db, newTestKeys(t))

	if _, err := cs.Create(ctx, warning(alice, "no tables yet")); err == nil {
		t.Fatal("Create before Migrate succeeded")
	}
	if db.stmts.get(sqlInsertCase) != nil {
		t.Fatal("statements were cached although they cannot compile before the migration")
	}

	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreateCase(t, cs, warning(alice, "first"))
	for _, q := range hotWrites {
		if db.stmts.get(q) == nil {
			t.Fatalf("not prepared after a write on the migrated database: %.40q", q)
		}
	}

	// A schema change invalidates every compiled statement of the file.
	if _, err := db.write.ExecContext(ctx, `CREATE INDEX test_extra ON cases (created_at)`); err != nil {
		t.Fatal(err)
	}
	c, before, err := cs.CreateWithPoints(ctx, warning(alice, "after the schema change"))
	if err != nil || c.Number != 2 || before != 1 {
		t.Fatalf("after a schema change: case #%d, before=%d, %v; want #2, before=1", c.Number, before, err)
	}
	got, err := cs.ListForUser(ctx, testGuild, alice, true, t0)
	if err != nil || len(got) != 2 || got[1].Reason != "after the schema change" {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

// TestActivePointsUsesCoveringIndex guards migration 2: the sum every /warn
// runs reads only cases_by_target, never the table.
func TestActivePointsUsesCoveringIndex(t *testing.T) {
	db := newTestDB(t)
	rows, err := db.read.Query(`EXPLAIN QUERY PLAN `+sqlActivePoints, testGuild, []byte("x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "USING COVERING INDEX cases_by_target") {
		t.Errorf("query plan %q does not use the covering index cases_by_target", joined)
	}
}

// TestPrepareDoesNotBlockTransaction: while the cache is empty (here: no
// tables yet, so preparing fails every time), a transaction that holds the
// writer's only connection must still run its statements while another
// goroutine waits in prepare for that connection.
func TestPrepareDoesNotBlockTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, filepath.Join(t.TempDir(), "bot.db"))
	tx, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	second := make(chan error, 1)
	go func() {
		close(waiting)
		tx2, err := db.beginWrite(ctx) // prepares, waiting for the connection
		if err == nil {
			tx2.Rollback()
		}
		second <- err
	}()
	<-waiting
	time.Sleep(100 * time.Millisecond) // let it reach PrepareContext
	done := make(chan error, 1)
	go func() {
		_, err := tx.ExecContext(ctx, sqlPutMeta, "k", []byte("v"))
		done <- err
	}()
	select {
	case <-done: // an error is expected (no tables); not returning is the bug
	case <-time.After(10 * time.Second):
		t.Fatal("a statement in the open transaction waited for the statement cache: deadlock")
	}
	tx.Rollback()
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("the second transaction: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second transaction never began")
	}
}
