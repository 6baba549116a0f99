package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// TestBackupDuringWarnsIsAPrefix: a backup taken while a moderator issues a
// steady stream of /warns holds exactly the first k of them, for some k at
// least the number acknowledged before the backup began: no gap, no torn
// write, nothing from after the snapshot.
func TestBackupDuringWarnsIsAPrefix(t *testing.T) {
	h := newHarness(t)
	var (
		mu    sync.Mutex
		acked int
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			in := h.slash(h.mod, "warn", discordtest.Options{"user": h.member, "reason": fmt.Sprintf("stream-%d", i)})
			if !strings.Contains(in.Content, fmt.Sprintf("case #%d", i)) {
				t.Errorf("warn %d got=%q", i, in.Content)
				return
			}
			mu.Lock()
			acked = i
			mu.Unlock()
		}
	}()
	waitUntil(t, "some warnings were acknowledged", func() bool { mu.Lock(); defer mu.Unlock(); return acked >= 5 })
	mu.Lock()
	before := acked
	mu.Unlock()
	dest := filepath.Join(t.TempDir(), "snapshot.db")
	if err := h.db.Backup(context.Background(), dest, nil); err != nil {
		t.Fatalf("backup during the stream: %v", err)
	}
	// Let the stream go on past the snapshot before stopping it.
	time.Sleep(100 * time.Millisecond)
	close(stop)
	<-done

	snap, err := storage.Open(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	cases, err := storage.NewCases(snap, h.keys).ListForUser(context.Background(), h.guild.ID.String(), h.member.ID.String(), true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k := len(cases)
	if k < before {
		t.Fatalf("the backup holds %d warnings, fewer than the %d acknowledged before it began", k, before)
	}
	byNumber := map[int64]string{}
	for _, c := range cases {
		byNumber[c.Number] = c.Reason
	}
	for i := 1; i <= k; i++ {
		if got, want := byNumber[int64(i)], fmt.Sprintf("stream-%d", i); got != want {
			t.Fatalf("case #%d in the backup got=%q, want %q: not a prefix of the stream", i, got, want)
		}
	}
	mu.Lock()
	total := acked
	mu.Unlock()
	if total <= k {
		t.Logf("note: the stream stopped at %d, the backup holds %d", total, k)
	}
	t.Logf("%d warnings acknowledged before the backup, %d in it, %d in all", before, k, total)
}
