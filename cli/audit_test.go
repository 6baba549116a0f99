package cli

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditVerify(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	addCase(t, dir)
	code, out, errOut := runCLI(t, dir, nil, "audit", "verify")
	if code != exitOK || !strings.Contains(out, "ok: 2 audit entries") {
		t.Fatalf("intact log: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Edit the first entry behind the bot's back.
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_log SET action = 'case.delete' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, _ = runCLI(t, dir, nil, "audit", "verify")
	if code != exitFailure || !strings.Contains(out, "FAILED: audit entry 1") {
		t.Errorf("edited log: exit %d, stdout %q; want exit 1 naming entry 1", code, out)
	}
	code, out, _ = runCLI(t, dir, nil, "audit", "verify", "--json")
	if code != exitFailure || !strings.Contains(out, `"first_bad_entry": 1`) {
		t.Errorf("edited log, JSON: exit %d, stdout %q", code, out)
	}
}

// editDB runs SQL on the installation's database as an SQLite shell would,
// with the bot stopped.
func editDB(t *testing.T, path string, queries ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAuditVerifyRecords: an edit of a case with the bot stopped leaves the
// chain intact; 'bot audit verify' names the case and exits 1, and 'bot
// health' shows the failed verification.
func TestAuditVerifyRecords(t *testing.T) {
	dir := initDir(t)
	for range 3 {
		addCase(t, dir)
	}
	code, out, errOut := runCLI(t, dir, nil, "audit", "verify")
	if code != exitOK || !strings.Contains(out, "3 records match their seals") {
		t.Fatalf("intact: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, out, _ = runCLI(t, dir, nil, "health", "--offline")
	if !strings.Contains(out, "chain of 3 entries and 3 records intact") {
		t.Errorf("health after a good verification:\n%s", out)
	}

	editDB(t, filepath.Join(dir, "data", "bot.db"), `UPDATE cases SET kind = 'note' WHERE number = 2`)
	code, out, _ = runCLI(t, dir, nil, "audit", "verify")
	if code != exitFailure || !strings.Contains(out, "FAILED: case #2 in guild 200000000000000001: kind changed since it was written (written as warning, now note)") {
		t.Errorf("edited case: exit %d, stdout %q; want exit 1 naming case #2", code, out)
	}
	code, out, _ = runCLI(t, dir, nil, "audit", "verify", "--json")
	if code != exitFailure || !strings.Contains(out, `"first_bad_record": "case #2 in guild 200000000000000001"`) {
		t.Errorf("edited case, JSON: exit %d, stdout %q", code, out)
	}
	code, out, _ = runCLI(t, dir, nil, "health", "--offline")
	if code == exitOK || !strings.Contains(out, "FAILED: case #2") {
		t.Errorf("health after a failed verification: exit %d\n%s", code, out)
	}

	editDB(t, filepath.Join(dir, "data", "bot.db"), `UPDATE cases SET kind = 'warning' WHERE number = 2`,
		`DELETE FROM cases WHERE number = 1`)
	code, out, _ = runCLI(t, dir, nil, "audit", "verify")
	if code != exitFailure || !strings.Contains(out, "case #1 is missing from guild 200000000000000001") {
		t.Errorf("deleted case: exit %d, stdout %q", code, out)
	}
}

// TestRestoreRefusesEditedRecords: a plain copy of the database whose
// records were edited is refused by restore and its dry run, naming the
// record, and the live database is left as it was.
func TestRestoreRefusesEditedRecords(t *testing.T) {
	dir := initDir(t)
	for range 3 {
		addCase(t, dir)
	}
	live := filepath.Join(dir, "data", "bot.db")
	copyPath := filepath.Join(dir, "copy.db")
	if code, out, errOut := runCLI(t, dir, nil, "backup", "--verify", "full", copyPath); code != exitOK ||
		!strings.Contains(out, "all 3 records match their seals") {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
	}
	// A backup file edited afterwards fails its own seal first; a plain
	// copy has none, so the records are what is left to catch the edit.
	plain := filepath.Join(dir, "plain.db")
	editDB(t, live, `VACUUM INTO '`+plain+`'`)
	editDB(t, plain, `UPDATE cases SET points = 50 WHERE number = 3`)
	before, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"restore", "--dry-run", plain}, {"restore", plain}} {
		code, out, errOut := runCLI(t, dir, nil, args...)
		if code != exitFailure || !strings.Contains(errOut, "case #3 in guild 200000000000000001: points changed since it was written (written as 1, now 50)") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
	after, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the live database changed")
	}
	// The genuine backup restores, and says what it proved.
	code, out, errOut := runCLI(t, dir, nil, "restore", copyPath)
	if code != exitOK || !strings.Contains(out, "all 3 records match their seals") {
		t.Errorf("restore of the good backup: exit %d\n%s\n%s", code, out, errOut)
	}
}
