package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// newAuditLog returns an audit log holding n entries (seq 1..n).
func newAuditLog(t *testing.T, n int) (*DB, *Audit) {
	t.Helper()
	db := newTestDB(t)
	a := NewAudit(db, newTestKeys(t))
	for i := range n {
		if _, err := a.Append(context.Background(), AuditEntry{
			At: t0.Add(time.Duration(i) * time.Second), GuildID: testGuild, ActorID: alice,
			Action: "case.create", Details: fmt.Sprintf("case %d", i+1),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return db, a
}

// exec runs raw SQL, as someone editing the file would.
func exec(t *testing.T, db *DB, query string, args ...any) {
	t.Helper()
	if _, err := db.write.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestAuditAppendList(t *testing.T) {
	_, a := newAuditLog(t, 3)
	got, err := a.List(context.Background(), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := AuditEntry{Seq: 2, At: t0.Add(time.Second), GuildID: testGuild, ActorID: alice, Action: "case.create", Details: "case 2"}
	if len(got) != 2 || got[0] != want {
		t.Errorf("got=%+v, want 2 entries starting with %+v", got, want)
	}
	if _, err := a.Append(context.Background(), AuditEntry{At: t0}); !errors.Is(err, ErrInvalid) {
		t.Errorf("entry without actor: got=%v, want ErrInvalid", err)
	}
}

func TestAuditVerify(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		_, a := newAuditLog(t, 5)
		if n, err := a.Verify(context.Background()); err != nil || n != 5 {
			t.Errorf("got=%d, %v; want 5, nil", n, err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		_, a := newAuditLog(t, 0)
		if n, err := a.Verify(context.Background()); err != nil || n != 0 {
			t.Errorf("got=%d, %v; want 0, nil", n, err)
		}
	})
	swap := `UPDATE audit_log SET at = o.at, guild_id = o.guild_id, actor = o.actor, action = o.action,
		details = o.details, hash = o.hash FROM (SELECT * FROM audit_log) o
		WHERE (audit_log.seq, o.seq) IN ((2, 3), (3, 2))`
	for _, tt := range []struct {
		name    string
		tamper  string
		wantSeq int64
		wantN   int
	}{
		{"EditedPlainField", `UPDATE audit_log SET action = 'settings.update' WHERE seq = 3`, 3, 2},
		{"EditedTime", `UPDATE audit_log SET at = at + 1 WHERE seq = 4`, 4, 3},
		{"EditedHash", `UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 2`, 2, 1},
		{"MovedCiphertext", `UPDATE audit_log SET details = (SELECT details FROM audit_log WHERE seq = 1) WHERE seq = 2`, 2, 1},
		{"Deleted", `DELETE FROM audit_log WHERE seq = 2`, 2, 1},
		{"DeletedLast", `DELETE FROM audit_log WHERE seq = 5`, 5, 4},
		{"Swapped", swap, 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, a := newAuditLog(t, 5)
			exec(t, db, tt.tamper)
			n, err := a.Verify(context.Background())
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("got=%v, want a *ChainError", err)
			}
			if ce.Seq != tt.wantSeq || n != tt.wantN {
				t.Errorf("got seq %d after %d good entries (%v), want seq %d after %d", ce.Seq, n, err, tt.wantSeq, tt.wantN)
			}
		})
	}
}
