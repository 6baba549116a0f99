package bot

import (
	"context"
	"time"
)

// withoutDeadline returns a context that is cancelled with ctx but has no
// deadline.
//
// disgo v0.18.15's rate limiter returns early, without unlocking the route's
// bucket, when a context's deadline falls before the bucket's reset; the route
// then stays locked for the life of the process. Cancellation alone is handled
// correctly, so every REST call gets a context from here: callers that need a
// time limit cancel it instead of setting a deadline.
func withoutDeadline(ctx context.Context) context.Context {
	return noDeadline{ctx}
}

// noDeadline hides its parent's deadline but keeps its cancellation and values.
type noDeadline struct{ context.Context }

// Deadline reports no deadline, whatever the parent's.
func (noDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }
