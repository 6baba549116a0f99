package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/discordtest"
)

// Gateway opcodes as discordtest records them.
const (
	opIdentify = 2
	opResume   = 6
)

func sentOps(srv *discordtest.Server, op int) int {
	n := 0
	for _, m := range srv.GatewayMessages() {
		if m.Inbound && m.Op == op {
			n++
		}
	}
	return n
}

// timeToReady runs `bot run` in dir until it logs that it is ready, and
// returns how long that took; the bot is stopped cleanly before it returns.
func timeToReady(tb testing.TB, dir string, environ []string) time.Duration {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningBot{cancel: cancel, done: make(chan int, 1)}
	start := time.Now()
	go func() {
		r.done <- run(ctx, []string{"run"}, testEnv(dir, environ, &bytes.Buffer{}, r))
	}()
	for !strings.Contains(r.log(), "bot is ready") {
		select {
		case code := <-r.done:
			tb.Fatalf("bot run exited with %d during start-up:\n%s", code, r.log())
		default:
		}
		if time.Since(start) > 20*time.Second {
			cancel()
			tb.Fatalf("bot run not ready within 20s:\n%s", r.log())
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	if code := <-r.done; code != exitOK {
		tb.Fatalf("bot run exit code got=%d, want 0:\n%s", code, r.log())
	}
	return took
}

// TestRestartResumesSession: `bot run` saves the gateway session at a
// clean stop (mode 0600, without the token), the next `bot run` resumes it
// instead of identifying, and a clean stop leaves no crash loop behind.
func TestRestartResumesSession(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	dir := initDir(t)
	environ := fakeEnv(srv, g)

	first := timeToReady(t, dir, environ)
	path := filepath.Join(dir, "data", datadir.SessionFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no saved session after a clean stop: %v", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode got=%v, want 0600", path, st.Mode().Perm())
	}
	if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(srv.Token())) {
		t.Error("the saved session holds the token")
	}

	second := timeToReady(t, dir, environ)
	if n := sentOps(srv, opIdentify); n != 1 {
		t.Errorf("IDENTIFYs got=%d, want 1: the restart should resume", n)
	}
	if n := sentOps(srv, opResume); n != 1 {
		t.Errorf("RESUMEs got=%d, want 1", n)
	}
	t.Logf("bot run to ready: %s identifying, %s resuming", first, second)

	cfg := &config.Config{}
	cfg.Storage.DataDir = filepath.Join(dir, "data")
	starts, err := datadir.LoadStarts(cfg)
	if err != nil || len(starts.Unclean) != 0 {
		t.Errorf("starts after clean stops got=%+v %v, want none unclean", starts, err)
	}
}

// TestGatewayCheck: 'bot health' fails while the bot waits to connect,
// warns on repeated unclean starts, and is ok otherwise.
func TestGatewayCheck(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		starts datadir.GatewayStarts
		want   string
	}{
		{"OK", datadir.GatewayStarts{Unclean: []time.Time{now.Add(-time.Minute)}}, "ok"},
		{"CrashLoop", datadir.GatewayStarts{Unclean: []time.Time{now.Add(-3 * time.Minute), now.Add(-time.Minute)}}, "warn"},
		{"OldCrashes", datadir.GatewayStarts{Unclean: []time.Time{now.Add(-time.Hour), now.Add(-time.Minute)}}, "ok"},
		{"Waiting", datadir.GatewayStarts{WaitUntil: now.Add(time.Hour), WaitReason: "Discord's limit of gateway session starts is used up"}, "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{}
			cfg.Storage.DataDir = t.TempDir()
			if err := datadir.SaveStarts(cfg, tt.starts); err != nil {
				t.Fatal(err)
			}
			c := gatewayCheck(cfg, now)
			if c.Status != tt.want {
				t.Errorf("got=%+v, want status %s", c, tt.want)
			}
			if tt.want == "fail" && !strings.Contains(c.Detail, tt.starts.WaitReason) {
				t.Errorf("detail %q does not say why the bot waits", c.Detail)
			}
		})
	}
}

// BenchmarkRunToReady measures the time from `bot run` to "bot is ready"
// against discordtest, identifying (no saved session) and resuming.
func BenchmarkRunToReady(b *testing.B) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	srv.SetSessionStartLimit(1000, time.Hour, 16)
	dir := b.TempDir()
	if code := run(context.Background(), []string{"init"}, testEnv(dir, nil, &bytes.Buffer{}, &bytes.Buffer{})); code != exitOK {
		b.Fatalf("bot init: exit %d", code)
	}
	environ := fakeEnv(srv, g)
	environ[len(environ)-1] = "BOT_LOG_LEVEL=info"
	timeToReady(b, dir, environ) // registers the commands once
	session := filepath.Join(dir, "data", datadir.SessionFile)
	for _, mode := range []string{"identify", "resume"} {
		b.Run(mode, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				if mode == "identify" {
					b.StopTimer()
					os.Remove(session)
					b.StartTimer()
				}
				total += timeToReady(b, dir, environ)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ready")
		})
	}
}
