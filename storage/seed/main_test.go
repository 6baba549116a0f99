package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSeed seeds a small data set, which the tool verifies itself, and
// checks the manifest.
func TestSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var out bytes.Buffer
	args := []string{"-db", filepath.Join(dir, "bot.db"), "-cases", "300", "-guilds", "3", "-members", "40", "-batch", "64"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "verified") {
		t.Errorf("output does not report the verification:\n%s", out.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.BenchMembers) != 3 || len(m.GuildIDs) != 3 || m.AuditEntries < 303 {
		t.Errorf("manifest got=%d bench members, %d guilds, %d audit entries; want 3, 3, at least 303",
			len(m.BenchMembers), len(m.GuildIDs), m.AuditEntries)
	}
	for _, p := range []string{"bot.db", "bare.db", "keys"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}

	t.Run("RefusesExisting", func(t *testing.T) {
		if err := run(context.Background(), args, &out); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("seed over existing data got=%v, want a refusal", err)
		}
	})
}

// TestPlanDeterministic checks that one seed gives one data set.
func TestPlanDeterministic(t *testing.T) {
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := func() []seeded {
		p, err := newPlan(7, 500, 4, 60, end)
		if err != nil {
			t.Fatal(err)
		}
		var out []seeded
		for g := p.generator(); ; {
			s, ok := g.next()
			if !ok {
				return out
			}
			out = append(out, s)
		}
	}
	a, b := cases(), cases()
	if len(a) != 500 || !reflect.DeepEqual(a, b) {
		t.Errorf("two plans of one seed differ (or hold %d cases, want 500)", len(a))
	}
}
