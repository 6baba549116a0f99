package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/modbot/bot/storage"
)

// modlogFlushAfter is how long a modlog post's record waits for others
// to share its commit.
const modlogFlushAfter = 250 * time.Millisecond

// modlogQueue gathers the records of modlog posts and writes them in one
// transaction a moment after the first: a commit per /warn for this
// bookkeeping would cost as much as the case itself. A crash within that
// moment loses the record, and with it only the deletion of that post
// when its member is erased; an erasure flushes the queue first.
type modlogQueue struct {
	store ModlogStore
	after time.Duration

	mu      sync.Mutex
	pending []storage.ModlogMessage
	logs    []*slog.Logger
	timer   *time.Timer
	// flushing serialises flushes, so records commit in the order posted.
	flushing sync.Mutex
}

func newModlogQueue(store ModlogStore, after time.Duration) *modlogQueue {
	return &modlogQueue{store: store, after: after}
}

// add queues m, and schedules a flush if none is.
func (q *modlogQueue) add(m storage.ModlogMessage, log *slog.Logger) {
	if q == nil || q.store == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, m)
	q.logs = append(q.logs, log)
	if q.timer == nil {
		q.timer = time.AfterFunc(q.after, func() { q.flush(context.Background()) })
	}
}

// flush records what is queued now.
func (q *modlogQueue) flush(ctx context.Context) {
	if q == nil || q.store == nil {
		return
	}
	q.flushing.Lock()
	defer q.flushing.Unlock()
	q.mu.Lock()
	batch, logs := q.pending, q.logs
	q.pending, q.logs = nil, nil
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	n, err := q.store.RecordBatch(ctx, batch)
	if err != nil {
		logs[0].Warn("could not record modlog messages; erasing their members' records will not delete them",
			slog.Int("messages", len(batch)), errAttr(err))
		return
	}
	if n < len(batch) {
		logs[0].Info("modlog messages not recorded: their cases were erased meanwhile", slog.Int("messages", len(batch)-n))
	}
}
