package bot

import (
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// The helpers in this file serve the tests of the action commands
// (/timeout, /untimeout, /kick, /ban, /unban), escalation and the scheduler.

// Routes of the fake, as discordtest.Request.Route names them.
const (
	routeMember    = "/guilds/{guild_id}/members/{user_id}"
	routeBan       = "/guilds/{guild_id}/bans/{user_id}"
	routeDMChannel = "/users/@me/channels"
	routeMessages  = "/channels/{channel_id}/messages"
)

// withBotOptions lets a test change the bot's Options before New.
func withBotOptions(f func(*Options)) harnessOption {
	return func(c *harnessConfig) { c.botOpts = f }
}

// testClock is a clock a test moves by hand, for Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// restart stops the bot as SIGTERM would and starts a new Bot on the same
// storage and fake Discord, as `bot run` after a restart. tweak adjusts the
// new bot's Options.
func (h *harness) restart(tweak func(*Options)) {
	h.t.Helper()
	if err := h.stop(); err != nil {
		h.t.Fatalf("stop the bot: %v", err)
	}
	o := Options{
		Connection:      h.newConn(),
		GuildIDs:        []snowflake.ID{h.guild.ID},
		ShutdownTimeout: 5 * time.Second,
		Logger:          testLogger(h.t),
		Version:         "test",
		Stores:          h.stores,
	}
	if tweak != nil {
		tweak(&o)
	}
	b, err := New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	h.start()
}

// newMember adds a member with the Members role, a fresh target for an
// action that removes it.
func (h *harness) newMember(name string) *discordtest.Member {
	return h.guild.AddMember(discordtest.MemberOptions{Username: name, Roles: []*discordtest.Role{h.memberRole}})
}

// withoutBotPermission takes perm from the bot's role until the test ends.
// The interaction's app_permissions carry the change at once.
func (h *harness) withoutBotPermission(t *testing.T, perm discord.Permissions) {
	t.Helper()
	role := h.guild.BotRole()
	was := role.Permissions()
	role.SetPermissions(was &^ perm)
	t.Cleanup(func() { role.SetPermissions(was) })
}

// casesOfKind returns m's cases of kind.
func (h *harness) casesOfKind(m *discordtest.Member, kind storage.CaseKind) []storage.Case {
	h.t.Helper()
	var out []storage.Case
	for _, c := range h.casesOf(m) {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// requestIndex returns the position of the first request with method and
// route in reqs, or -1.
func requestIndex(reqs []discordtest.Request, method, route string) int {
	for i, r := range reqs {
		if r.Is(method, route) {
			return i
		}
	}
	return -1
}

// onlyRequest returns the one request with method and route in reqs, and
// fails the test if there is not exactly one.
func onlyRequest(t *testing.T, reqs []discordtest.Request, method, route string) discordtest.Request {
	t.Helper()
	var found []discordtest.Request
	for _, r := range reqs {
		if r.Is(method, route) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s %s requests got=%d, want 1", method, route, len(found))
	}
	return found[0]
}

// TestActionRefusals checks, for every action command, who may not use it
// and on whom no one may act. A refusal stores nothing and leaves the
// member as they were.
func TestActionRefusals(t *testing.T) {
	h := newHarness(t)
	h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
	mod2 := h.guild.AddMember(discordtest.MemberOptions{Username: "mod2", Roles: []*discordtest.Role{h.modRole}})
	bot, _ := h.guild.Bot()
	opts := map[string]discordtest.Options{
		"timeout":   {"duration": "1h"},
		"untimeout": {},
		"kick":      {},
		"ban":       {},
	}
	for _, tc := range []struct {
		name    string
		command string
		actor   *discordtest.Member
		target  *discordtest.Member
		want    string
	}{
		{"TimeoutByMember", "timeout", h.member, h.other, "Only moderators can use /timeout"},
		{"UntimeoutByMember", "untimeout", h.member, h.other, "Only moderators can use /untimeout"},
		{"KickByMember", "kick", h.member, h.other, "You need the Kick Members permission to use /kick"},
		{"BanByMember", "ban", h.member, h.other, "You need the Ban Members permission to use /ban"},
		// A moderator role is enough to time out, not to remove someone.
		{"KickByModRole", "kick", h.helper, h.other, "You need the Kick Members permission to use /kick; a moderator role alone is not enough."},
		{"BanByModRole", "ban", h.helper, h.other, "You need the Ban Members permission to use /ban"},
		{"TimeoutSelf", "timeout", h.mod, h.mod, "You can't time out yourself."},
		{"KickBot", "kick", h.mod, bot, "You can't kick the bot."},
		{"BanOwner", "ban", h.admin, h.owner, "You can't ban the server owner."},
		{"TimeoutOwner", "timeout", h.admin, h.owner, "You can't time out the server owner."},
		{"KickEqualRole", "kick", h.mod, mod2, "is not below yours"},
		{"BanHigherRole", "ban", h.mod, h.admin, "is not below yours"},
		{"UntimeoutHigherRole", "untimeout", h.mod, h.admin, "is not below yours"},
		{"UntimeoutNotTimedOut", "untimeout", h.mod, h.member, "They are not timed out."},
		{"TimeoutTooLong", "timeout", h.mod, h.member, "A timeout can be at most 28 days"},
		// The owner may act on anyone else, but Discord never lets the bot
		// time out an administrator.
		{"TimeoutAdmin", "timeout", h.owner, h.admin, "I can't time out someone with the Administrator permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.casesOf(tc.target))
			reqs := len(h.srv.Requests())
			o := discordtest.Options{"user": tc.target, "reason": "no"}
			for k, v := range opts[tc.command] {
				o[k] = v
			}
			if tc.name == "TimeoutTooLong" {
				o["duration"] = "29d"
			}
			wantRefused(t, h.slash(tc.actor, tc.command, o), tc.want)
			if got := len(h.casesOf(tc.target)); got != before {
				t.Errorf("cases got=%d, want %d: a refusal stored something", got, before)
			}
			for _, r := range h.srv.Requests()[reqs:] {
				if r.Route == routeMember && r.Method != "GET" || r.Route == routeBan {
					t.Errorf("a refusal called Discord: %s %s", r.Method, r.Path)
				}
			}
			if !tc.target.InGuild() {
				t.Errorf("%s left the guild after a refusal", tc.target.Username)
			}
		})
	}
}

// TestBotRoleBelowTarget: the bot's own role must rank above the target's,
// and the refusal names the role to move. The role is moved while the bot
// is stopped, since the fake sends no role updates over the gateway.
func TestBotRoleBelowTarget(t *testing.T) {
	h := newHarness(t)
	h.guild.BotRole().SetPosition(2)
	h.restart(nil)
	for _, command := range []string{"kick", "ban", "timeout"} {
		t.Run(command, func(t *testing.T) {
			o := discordtest.Options{"user": h.helper, "reason": "above me"}
			if command == "timeout" {
				o["duration"] = "1h"
			}
			in := h.slash(h.mod, command, o)
			wantRefused(t, in, "Move my role above @Helpers in Server Settings → Roles.")
			if n := len(h.casesOf(h.helper)); n != 0 {
				t.Errorf("cases got=%d, want none", n)
			}
			if len(h.srv.DMs(h.helper.ID)) != 0 {
				t.Error("the member was DMed about an action that was refused")
			}
		})
	}
	if !h.helper.InGuild() {
		t.Error("the helper was removed")
	}
}
