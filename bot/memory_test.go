package bot

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// memoryInteractions is how many interactions BenchmarkInteractionMemory
// fires, and memoryLimitMB the resident size the bot must be back under
// within a minute.
const (
	memoryInteractions = 30000
	memoryLimitMB      = 60
	// memoryGrowthMB bounds what the burst may leave above the idle size:
	// well under the limit, a bucket kept per interaction token still
	// shows here.
	memoryGrowthMB = 12
)

// BenchmarkInteractionMemory runs the built bot (BOT_BENCH_BIN) as a child
// process on a fresh data directory, fires a burst of /ping interactions
// at it through discordtest, and reports its VmRSS right after the burst
// (rss-after-MB), a minute later (rss-1min-MB) and its peak (hwm-MB). It
// fails when the resident size is not back under memoryLimitMB within the
// minute, or has grown by memoryGrowthMB or more: state kept per interaction (such as a rate-limit bucket per
// interaction token) would keep it up. `make test-memory` runs it; set
// BOT_MEMORY_TEST=1 to run it by hand.
func BenchmarkInteractionMemory(b *testing.B) {
	bin := os.Getenv("BOT_BENCH_BIN")
	if bin == "" || os.Getenv("BOT_MEMORY_TEST") == "" {
		b.Skip("set BOT_BENCH_BIN to the built bot and BOT_MEMORY_TEST=1 (make test-memory does)")
	}
	dir := b.TempDir()
	srv := discordtest.NewServer()
	b.Cleanup(srv.Close)
	g := srv.AddGuild(discordtest.GuildOptions{Name: "Memory Guild"})
	member := g.AddMember(discordtest.MemberOptions{Username: "member"})

	initCmd := exec.Command(bin, "init")
	initCmd.Dir = dir
	initCmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "BOT_STORAGE_DATA_DIR=" + dir}
	if out, err := initCmd.CombinedOutput(); err != nil {
		b.Fatalf("bot init: %v\n%s", err, out)
	}
	p := startBot(b, bin, dir, srv, g)
	idle := p.status(b)

	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for next.Add(1) <= memoryInteractions {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if _, err := srv.InvokeSlash(ctx, g, member, "ping", nil); err != nil {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	after := p.status(b)
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d interactions got no answer", n, memoryInteractions)
	}
	settled := after
	for deadline := time.Now().Add(time.Minute); (settled.rss >= memoryLimitMB || settled.rss-idle.rss >= memoryGrowthMB) && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		settled = p.status(b)
	}
	b.Logf("%d interactions in %v; VmRSS idle %.1f MB, after %.1f MB, settled %.1f MB, peak %.1f MB",
		memoryInteractions, took.Round(time.Second), idle.rss, after.rss, settled.rss, settled.hwm)
	if settled.rss >= memoryLimitMB {
		b.Errorf("VmRSS a minute after the burst got=%.1f MB, want below %d MB", settled.rss, memoryLimitMB)
	}
	if grew := settled.rss - idle.rss; grew >= memoryGrowthMB {
		b.Errorf("VmRSS a minute after the burst grew %.1f MB over idle, want below %d MB", grew, memoryGrowthMB)
	}
	for range b.N {
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(idle.rss, "rss-idle-MB")
	b.ReportMetric(after.rss, "rss-after-MB")
	b.ReportMetric(settled.rss, "rss-1min-MB")
	b.ReportMetric(settled.hwm, "hwm-MB")
}
