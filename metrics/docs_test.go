package metrics_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/modbot/bot/metrics"
)

// metricName finds the metric names in a PromQL expression: the bot's own
// and the Go and process collectors'.
var metricName = regexp.MustCompile(`\b(?:bot|go|process)_[a-z0-9_]+\b`)

// registered returns the names the registry serves, with the series
// names of its histograms (_bucket, _sum, _count).
func registered(t *testing.T) map[string]bool {
	t.Helper()
	db := filepath.Join(t.TempDir(), "bot.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Sources{
		DBPath:           db,
		ScheduledPending: func(context.Context) (int, error) { return 0, nil },
		LastBackup:       func() (time.Time, time.Duration, error) { return time.Time{}, 0, nil },
	})
	fill(m)
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	return names
}

func TestAlertRulesNameRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/prometheus-alerts.yml does not parse: %v", err)
	}
	var exprs []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s: a rule without alert or expr: %+v", g.Name, r)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	checkNames(t, "docs/prometheus-alerts.yml", exprs)
}

func TestDashboardNamesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/grafana-dashboard.json does not parse: %v", err)
	}
	var exprs []string
	for _, p := range doc.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	checkNames(t, "docs/grafana-dashboard.json", exprs)
}

// checkNames fails for each metric an expression names that the registry
// does not serve, and when the expressions name none of the bot's.
func checkNames(t *testing.T, file string, exprs []string) {
	t.Helper()
	have := registered(t)
	ours := 0
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			if strings.HasPrefix(n, "bot_") {
				ours++
			}
			if !have[n] {
				t.Errorf("%s names %s, which the registry does not serve (in %q)", file, n, e)
			}
		}
	}
	if ours == 0 {
		t.Errorf("%s names none of the bot's metrics", file)
	}
}
