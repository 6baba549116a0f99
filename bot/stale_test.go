package bot

import (
	"testing"
	"time"

	"github.com/disgoorg/snowflake/v2"
)

// TestTooOldToAnswer: an interaction replayed after a restart, minutes old,
// is not handled again; a fresh one is, even with the host clock a few
// seconds off.
func TestTooOldToAnswer(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		made time.Time
		want bool
	}{
		{now, false},
		{now.Add(-2 * time.Second), false},
		{now.Add(5 * time.Second), false}, // the host clock behind Discord's
		{now.Add(-10 * time.Second), false},
		{now.Add(-time.Minute), true},
		{now.Add(-3 * time.Minute), true},
	} {
		if got := tooOldToAnswer(snowflake.New(tc.made), now); got != tc.want {
			t.Errorf("made %v before now: got %v, want %v", now.Sub(tc.made), got, tc.want)
		}
	}
}
