package status

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// interactions registers the counter the bot exports in a fresh registry.
func interactions(t *testing.T) (*prometheus.Registry, *prometheus.CounterVec) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: InteractionsMetric, Help: "interactions"}, []string{"command", "outcome"})
	reg.MustRegister(c)
	return reg, c
}

func TestSamplerLastHour(t *testing.T) {
	reg, c := interactions(t)
	s := NewSampler(reg)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

	c.WithLabelValues("warn", "ok").Add(5)
	got, since, err := s.LastHour(t0)
	if err != nil {
		t.Fatal(err)
	}
	if got["ok"] != 5 || !since.IsZero() {
		t.Errorf("before any sample got=%v since %v, want ok=5 since the start", got, since)
	}

	sampleTo := func(from, to int) {
		for m := from; m <= to; m++ {
			if m == 30 {
				c.WithLabelValues("warn", "ok").Add(2)
				c.WithLabelValues("ban", "ok").Add(1)
				c.WithLabelValues("ban", "refused").Add(4)
			}
			if m == 80 {
				c.WithLabelValues("kick", "error").Add(1)
			}
			if err := s.Sample(t0.Add(time.Duration(m) * time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	sampleTo(0, 85)
	got, since, _ = s.LastHour(t0.Add(85 * time.Minute))
	if got["ok"] != 3 || got["refused"] != 4 || got["error"] != 1 || !since.Equal(t0.Add(25*time.Minute)) {
		t.Errorf("at minute 85 got=%v since %v, want ok=3 refused=4 error=1 since minute 25", got, since)
	}
	sampleTo(86, 90)
	got, since, err = s.LastHour(t0.Add(90 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Minute 30 lies at the edge of the hour before minute 90: its sample
	// already holds those commands, so only minute 80's error counts.
	if got["ok"] != 0 || got["refused"] != 0 || got["error"] != 1 || !since.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("at minute 90 got=%v since %v, want error=1 since minute 30", got, since)
	}
	if n := len(s.samples); n != 61 {
		t.Errorf("samples kept got=%d, want an hour's worth (61)", n)
	}
}

func TestSamplerCounterReset(t *testing.T) {
	reg, c := interactions(t)
	s := NewSampler(reg)
	c.WithLabelValues("warn", "ok").Add(10)
	t0 := time.Now()
	if err := s.Sample(t0); err != nil {
		t.Fatal(err)
	}
	reg2, c2 := interactions(t)
	s.g = reg2
	c2.WithLabelValues("warn", "ok").Add(3)
	got, _, _ := s.LastHour(t0.Add(time.Minute))
	if got["ok"] != 3 {
		t.Errorf("after a reset got=%v, want ok=3", got)
	}
}
