package bot

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

const auditLogRoute = "/guilds/{guild_id}/audit-logs"

// auditLogReads counts the bot's requests for the guild's audit log.
func (h *harness) auditLogReads() int {
	return len(h.srv.RequestsTo(http.MethodGet, auditLogRoute))
}

// settle returns once the bot has read the audit log of its guild after
// connecting, if it does: a ping's round trip through the gateway comes
// after the guild's GUILD_CREATE, and the reading is in flight until done.
func (h *harness) settle() {
	h.t.Helper()
	h.slash(h.mod, "ping", nil)
	h.bot.inflight.Wait()
}

// restartIdentifying restarts the bot as a new process with no session to
// resume (down longer than Discord keeps one), and waits for it to read
// the audit log.
func (h *harness) restartIdentifying(tweak func(*Options)) {
	h.t.Helper()
	before := countInbound(h.srv, opIdentify)
	h.restart(tweak)
	if n := countInbound(h.srv, opIdentify) - before; n != 1 {
		h.t.Fatalf("IDENTIFYs at the restart got=%d, want 1", n)
	}
	h.settle()
}

// TestManualActionsWhileDown: bans, kicks and timeouts made in Discord's
// menus while the bot was down become one case each, posted to the
// modlog, when it connects with a new session; a second restart, or a
// late gateway replay, records none of them again, and the bot's own
// actions are never recorded from the log.
func TestManualActionsWhileDown(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()
	own := h.newMember("ownban")
	in := h.slash(h.mod, "ban", discordtest.Options{"user": own, "reason": "through the bot"})
	wantText(t, "reply", in.Content, "Banned")
	posts := len(h.srv.Messages(modlog.ID))
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	banned, kicked, timedOut := h.newMember("downban"), h.newMember("downkick"), h.newMember("downtimeout")
	h.guild.BanAs(h.mod, banned.ID, "raid while the bot was away")
	h.guild.KickAs(h.mod, kicked, "spam while the bot was away")
	h.guild.TimeoutAs(h.mod, timedOut, time.Now().Add(time.Hour), "cool off")
	// An action of the bot's own, from another process with its token.
	ownKick := h.newMember("ownkick")
	h.guild.AddAuditLogEntry(discord.AuditLogEntry{ID: snowflake.New(time.Now()), ActionType: discord.AuditLogEventMemberKick,
		UserID: h.srv.BotUserID(), TargetID: &ownKick.ID})

	reads, lookups := h.auditLogReads(), len(h.srv.RequestsTo(http.MethodGet, "/users/{user_id}"))
	h.restartIdentifying(nil)
	checkCase := func(m *discordtest.Member, kind storage.CaseKind, reason string) storage.Case {
		t.Helper()
		cs := h.waitCases(m, kind, 1)
		if c := cs[0]; c.ModeratorID != h.mod.ID.String() || c.ModeratorName != "mod" || c.Reason != reason || c.TargetName != m.Username {
			t.Errorf("%s case got moderator %s (%s), target %q, reason %q; want mod, %s and %q",
				kind, c.ModeratorID, c.ModeratorName, c.TargetName, c.Reason, m.Username, reason)
		}
		return cs[0]
	}
	checkCase(banned, storage.CaseBan, "raid while the bot was away")
	checkCase(kicked, storage.CaseKick, "spam while the bot was away")
	c := checkCase(timedOut, storage.CaseTimeout, "cool off")
	if c.Duration < 59*time.Minute || c.Duration > time.Hour {
		t.Errorf("timeout duration got=%v, want about an hour", c.Duration)
	}
	waitMessages(t, h.srv, modlog.ID, posts+3)
	msgs := h.srv.Messages(modlog.ID)
	if len(msgs) != posts+3 {
		t.Fatalf("modlog posts got=%d, want %d", len(msgs), posts+3)
	}
	var text strings.Builder
	for _, m := range msgs[posts:] {
		for _, e := range m.Embeds {
			text.WriteString(embedText(e) + "\n" + e.Footer.Text + "\n")
		}
	}
	wantText(t, "modlog", text.String(), banned.Mention(), kicked.Mention(), timedOut.Mention(), h.mod.Mention(), "Taken outside the bot")
	if n := len(h.casesOf(own)); n != 1 {
		t.Errorf("cases of the bot's own /ban: got %d, want 1", n)
	}
	if n := len(h.casesOf(ownKick)); n != 0 {
		t.Errorf("cases of the bot's own kick: got %d, want 0", n)
	}
	if n := h.auditLogReads() - reads; n != len(backfillTypes) {
		t.Errorf("audit-log reads got=%d, want one per action type", n)
	}
	// The members who left are named as the audit log's answer names them.
	if n := len(h.srv.RequestsTo(http.MethodGet, "/users/{user_id}")) - lookups; n != 0 {
		t.Errorf("user lookups got=%d, want 0", n)
	}

	h.restartIdentifying(nil)
	for _, e := range h.guild.AuditLog() {
		h.guild.ReplayAuditLogEntry(e)
		h.deliverAgain(e)
	}
	h.settle()
	for _, m := range []*discordtest.Member{banned, kicked, timedOut, own} {
		if n := len(h.casesOf(m)); n != 1 {
			t.Errorf("cases of %s after a second restart and a replay: got %d, want 1", m.Username, n)
		}
	}
	if n := len(h.srv.Messages(modlog.ID)); n != posts+3 {
		t.Errorf("modlog posts after a second restart got=%d, want %d", n, posts+3)
	}
}

