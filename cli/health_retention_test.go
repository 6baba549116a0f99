package cli

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

// TestHealthRetention: bot health names each server whose records are due
// for deletion, with the date, and says when none is.
func TestHealthRetention(t *testing.T) {
	dir := initDir(t)
	env := []string{"BOT_HTTP_LISTEN=", "BOT_RETENTION_CASES=2y"}
	_, checks, _ := healthReport(t, dir, env, "--offline")
	if got := checks["retention"]; got.Status != "ok" || !strings.Contains(got.Detail, "cases deleted 730 days after they stop counting") ||
		!strings.Contains(got.Detail, "no pending deletions") {
		t.Errorf("retention before any departure: %+v", got)
	}

	e := testEnv(dir, env, io.Discard, os.Stderr)
	cfg, err := e.loadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := datadir.Open(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	left := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	err = storage.NewRetention(in.DB, in.Keys).RecordDeparture(context.Background(), "200000000000000001", left, left.Add(30*24*time.Hour))
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, checks, healthy := healthReport(t, dir, env, "--offline")
	if got := checks["retention"]; got.Status != "ok" || !healthy ||
		!strings.Contains(got.Detail, "pending deletions (add the bot back to cancel one): server 200000000000000001 on 2030-02-01") {
		t.Errorf("retention with a departure: %+v (healthy %v)", got, healthy)
	}
}
