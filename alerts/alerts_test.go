package alerts

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
)

// clock is a settable time for a Monitor.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// facts are the sources' answers, set by a test.
type facts struct {
	mu         sync.Mutex
	up         bool
	attempt    time.Time
	attemptOK  bool
	success    time.Time
	free       uint64
	errs       int
	verifiedAt time.Time
	verifiedOK bool
	backupErr  error
}

func (f *facts) set(fn func(f *facts)) { f.mu.Lock(); defer f.mu.Unlock(); fn(f) }

func (f *facts) sources() Sources {
	return Sources{
		GatewayUp: func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.up },
		Backup: func() (time.Time, bool, time.Time, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.attempt, f.attemptOK, f.success, f.backupErr
		},
		FreeDisk: func() (uint64, error) { f.mu.Lock(); defer f.mu.Unlock(); return f.free, nil },
		Errors:   func(time.Time) int { f.mu.Lock(); defer f.mu.Unlock(); return f.errs },
		Verification: func() (time.Time, bool, string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.verifiedAt, f.verifiedOK, "bot audit verify", nil
		},
	}
}

// healthy is a state in which no condition holds at start.
func healthy(start time.Time) *facts {
	return &facts{up: true, attempt: start, attemptOK: true, success: start, free: 10 << 30,
		verifiedAt: start, verifiedOK: true}
}

func settings(url string) Settings {
	return Settings{WebhookURL: url, GatewayDownAfter: 2 * time.Minute, MinFreeDisk: 1 << 30,
		ErrorBurst: 20, BackupInterval: 24 * time.Hour}
}

// setup returns a fake Discord with one webhook, and a Monitor posting to
// it on a clock at a fixed time.
func setup(t *testing.T, f func(start time.Time) *facts) (*discordtest.Server, discordtest.Webhook, *Monitor, *clock, *facts, *bytes.Buffer) {
	t.Helper()
	srv := discordtest.NewServer()
	t.Cleanup(srv.Close)
	w := srv.CreateWebhook()
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}
	fs := f(c.t)
	var logs bytes.Buffer
	m := New(Options{Settings: settings(w.URL), Sources: fs.sources(), Now: c.now,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	return srv, w, m, c, fs, &logs
}

func contents(srv *discordtest.Server, w discordtest.Webhook) []string {
	var out []string
	for _, m := range srv.WebhookMessages(w.ID) {
		out = append(out, m.Content)
	}
	return out
}

func TestGatewayDown(t *testing.T) {
	srv, w, m, c, fs, _ := setup(t, healthy)
	ctx := context.Background()
	m.Check(ctx)
	fs.set(func(f *facts) { f.up = false })
	m.Check(ctx) // first seen down at 03:04
	c.add(time.Minute)
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 0 {
		t.Fatalf("posted before gateway_down_after: %q", got)
	}
	c.add(time.Minute)
	m.Check(ctx)
	got := contents(srv, w)
	if len(got) != 1 || !strings.Contains(got[0], "gateway down") || !strings.Contains(got[0], "since 2030-01-02 03:04 UTC") ||
		!strings.Contains(got[0], "bot health") {
		t.Fatalf("messages=%q, want one naming the condition, since when, and what to do", got)
	}
	msgs := srv.WebhookMessages(w.ID)
	if string(msgs[0].AllowedMentions) != `{"parse":[]}` {
		t.Errorf("allowed_mentions=%s, want no mentions", msgs[0].AllowedMentions)
	}
	if p := srv.Pings(); len(p) != 0 {
		t.Errorf("pings: %+v", p)
	}

	// The owner hears at once that it is back, though within the hour.
	fs.set(func(f *facts) { f.up = true })
	c.add(time.Minute)
	m.Check(ctx)
	got = contents(srv, w)
	if len(got) != 2 || !strings.Contains(got[1], "gateway down — cleared") || !strings.Contains(got[1], "03:07 UTC") {
		t.Fatalf("messages=%q, want the clearing at the next check, with when it cleared", got)
	}
	c.add(MinGap)
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 2 {
		t.Fatalf("posted again with nothing changed: %q", got)
	}
}

// recorder is a Poster that notes when each message was posted.
type recorder struct {
	mu    sync.Mutex
	clock *clock
	posts []post
}

type post struct {
	at      time.Time
	content string
}

func (p *recorder) Post(_ context.Context, _, content string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts = append(p.posts, post{p.clock.now(), content})
	return 204, nil
}

func (p *recorder) contents() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, q := range p.posts {
		out = append(out, q.content)
	}
	return out
}

