package bot

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

// harness is a running bot against a discordtest server, with a guild whose
// cast covers every permission level: the owner, an admin, a moderator (by
// the Timeout Members permission), a member with a moderator role, two
// plain members, and the bot.
type harness struct {
	t      *testing.T
	srv    *discordtest.Server
	bot    *Bot
	conn   *conn.Client
	db     *storage.DB
	keys   *keys.Keyring
	stores Stores
	guild  *discordtest.Guild

	owner, admin, mod, helper, member, other *discordtest.Member
	modRole, helperRole, memberRole          *discordtest.Role

	connOpts func(*conn.Options)
	cancel   context.CancelFunc
	done     chan error
}

type harnessOption func(*harnessConfig)

type harnessConfig struct {
	srvOpts  []discordtest.Option
	botOpts  func(*Options)
	connOpts func(*conn.Options)
}

func withServerOptions(o ...discordtest.Option) harnessOption {
	return func(c *harnessConfig) { c.srvOpts = append(c.srvOpts, o...) }
}

// withConnOptions lets a test change the connection's Options before New.
func withConnOptions(f func(*conn.Options)) harnessOption {
	return func(c *harnessConfig) { c.connOpts = f }
}

// newHarness starts discordtest, a guild, storage in t.TempDir() and the
// bot, and waits until the bot is ready. Everything stops at the end of the
// test, and the test fails if the fake recorded a protocol violation or a
// ping.
func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	var hc harnessConfig
	for _, o := range opts {
		o(&hc)
	}
	srvOpts := append([]discordtest.Option{discordtest.WithSpec(discordtest.SpecPath())}, hc.srvOpts...)
	srv := discordtest.NewServer(srvOpts...)
	t.Cleanup(srv.Close)

	h := &harness{t: t, srv: srv}
	h.guild = srv.AddGuild(discordtest.GuildOptions{Name: "Test Guild", OwnerName: "owner"})
	h.owner = h.guild.Owner()
	adminRole := h.guild.AddRole("Admins", discord.PermissionAdministrator, 8)
	h.modRole = h.guild.AddRole("Mods", discord.PermissionModerateMembers|discord.PermissionKickMembers|discord.PermissionBanMembers, 5)
	h.helperRole = h.guild.AddRole("Helpers", 0, 3)
	h.memberRole = h.guild.AddRole("Members", 0, 1)
	h.admin = h.guild.AddMember(discordtest.MemberOptions{Username: "admin", Roles: []*discordtest.Role{adminRole}})
	h.mod = h.guild.AddMember(discordtest.MemberOptions{Username: "mod", Roles: []*discordtest.Role{h.modRole}})
	h.helper = h.guild.AddMember(discordtest.MemberOptions{Username: "helper", Roles: []*discordtest.Role{h.helperRole}})
	h.member = h.guild.AddMember(discordtest.MemberOptions{Username: "member", Roles: []*discordtest.Role{h.memberRole}})
	h.other = h.guild.AddMember(discordtest.MemberOptions{Username: "other", Roles: []*discordtest.Role{h.memberRole}})

	db, kr := openTestStorage(t)
	h.db, h.keys = db, kr
	h.stores = NewStores(db, kr)

	h.connOpts = hc.connOpts
	o := Options{
		Connection:      h.newConn(),
		GuildIDs:        []snowflake.ID{h.guild.ID},
		ShutdownTimeout: 5 * time.Second,
		Logger:          testLogger(t),
		Version:         "test",
		Stores:          h.stores,
		Limits:          unlimited(),
	}
	if hc.botOpts != nil {
		hc.botOpts(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.bot = b
	h.start()
	t.Cleanup(func() {
		h.stop()
		db.Close()
		for _, v := range srv.Violations() {
			t.Errorf("discordtest violation: %+v", v)
		}
		for _, p := range srv.Pings() {
			t.Errorf("a bot message pinged: %+v", p)
		}
	})
	return h
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.bot.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !h.bot.Ready() || !h.commandsRegistered() || !h.commandsSynced() {
		select {
		case err := <-h.done:
			h.t.Fatalf("bot stopped during start-up: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatal("bot not ready within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) commandsRegistered() bool {
	return len(h.srv.Commands(h.guild.ID)) == len(Definitions())
}

// commandsSynced reports whether Run has finished registering the
// commands. The fake holds them as soon as it has handled the PUT, but it
// logs the request (RequestsTo) only after writing the answer, and the
// bot has them registered only once it has read that answer; a test that
// counts the registrations must not start in between. It never waits for a
// registration in progress.
func (h *harness) commandsSynced() bool {
	if !h.bot.regMu.TryLock() {
		return false
	}
	defer h.bot.regMu.Unlock()
	return h.bot.synced
}

// newConn returns a new connection to the harness's fake Discord, as `bot
// run` makes one at each start.
func (h *harness) newConn() *conn.Client {
	h.t.Helper()
	o := conn.Options{Token: h.srv.Token(), APIURL: h.srv.APIURL(), GatewayURL: h.srv.GatewayURL(), Logger: testLogger(h.t)}
	if h.connOpts != nil {
		h.connOpts(&o)
	}
	c, err := conn.New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.conn = c
	return c
}

// stop shuts the bot down as SIGTERM would and returns Run's error.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(15 * time.Second):
		h.t.Error("bot did not stop within 15s")
		return nil
	}
}

// slash invokes a command as m and fails the test if the fake could not
// deliver it or the bot did not answer.
func (h *harness) slash(m *discordtest.Member, command string, opts discordtest.Options) *discordtest.Interaction {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := h.srv.InvokeSlash(ctx, h.guild, m, command, opts)
	if err != nil {
		h.t.Fatalf("/%s by %s: %v", command, m.Username, err)
	}
	return in
}

// openTestStorage creates keys and a migrated database in t.TempDir().
// The database closes at the end of the test.
func openTestStorage(t *testing.T) (*storage.DB, *keys.Keyring) {
	t.Helper()
	dir := t.TempDir()
	kr, err := keys.Create(keys.Options{Dir: filepath.Join(dir, "keys")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(dir, "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, kr
}

// testLogger sends the bot's logs to the test log, shown only on failure.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("BOT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