// TestManualActionsWhileDownWindow: only the last six days of the audit
// log are read, since the records of entries older than a week are pruned
// and they could be recorded twice; within it, entries are recorded
// oldest first.
func TestManualActionsWhileDownWindow(t *testing.T) {
	h := newHarness(t)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	tooOld, fiveDays, today := h.newMember("sixandahalfdays"), h.newMember("fivedays"), h.newMember("today")
	for _, e := range []struct {
		m   *discordtest.Member
		age time.Duration
	}{{tooOld, 6*24*time.Hour + 12*time.Hour}, {fiveDays, 5 * 24 * time.Hour}} {
		h.guild.AddAuditLogEntry(discord.AuditLogEntry{ID: snowflake.New(time.Now().Add(-e.age)), ActionType: discord.AuditLogEventMemberBanAdd,
			UserID: h.mod.ID, TargetID: &e.m.ID, Reason: new("banned long ago")})
	}
	h.guild.BanAs(h.mod, today.ID, "banned today")
	h.restartIdentifying(nil)
	if n := len(h.casesOf(tooOld)); n != 0 {
		t.Errorf("cases of an entry six and a half days old: got %d, want 0", n)
	}
	old := h.waitCases(fiveDays, storage.CaseBan, 1)[0]
	recent := h.waitCases(today, storage.CaseBan, 1)[0]
	if old.Number >= recent.Number {
		t.Errorf("case numbers got %d (five days ago) and %d (today), want in the order of the actions", old.Number, recent.Number)
	}
	if age := time.Since(old.CreatedAt); age < 5*24*time.Hour-time.Minute || age > 5*24*time.Hour+time.Minute {
		t.Errorf("case of five days ago dated %v ago, want when the moderator acted", age)
	}
}

// TestManualActionsWhileDownOff: with manual actions off, the audit log
// is not read at all.
func TestManualActionsWhileDownOff(t *testing.T) {
	h := newHarness(t)
	h.slash(h.owner, "config manual-actions", discordtest.Options{"state": "off"})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	target := h.newMember("unrecorded")
	h.guild.BanAs(h.mod, target.ID, "not recorded")
	reads := h.auditLogReads()
	h.restartIdentifying(nil)
	if n := h.auditLogReads() - reads; n != 0 {
		t.Errorf("audit-log reads with manual actions off: %d, want 0", n)
	}
	if n := len(h.casesOf(target)); n != 0 {
		t.Errorf("cases with manual actions off: got %d, want 0", n)
	}
}