func TestAtMostOnePerHour(t *testing.T) {
	srv, w, m, c, fs, _ := setup(t, healthy)
	ctx := context.Background()
	for i := range 20 { // the disk flaps for 50 minutes
		fs.set(func(f *facts) { f.free = uint64(i%2) * (10 << 30) })
		m.Check(ctx)
		c.add(150 * time.Second)
	}
	got := contents(srv, w)
	if len(got) != 2 || !strings.Contains(got[0], "disk space low") || strings.Contains(got[0], "cleared") ||
		!strings.Contains(got[1], "disk space low — cleared") || !strings.Contains(got[1], "03:06 UTC") {
		t.Fatalf("messages=%q, want the first firing and its clearing only", got)
	}

	// Low again within the hour of the firing: held, and dropped since it
	// cleared before the hour was up; no clearing for a firing never posted.
	fs.set(func(f *facts) { f.free = 0 })
	m.Check(ctx) // 03:54
	fs.set(func(f *facts) { f.free = 10 << 30 })
	c.add(time.Minute)
	m.Check(ctx)
	c.add(MinGap)
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 2 {
		t.Fatalf("messages=%q, want nothing for a firing held and cleared within the hour", got)
	}

	// Low again within the hour, and still low when the hour is up: posted
	// then, and its clearing at once.
	fs.set(func(f *facts) { f.free = 0 })
	m.Check(ctx) // 04:55, an hour and 51 minutes after the first firing
	if got := contents(srv, w); len(got) != 3 || !strings.Contains(got[2], "since 2030-01-02 04:55 UTC") {
		t.Fatalf("messages=%q, want the firing, an hour having passed", got)
	}
	c.add(time.Minute)
	fs.set(func(f *facts) { f.free = 10 << 30 })
	m.Check(ctx)
	c.add(time.Minute)
	fs.set(func(f *facts) { f.free = 0 })
	m.Check(ctx) // 04:57: held until 05:55
	c.add(58*time.Minute - CheckEvery)
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 4 || !strings.Contains(got[3], "cleared") {
		t.Fatalf("messages=%q, want the firing held until the hour is up", got)
	}
	c.add(CheckEvery)
	m.Check(ctx) // 05:55
	got = contents(srv, w)
	if len(got) != 5 || !strings.Contains(got[4], "since 2030-01-02 04:57 UTC") {
		t.Fatalf("messages=%q, want the held firing once the hour is up, since it still holds", got)
	}
}

func TestFlappingPostsOneFiringAndOneClearingPerHour(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}
	fs := healthy(c.t)
	p := &recorder{clock: c}
	m := New(Options{Settings: settings("https://discord.invalid/api/webhooks/1/t"), Sources: fs.sources(),
		Poster: p, Now: c.now})
	ctx := context.Background()
	for i := range 3 * 3600 / int(CheckEvery/time.Second) { // three hours, a change at every check
		fs.set(func(f *facts) { f.free = uint64(i%2) * (10 << 30) })
		m.Check(ctx)
		c.add(CheckEvery)
	}
	var fired, cleared []time.Time
	for _, q := range p.posts {
		if strings.Contains(q.content, "cleared") {
			cleared = append(cleared, q.at)
		} else {
			fired = append(fired, q.at)
		}
	}
	if len(fired) != 3 || len(cleared) != 3 {
		t.Fatalf("messages=%q, want three firings and three clearings", p.contents())
	}
	for i := range fired {
		if i > 0 && fired[i].Sub(fired[i-1]) < MinGap {
			t.Errorf("firings at %s and %s, within the hour", fired[i-1], fired[i])
		}
		if d := cleared[i].Sub(fired[i]); d != CheckEvery {
			t.Errorf("clearing %s after its firing, want at the next check", d)
		}
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(f *facts, start time.Time)
		after   time.Duration
		want    []string // the condition's name first
		restore func(f *facts, now time.Time)
	}{
		{"BackupFailed", func(f *facts, s time.Time) { f.attempt, f.attemptOK = s.Add(time.Minute), false }, 2 * time.Minute,
			[]string{"backup failed", "since 2030-01-02 03:05 UTC", "bot backup"},
			func(f *facts, now time.Time) { f.attempt, f.attemptOK, f.success = now, true, now }},
		{"BackupOverdue", func(f *facts, s time.Time) {}, 48*time.Hour + time.Minute,
			[]string{"backup overdue", "since 2030-01-02 03:04 UTC", "backup.interval"},
			func(f *facts, now time.Time) { f.attempt, f.attemptOK, f.success = now, true, now }},
		{"DiskLow", func(f *facts, s time.Time) { f.free = 512 << 20 }, 0,
			[]string{"disk space low", "512.0 MiB free", "alerts.min_free_disk (1.0 GiB)"},
			func(f *facts, now time.Time) { f.free = 2 << 30 }},
		{"ErrorBurst", func(f *facts, s time.Time) { f.errs = 21 }, 0,
			[]string{"burst of errors", "21 errors", "alerts.error_burst (20)"},
			func(f *facts, now time.Time) { f.errs = 20 }},
		{"VerificationFailed", func(f *facts, s time.Time) { f.verifiedAt, f.verifiedOK = s.Add(time.Minute), false }, time.Minute,
			[]string{"verification failed", "since 2030-01-02 03:05 UTC", "bot audit verify"},
			func(f *facts, now time.Time) { f.verifiedAt, f.verifiedOK = now, true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, w, m, c, fs, _ := setup(t, healthy)
			ctx := context.Background()
			m.Check(ctx)
			start := c.now()
			c.add(tt.after)
			fs.set(func(f *facts) { tt.break_(f, start) })
			m.Check(ctx)
			got := contents(srv, w)
			if len(got) != 1 {
				t.Fatalf("messages=%q, want one", got)
			}
			for _, s := range tt.want {
				if !strings.Contains(got[0], s) {
					t.Errorf("message %q lacks %q", got[0], s)
				}
			}
			if strings.Contains(got[0], w.Token) {
				t.Errorf("message %q holds the webhook token", got[0])
			}

			// Restored a few minutes later: the clearing goes out at the
			// next check, within the hour of the alert.
			c.add(5 * time.Minute)
			fs.set(func(f *facts) { tt.restore(f, c.now()) })
			m.Check(ctx)
			got = contents(srv, w)
			want := Message(Condition(tt.want[0]), false, c.now(), "")
			if len(got) != 2 || got[1] != want {
				t.Fatalf("messages=%q, want the clearing %q", got, want)
			}
			c.add(MinGap)
			m.Check(ctx)
			if got := contents(srv, w); len(got) != 2 {
				t.Fatalf("messages=%q, want nothing more once cleared", got)
			}
		})
	}
}

