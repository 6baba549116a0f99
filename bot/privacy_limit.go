package bot

import (
	"slices"
	"sync"
	"time"
)

// The limit on /privacy export: each export reads every record about the
// member and uploads a file, so a member repeating it should not load the
// bot. A few an hour is more than anyone needs.
const (
	exportsPerHour = 3
	exportWindow   = time.Hour
)

// exportLimiter counts each member's recent exports per guild, in memory:
// a restart forgets them, which costs at most a few extra exports.
type exportLimiter struct {
	mu     sync.Mutex
	recent map[string][]time.Time // guild/user -> times of exports in the window, oldest first
	swept  time.Time
}

func newExportLimiter() *exportLimiter {
	return &exportLimiter{recent: map[string][]time.Time{}}
}

// take counts an export by key at now, if the key has had fewer than
// exportsPerHour in the hour before. Otherwise it returns when the next
// one will be allowed.
func (l *exportLimiter) take(key string, now time.Time) (retryAt time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Keys of members who exported once are dropped after the window, so
	// the map holds only the last hour's exporters.
	if now.Sub(l.swept) >= time.Minute {
		for k, ts := range l.recent {
			if len(inWindow(ts, now)) == 0 {
				delete(l.recent, k)
			}
		}
		l.swept = now
	}
	ts := inWindow(l.recent[key], now)
	if len(ts) >= exportsPerHour {
		l.recent[key] = ts
		return ts[len(ts)-exportsPerHour].Add(exportWindow), false
	}
	l.recent[key] = append(ts, now)
	return time.Time{}, true
}

// giveBack uncounts the export taken at at: one that failed.
func (l *exportLimiter) giveBack(key string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent[key]
	if i := slices.Index(ts, at); i >= 0 {
		l.recent[key] = slices.Delete(ts, i, i+1)
	}
}

// inWindow drops the times older than the window before now.
func inWindow(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-exportWindow)) {
		i++
	}
	return ts[i:]
}
