package status

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// InteractionsMetric is the counter of interactions served, labelled by
// command and outcome (ok, refused, error), that the page reads.
const InteractionsMetric = "bot_interactions_total"

// window is how far back "commands in the last hour" looks.
const window = time.Hour

// Sampler counts the commands served in the last hour by outcome. A
// Prometheus counter only ever grows, so the sampler keeps its value once a
// minute for an hour and subtracts the oldest kept from the current one.
// It is safe for concurrent use.
type Sampler struct {
	g       prometheus.Gatherer
	mu      sync.Mutex
	samples []sample // oldest first, none older than window
}

// sample is the counter's total per outcome at one time.
type sample struct {
	at time.Time
	n  map[string]float64
}

// NewSampler returns a Sampler that reads InteractionsMetric from g.
func NewSampler(g prometheus.Gatherer) *Sampler {
	return &Sampler{g: g}
}

// Run takes a sample at once and then every interval until ctx ends.
func (s *Sampler) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = s.Sample(time.Now()) // a failed gather leaves a gap, which the next sample bridges
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample records the counter's totals as of now and forgets samples older
// than an hour.
func (s *Sampler) Sample(now time.Time) error {
	n, err := s.totals()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for i < len(s.samples) && s.samples[i].at.Before(now.Add(-window)) {
		i++
	}
	s.samples = append(s.samples[i:], sample{at: now, n: n})
	return nil
}

// LastHour returns the commands served per outcome between the oldest
// sample of the last hour and now, and the time that count starts from.
// Before the first sample, it counts from the start of the process and
// since is zero. A counter that went back (a reset) counts from zero.
func (s *Sampler) LastHour(now time.Time) (counts map[string]float64, since time.Time, err error) {
	cur, err := s.totals()
	if err != nil {
		return nil, time.Time{}, err
	}
	var base sample
	s.mu.Lock()
	for _, sm := range s.samples {
		if !sm.at.Before(now.Add(-window)) {
			base = sm
			break
		}
	}
	s.mu.Unlock()
	counts = make(map[string]float64, len(cur))
	for outcome, v := range cur {
		if d := v - base.n[outcome]; d >= 0 {
			counts[outcome] = d
		} else {
			counts[outcome] = v
		}
	}
	return counts, base.at, nil
}

// totals sums InteractionsMetric over commands, per outcome.
func (s *Sampler) totals() (map[string]float64, error) {
	families, err := s.g.Gather()
	if err != nil {
		return nil, err
	}
	n := map[string]float64{}
	for _, f := range families {
		if f.GetName() != InteractionsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			outcome := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					outcome = l.GetValue()
				}
			}
			n[outcome] += m.GetCounter().GetValue()
		}
	}
	return n, nil
}