// TestManualActionsWhileDownNoViewAuditLog: without View Audit Log the
// bot does not ask (its cache tells it), or, when its cache is stale and
// Discord refuses, stops at the refusal; either way it warns once and
// records nothing.
func TestManualActionsWhileDownNoViewAuditLog(t *testing.T) {
	logs := &capturedLog{}
	h := newHarness(t)
	const warning = "not read from the audit log"
	role := h.guild.BotRole()
	was := role.Permissions()
	role.SetPermissions(was &^ discord.PermissionViewAuditLog)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	target := h.newMember("unseen")
	h.guild.BanAs(h.mod, target.ID, "unseen")
	reads := h.auditLogReads()
	h.restartIdentifying(func(o *Options) { o.Logger = logs.logger() })
	if n := h.auditLogReads() - reads; n != 0 {
		t.Errorf("audit-log reads without View Audit Log: %d, want 0", n)
	}
	if got := logs.find(warning); len(got) != 1 || !strings.Contains(got[0].msg, "View Audit Log") {
		t.Errorf("warnings got=%v, want one naming View Audit Log", got)
	}

	// The cache believes the bot has the permission; Discord refuses.
	role.SetPermissions(was)
	role.SendUpdate()
	waitUntil(t, "the cache sees View Audit Log", func() bool { return h.bot.handlers.manualActionsProblem(h.guild.ID) == "" })
	role.SetPermissions(was &^ discord.PermissionViewAuditLog)
	t.Cleanup(func() { role.SetPermissions(was) })
	h.bot.handlers.backfillManualActions(context.Background(), h.guild.ID, func() bool { return false })
	if n := h.auditLogReads() - reads; n != 1 {
		t.Errorf("audit-log reads refused by Discord: %d, want 1 (it stops at the first)", n)
	}
	if got := logs.find(warning); len(got) != 2 || !strings.Contains(got[1].msg, "View Audit Log") {
		t.Errorf("warnings got=%v, want one more naming View Audit Log", got)
	}
	if n := len(h.casesOf(target)); n != 0 {
		t.Errorf("cases without View Audit Log: got %d, want 0", n)
	}
}

// TestManualActionsResumeReadsNoLog: a restart that RESUMEs gets the
// missed entries replayed by Discord and reads no audit log; each entry
// becomes one case.
func TestManualActionsResumeReadsNoLog(t *testing.T) {
	h := newHarness(t, withConnOptions(func(o *conn.Options) { o.KeepSession = true }))
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	s, ok := h.conn.Session()
	if !ok {
		t.Fatal("no resumable session after the stop")
	}
	h.connOpts = func(o *conn.Options) { o.KeepSession, o.Session = true, &s }
	target := h.newMember("replayed")
	h.guild.BanAs(h.mod, target.ID, "while the bot restarted")
	reads, resumes := h.auditLogReads(), countInbound(h.srv, opResume)
	h.restart(nil)
	if n := countInbound(h.srv, opResume) - resumes; n != 1 {
		t.Fatalf("RESUMEs at the restart got=%d, want 1", n)
	}
	h.settle()
	h.waitCases(target, storage.CaseBan, 1)
	if n := h.auditLogReads() - reads; n != 0 {
		t.Errorf("audit-log reads after a RESUME: %d, want 0", n)
	}
}

