package bot

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/modbot/bot/storage"
)

// TestDiskFullReply: a command that could not be saved for a full disk
// says so, and that nothing was recorded, instead of a bare error ID.
func TestDiskFullReply(t *testing.T) {
	h := &handlers{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	got := h.failureText(nil, log, fmt.Errorf("create case: %w", storage.ErrDiskFull))
	for _, want := range []string{"disk is full", "nothing was recorded", "error ID"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply %q does not say %q", got, want)
		}
	}
	if other := h.failureText(nil, log, fmt.Errorf("something else")); strings.Contains(other, "disk") {
		t.Errorf("another failure is blamed on the disk: %q", other)
	}
}
