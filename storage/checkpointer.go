package storage

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// defaultCheckpointInterval is how often the background checkpointer copies
// the WAL into the database file: often enough that the WAL stays small
// under a steady stream of commits, and each round has little to copy.
const defaultCheckpointInterval = 200 * time.Millisecond

// checkpointer copies committed pages from the WAL into the database file
// on a connection of its own, so that no command waits for it.
//
// SQLite's default is to checkpoint inside the commit that takes the WAL
// past 1,000 pages, in whichever command made that commit. After a long
// read transaction (a backup's snapshot, which keeps the WAL from being
// copied while it runs) that checkpoint is the whole backlog, and the
// command that happens to commit next waits for all of it. The
// connections this package opens for writing therefore set
// wal_autocheckpoint to 0, and this goroutine checkpoints instead.
// PASSIVE checkpoints never block writers or readers, and readers never
// block them: whatever a reader still needs is left for the next round.
type checkpointer struct {
	// mu is held during each checkpoint, so that truncateCheckpoint in
	// this process never finds the checkpoint lock taken.
	mu   sync.Mutex
	db   *sql.DB
	stop chan struct{}
	done sync.WaitGroup
	// truncate asks the next rounds for a TRUNCATE checkpoint, until one
	// completes: after an erasure, the WAL still holds the old versions
	// of the erased pages, and only emptying it removes them.
	truncate atomic.Bool
	closing  sync.Once
	err      error // of closing db
}

// startCheckpointer opens its connection to the database at path and
// starts checkpointing every interval (defaultCheckpointInterval if zero)
// until close.
func startCheckpointer(ctx context.Context, path string, interval time.Duration) (*checkpointer, error) {
	if interval <= 0 {
		interval = defaultCheckpointInterval
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// FULL syncs the database file before the WAL is reused, as the
	// writer's setting would if it checkpointed.
	q.Add("_pragma", "synchronous(FULL)")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run(interval)
	return c, nil
}

func (c *checkpointer) run(interval time.Duration) {
	defer c.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// An error (a full disk, an I/O error) leaves the frames in
			// the WAL, where they are safe, to be tried again next round;
			// the writer's own commits report such errors to the user.
			var busy, frames, copied int
			c.mu.Lock()
			if c.truncate.Load() {
				c.truncateRound()
			} else {
				_ = c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
			}
			c.mu.Unlock()
		}
	}
}

// truncateSoon asks for a TRUNCATE checkpoint at the next rounds, until one
// completes. Safe on nil (a database opened without a checkpointer).
func (c *checkpointer) truncateSoon() {
	if c != nil {
		c.truncate.Store(true)
	}
}

// truncateRound tries one TRUNCATE checkpoint. While it waits for readers
// it holds off new writers, so it waits briefly: a reader that stays (a
// backup's snapshot) makes it give up until the next round, and a command
// waits behind it for no longer than truncateWait.
func (c *checkpointer) truncateRound() {
	if _, err := c.db.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", truncateWait.Milliseconds())); err != nil {
		return
	}
	defer c.db.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	var busy, frames, copied int
	if err := c.db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err == nil && busy == 0 {
		c.truncate.Store(false)
	}
}

// truncateWait bounds how long a TRUNCATE round waits for readers.
const truncateWait = 20 * time.Millisecond

// close stops the goroutine and closes its connection. It is safe on nil
// and more than once, as DB.Close is.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.closing.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.err = c.db.Close()
	})
	return c.err
}
