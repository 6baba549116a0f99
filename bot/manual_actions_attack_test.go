package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// A reason written by another bot reaches the case through Discord's audit
// log, not through a slash command's option: it is cleaned as a typed
// reason is, so that a bidirectional override cannot make the stored
// reason display in a misleading order and no control character is kept.
func TestManualActionReasonCleaned(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("dirtyreason")
	h.guild.BanAs(h.mod, target.ID, " spam\u202e gnihton \x00\x07done\r\nnext ")
	c := h.waitCases(target, storage.CaseBan, 1)[0]
	if c.Reason != "spam gnihton done\nnext" {
		t.Errorf("reason got %q, want it cleaned like a typed reason", c.Reason)
	}
	if strings.ContainsAny(c.Reason, "\u202e\x00\x07\r") {
		t.Errorf("reason kept a control or bidi character: %q", c.Reason)
	}
}

// An entry Discord sends with no user_id (null: Discord itself acted, or
// the account is gone) still records the action, without asking Discord
// for user 0 and without a mention of a user that does not exist.
func TestManualActionNoModerator(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()
	target := h.newMember("nomod")
	h.deliverAgain(discord.AuditLogEntry{ID: snowflake.New(time.Now()), ActionType: discord.AuditLogEventMemberKick, TargetID: &target.ID})
	c := h.waitCases(target, storage.CaseKick, 1)[0]
	if c.ModeratorName == "user 0" || strings.Contains(c.ModeratorName, "0") {
		t.Errorf("moderator name got %q, want one that says Discord named no one", c.ModeratorName)
	}
	for _, r := range h.srv.RequestsTo(http.MethodGet, "/users/{user_id}") {
		if r.Path == "/users/0" {
			t.Errorf("asked Discord for user 0")
		}
	}
	waitMessages(t, h.srv, modlog.ID, 1)
	if text := lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)); strings.Contains(text, "<@0>") {
		t.Errorf("modlog mentions user 0: %q", text)
	}
	// Every other place that names a case's moderator says the same.
	for name, in := range map[string]*discordtest.Interaction{
		"/modstats":     h.slash(h.mod, "modstats", nil),
		"/warnings all": h.slash(h.mod, "warnings", discordtest.Options{"user": target, "all": true}),
		"/case view":    h.slash(h.mod, "case view", discordtest.Options{"number": c.Number}),
	} {
		text := in.Content
		for _, e := range in.Embeds {
			text += "\n" + embedText(e)
		}
		if strings.Contains(text, "<@0>") || !strings.Contains(text, unnamedModerator) {
			t.Errorf("%s names the moderator as %q; want %q", name, text, unnamedModerator)
		}
	}
}

// An entry that arrives while a shutdown waits for the interactions in
// flight is counted in the session a restart resumes, so Discord does not
// send it again: it is recorded before the connection closes, not dropped.
func TestManualActionDuringShutdown(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("lateban")
	h.bot.closing.Store(true)
	entry := discord.AuditLogEntry{ID: snowflake.New(time.Now()), ActionType: discord.AuditLogEventMemberBanAdd,
		UserID: h.mod.ID, TargetID: &target.ID, Reason: new("banned as the bot stopped")}
	h.bot.handleAuditLogEntry(h.guild.ID, entry)
	h.bot.closing.Store(false)
	c := h.waitCases(target, storage.CaseBan, 1)[0]
	if c.Reason != "banned as the bot stopped" || c.ModeratorID != h.mod.ID.String() {
		t.Errorf("case got %+v", c)
	}
	// A replay after the restart records it no second time.
	h.deliverAgain(entry)
	if n := len(h.casesOf(target)); n != 1 {
		t.Errorf("cases got %d, want 1", n)
	}
}

// A raid banned by another bot reaches the bot as a burst of entries. The
// modlog channel takes a few posts a second; every case of the burst is
// posted all the same, none given up while waiting behind the others.
func TestManualActionBurstModlog(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out Discord's rate limit on the modlog channel")
	}
	h := newHarness(t)
	modlog := h.addModlog()
	const burst = 16
	targets := make([]*discordtest.Member, burst)
	for i := range targets {
		targets[i] = h.newMember(fmt.Sprintf("raider%d", i))
	}
	// Two posts every two seconds, as Discord's per-channel limit allows
	// about as many.
	stop := make(chan struct{})
	var arming sync.WaitGroup
	arming.Go(func() {
		for {
			h.srv.RateLimit(http.MethodPost, "/channels/{channel_id}/messages", 2, 2*time.Second)
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
		}
	})
	defer func() { close(stop); arming.Wait(); h.srv.ClearFaults() }()
	for _, m := range targets {
		h.guild.BanAs(h.mod, m.ID, "raid")
	}
	for _, m := range targets {
		h.waitCases(m, storage.CaseBan, 1)
	}
	deadline := time.Now().Add(2 * burst * time.Second)
	for len(h.srv.Messages(modlog.ID)) < burst && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(h.srv.Messages(modlog.ID)); got != burst {
		t.Errorf("modlog posts of a burst of %d manual bans: got %d", burst, got)
	}
}

// After a RESUME, a new process learns its own user ID from REST while
// Discord already replays the events it missed, among them the entry of a
// ban the bot made just before it stopped. Until then the gateway cache
// holds no user of its own: the entry is still recognised as the bot's.
func TestManualActionOwnEntryBeforeSelfKnown(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("ownban")
	in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "through the bot"})
	wantText(t, "reply", in.Content, "Banned")
	entry := h.lastAuditEntry(target.ID)
	if entry.UserID != h.conn.ID() {
		t.Fatalf("entry by %s, want the bot", entry.UserID)
	}
	api := h.bot.handlers.discord
	known := api.botID
	api.botID = func() snowflake.ID { return 0 } // as right after a RESUME
	h.deliverAgain(entry)
	api.botID = known
	if n := len(h.casesOf(target)); n != 1 {
		t.Errorf("cases of a /ban replayed before the bot knew its own ID: got %d, want 1", n)
	}
}

// A manual unban cancels the pending end of the temporary ban it lifted,
// but an entry handled late (behind a burst, or replayed) does not cancel
// the end of a temporary ban made after it: that ban would become
// permanent.
func TestManualUnbanHandledLate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	sched := storage.NewSchedule(h.db, h.keys)
	pending := func() int {
		t.Helper()
		n, err := sched.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	target := h.newMember("tempban")
	unbannedAt := time.Now().Add(-time.Minute)
	in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "a day off", "duration": "1d"})
	wantText(t, "reply", in.Content, "Banned")
	if pending() != 1 {
		t.Fatalf("pending actions after /ban 1d: %d, want 1", pending())
	}
	h.deliverAgain(discord.AuditLogEntry{ID: snowflake.New(unbannedAt), ActionType: discord.AuditLogEventMemberBanRemove,
		UserID: h.mod.ID, TargetID: &target.ID})
	if n := pending(); n != 1 {
		t.Errorf("pending actions after an older manual unban was handled: %d, want the temporary ban's end kept", n)
	}
	h.deliverAgain(discord.AuditLogEntry{ID: snowflake.New(time.Now()), ActionType: discord.AuditLogEventMemberBanRemove,
		UserID: h.mod.ID, TargetID: &target.ID})
	if n := pending(); n != 0 {
		t.Errorf("pending actions after a manual unban of the temporary ban: %d, want 0", n)
	}
}