func TestUnreadableSourceChangesNothing(t *testing.T) {
	srv, w, m, c, fs, logs := setup(t, healthy)
	ctx := context.Background()
	fs.set(func(f *facts) { f.attemptOK = false })
	m.Check(ctx)
	fs.set(func(f *facts) { f.attemptOK, f.backupErr = true, errors.New("unreadable") })
	c.add(2 * MinGap)
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 1 {
		t.Fatalf("messages=%q, want the failure only, not a clearing nobody saw", got)
	}
	if !strings.Contains(logs.String(), "could not read the backup record") {
		t.Errorf("log %q does not say the record was unreadable", logs.String())
	}
}

// failing is a Poster that fails until told otherwise.
type failing struct {
	mu    sync.Mutex
	fail  bool
	posts []string
}

func (p *failing) Post(_ context.Context, _, content string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return 404, &RejectedError{Status: 404, Code: 10015, Message: "Unknown Webhook"}
	}
	p.posts = append(p.posts, content)
	return 204, nil
}

func TestPostFailureIsLoggedAndRetried(t *testing.T) {
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}
	fs := healthy(c.t)
	fs.free = 0
	p := &failing{fail: true}
	var logs bytes.Buffer
	m := New(Options{Settings: settings("http://127.0.0.1:1/api/webhooks/1/secrettoken"), Sources: fs.sources(),
		Poster: p, Now: c.now, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	m.Check(ctx)
	if !strings.Contains(logs.String(), "could not post an alert") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("log=%q, want a warning about the post", logs.String())
	}
	p.mu.Lock()
	p.fail = false
	p.mu.Unlock()
	m.Check(ctx)
	if len(p.posts) != 0 {
		t.Fatalf("retried at once: %q", p.posts)
	}
	c.add(retryAfter)
	m.Check(ctx)
	if len(p.posts) != 1 || !strings.Contains(p.posts[0], "disk space low") {
		t.Fatalf("posts=%q, want the alert once the retry is due", p.posts)
	}
}

func TestSetSettings(t *testing.T) {
	srv, w, m, _, fs, _ := setup(t, healthy)
	ctx := context.Background()
	m.SetSettings(Settings{})
	fs.set(func(f *facts) { f.errs = 5 })
	m.Check(ctx)
	if got := contents(srv, w); len(got) != 0 {
		t.Fatalf("posted with no webhook: %q", got)
	}
	w2 := srv.CreateWebhook()
	s := settings(w2.URL)
	s.ErrorBurst = 4
	m.SetSettings(s)
	m.Check(ctx)
	if got := contents(srv, w2); len(got) != 1 || !strings.Contains(got[0], "alerts.error_burst (4)") {
		t.Fatalf("messages=%q, want one on the new webhook with the new burst", got)
	}
}

func TestWebhookPosterErrorHoldsNoToken(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	w := srv.CreateWebhook()
	srv.DeleteWebhook(w.ID)
	status, err := WebhookPoster{}.Post(context.Background(), w.URL, "x")
	var re *RejectedError
	if status != 404 || !errors.As(err, &re) || !strings.Contains(err.Error(), "create a new one") {
		t.Fatalf("got=%d %v, want 404 and what to do", status, err)
	}
	_, err = WebhookPoster{}.Post(context.Background(), "http://127.0.0.1:1/api/webhooks/1/secrettoken", "x")
	if err == nil || strings.Contains(err.Error(), "secrettoken") {
		t.Fatalf("err=%v, want an error without the token", err)
	}
}
