package cli

import (
	"database/sql"
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