// TestMissedEntriesPaging: the log is read a page of 100 at a time,
// newest first, until an entry older than the cut-off or 500 entries of a
// type; what was read comes back oldest first.
func TestMissedEntriesPaging(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("often")
	start := time.Now().Add(-time.Hour)
	for i := range 600 {
		h.guild.AddAuditLogEntry(discord.AuditLogEntry{ID: snowflake.New(start.Add(time.Duration(i) * time.Second)),
			ActionType: discord.AuditLogEventMemberKick, UserID: h.mod.ID, TargetID: &target.ID})
	}
	ctx := context.Background()
	reads := h.auditLogReads()
	got, users, err := h.bot.handlers.missedEntries(ctx, h.guild.ID, snowflake.New(start.Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != backfillCap {
		t.Fatalf("entries got=%d, want the cap of %d", len(got), backfillCap)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID <= got[i-1].ID {
			t.Fatalf("entries not oldest first at %d", i)
		}
	}
	if want := snowflake.New(start.Add(599 * time.Second)); got[len(got)-1].ID != want {
		t.Errorf("newest entry got=%s, want the newest of the log", got[len(got)-1].ID)
	}
	if users[h.mod.ID].Username != "mod" || users[target.ID].Username != "often" {
		t.Errorf("users got=%v, want the moderator and the target named", users)
	}
	// Five pages of kicks; one empty page of each other type.
	if n := h.auditLogReads() - reads; n != backfillCap/backfillPage+len(backfillTypes)-1 {
		t.Errorf("reads got=%d", n)
	}

	reads = h.auditLogReads()
	got, _, err = h.bot.handlers.missedEntries(ctx, h.guild.ID, snowflake.New(start.Add(449*time.Second)))
	if err != nil || len(got) != 150 {
		t.Fatalf("entries after a cut-off got=%d, %v; want the 150 newer", len(got), err)
	}
	if n := h.auditLogReads() - reads; n != 2+len(backfillTypes)-1 {
		t.Errorf("reads with a cut-off got=%d, want two pages of kicks and one of each other type", n)
	}
}

// afterRun fails the test for a case recorded once Run has returned: the
// caller closes the database then.
type afterRun struct {
	CaseStore
	t        *testing.T
	returned *atomic.Bool
}

// CreateManual takes its time, as a slow disk does, so that a Run that does
// not wait for it has returned by the time it writes.
func (a afterRun) CreateManual(ctx context.Context, n storage.NewCase, entryID string) (storage.Case, bool, error) {
	time.Sleep(300 * time.Millisecond)
	if a.returned.Load() {
		a.t.Errorf("a case was recorded after Run returned")
	}
	return a.CaseStore.CreateManual(ctx, n, entryID)
}

// TestRunWaitsForBackfillWhenRegistrationFails: when the commands cannot
// be registered, Run returns only once the audit-log backfill the
// connection started is done (or stopped before it began), so nothing
// reaches the database after.
func TestRunWaitsForBackfillWhenRegistrationFails(t *testing.T) {
	h := newHarness(t)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	gone := h.newMember("gone")
	h.guild.BanAs(h.mod, gone.ID, "while the bot was away")
	h.srv.Delay(http.MethodGet, auditLogRoute, 200*time.Millisecond)
	// The bot reads what is registered before it registers anything.
	h.srv.FailNext(http.MethodGet, "/applications/{application_id}/guilds/{guild_id}/commands", http.StatusForbidden, 1)
	defer h.srv.ClearFaults()

	var returned atomic.Bool
	stores := h.stores
	stores.Cases = afterRun{CaseStore: h.stores.Cases, t: t, returned: &returned}
	b, err := New(Options{Connection: h.newConn(), GuildIDs: []snowflake.ID{h.guild.ID}, ShutdownTimeout: 5 * time.Second,
		Logger: testLogger(t), Version: "test", Stores: stores})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "register slash commands") {
		t.Fatalf("Run got=%v, want the registration's failure", err)
	}
	returned.Store(true)
	// A backfill left running records the ban within this time: the read
	// takes 200 ms and the write 300 ms. One that Run waited for, or that
	// the stop came before, writes nothing now.
	time.Sleep(time.Second)
}

// TestOverdueUnbanWaitsForBackfill: a timed ban ran out while the bot was
// down, and meanwhile a moderator unbanned the member by hand and banned
// them again for good. The overdue unban must not run before the backfill
// has recorded the manual unban, which cancels it, or it would lift the
// moderator's ban.
func TestOverdueUnbanWaitsForBackfill(t *testing.T) {
	h := newHarness(t)
	target := h.newMember("tempban")
	wantText(t, "reply", h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "raid", "duration": "1h"}).Content, "Banned")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.guild.UnbanAs(h.mod, target.ID, "wrong member")
	h.guild.BanAs(h.mod, target.ID, "the right one after all, for good")
	// Reading the log takes a while, as it does for a large server.
	h.srv.Delay(http.MethodGet, auditLogRoute, 300*time.Millisecond)
	defer h.srv.ClearFaults()
	// The bot comes back two hours later: the unban is overdue.
	h.restartIdentifying(func(o *Options) {
		o.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		o.SchedulerInterval = schedulerPoll
	})
	// The scheduler has looked at least once after the backfill.
	time.Sleep(10 * schedulerPoll)
	if _, banned := h.guild.Banned(target.ID); !banned {
		t.Error("the overdue unban lifted the ban a moderator made by hand while the bot was down")
	}
}

// TestBackfillCutByShutdown: a shutdown while the audit log is read
// records nothing more and leaves the bot unsettled, so that its session
// is not kept for a resume; the next start that connects afresh records
// every entry, each with its modlog post.
func TestBackfillCutByShutdown(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	a, b := h.newMember("first"), h.newMember("second")
	h.guild.BanAs(h.mod, a.ID, "while away")
	h.guild.KickAs(h.mod, b, "while away")
	posts := len(h.srv.Messages(modlog.ID))
	h.srv.Delay(http.MethodGet, auditLogRoute, 300*time.Millisecond)
	h.restart(nil)
	if h.bot.Settled() {
		t.Fatal("settled while the audit log is still being read")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if h.bot.Settled() {
		t.Error("settled after a shutdown cut the audit log's reading short")
	}
	if n := len(h.casesOf(a)) + len(h.casesOf(b)); n != 0 {
		t.Errorf("cases recorded by a read cut short got=%d, want 0: they would have no modlog post", n)
	}
	h.srv.ClearFaults()
	h.restartIdentifying(nil)
	h.waitCases(a, storage.CaseBan, 1)
	h.waitCases(b, storage.CaseKick, 1)
	waitMessages(t, h.srv, modlog.ID, posts+2)
	if !h.bot.Settled() {
		t.Error("not settled after the audit log was read")
	}
}
