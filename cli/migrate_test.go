package cli

import (
	"strings"
	"testing"
)

func TestMigrateStatus(t *testing.T) {
	dir := initDir(t)
	code, out, errOut := runCLI(t, dir, nil, "migrate", "status")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "00001_initial.sql") || !strings.Contains(out, "applied") || !strings.Contains(out, "up to date") {
		t.Errorf("output got=%q, want each migration listed as applied", out)
	}
}
