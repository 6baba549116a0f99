package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// waitCases polls until m has n cases of kind in the test guild, and
// returns them.
func (h *harness) waitCases(m *discordtest.Member, kind storage.CaseKind, n int) []storage.Case {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs := h.casesOfKind(m, kind)
		if len(cs) >= n {
			if len(cs) > n {
				h.t.Fatalf("%s cases of %s: got %d, want %d", kind, m.Username, len(cs), n)
			}
			return cs
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s cases of %s: got %d within 10s, want %d", kind, m.Username, len(cs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitMessages polls until channel holds n messages.
func waitMessages(t *testing.T, srv *discordtest.Server, channel snowflake.ID, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Messages(channel)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("messages in the channel: got %d within 10s, want %d", len(srv.Messages(channel)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastAuditEntry is the newest entry of the guild's audit log about target.
func (h *harness) lastAuditEntry(target snowflake.ID) discord.AuditLogEntry {
	h.t.Helper()
	log := h.guild.AuditLog()
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].TargetID != nil && *log[i].TargetID == target {
			return log[i]
		}
	}
	h.t.Fatalf("no audit-log entry about %s", target)
	return discord.AuditLogEntry{}
}

// deliverAgain hands an entry to the bot once more, as a replay after a
// resume does, and returns when the bot has handled it.
func (h *harness) deliverAgain(e discord.AuditLogEntry) {
	h.bot.handlers.recordManualAction(context.Background(), h.guild.ID, e)
}

func TestManualActions(t *testing.T) {
	h := newHarness(t)
	modlog := h.addModlog()

	checkCase := func(t *testing.T, c storage.Case, reason string) {
		t.Helper()
		if c.ModeratorID != h.mod.ID.String() || c.ModeratorName != "mod" || c.Reason != reason {
			t.Errorf("case got moderator %s (%s), reason %q; want mod and %q", c.ModeratorID, c.ModeratorName, c.Reason, reason)
		}
	}

	t.Run("Ban", func(t *testing.T) {
		target := h.newMember("manualban")
		h.guild.BanAs(h.mod, target.ID, "raid from the member menu")
		c := h.waitCases(target, storage.CaseBan, 1)[0]
		checkCase(t, c, "raid from the member menu")
		if c.Duration != 0 {
			t.Errorf("duration got=%v, want a permanent ban", c.Duration)
		}
		waitMessages(t, h.srv, modlog.ID, 1)
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)),
			"Case #", "Ban", target.Mention(), h.mod.Mention(), "raid from the member menu", "Taken outside the bot")
		if dms := h.srv.DMs(target.ID); len(dms) != 0 {
			t.Errorf("the member was DMed about a manual ban: %d DMs", len(dms))
		}

		// A replay of the same entry records nothing.
		h.deliverAgain(h.lastAuditEntry(target.ID))
		h.guild.ReplayAuditLogEntry(h.lastAuditEntry(target.ID))
		h.deliverAgain(h.lastAuditEntry(target.ID))
		if n := len(h.casesOfKind(target, storage.CaseBan)); n != 1 {
			t.Errorf("ban cases after a replay: got %d, want 1", n)
		}

		// The history counts it.
		in := h.slash(h.mod, "warnings", discordtest.Options{"user": target, "all": true})
		e := onlyEmbed(t, in)
		if names := strings.Join(fieldNames(e), "\n"); !strings.Contains(names, "Ban") {
			t.Errorf("/warnings all got %q, want the manual ban", names)
		}

		h.guild.UnbanAs(h.mod, target.ID, "appeal accepted")
		checkCase(t, h.waitCases(target, storage.CaseUnban, 1)[0], "appeal accepted")
	})

	t.Run("Kick", func(t *testing.T) {
		target := h.newMember("manualkick")
		h.guild.KickAs(h.mod, target, "spam")
		checkCase(t, h.waitCases(target, storage.CaseKick, 1)[0], "spam")
		h.deliverAgain(h.lastAuditEntry(target.ID))
		if n := len(h.casesOf(target)); n != 1 {
			t.Errorf("cases after a replay: got %d, want 1", n)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		target := h.newMember("manualtimeout")
		h.guild.TimeoutAs(h.mod, target, time.Now().Add(time.Hour), "cool off")
		c := h.waitCases(target, storage.CaseTimeout, 1)[0]
		checkCase(t, c, "cool off")
		if c.Duration < 59*time.Minute || c.Duration > time.Hour {
			t.Errorf("timeout duration got=%v, want about an hour", c.Duration)
		}
		h.guild.TimeoutAs(h.mod, target, time.Time{}, "")
		checkCase(t, h.waitCases(target, storage.CaseUntimeout, 1)[0], "(no reason given in Discord)")
		if n := len(h.casesOf(target)); n != 2 {
			t.Errorf("cases: got %d, want 2", n)
		}
	})

	t.Run("BotsOwnActionOnce", func(t *testing.T) {
		target := h.newMember("botban")
		in := h.slash(h.mod, "ban", discordtest.Options{"user": target, "reason": "through the bot"})
		wantText(t, "reply", in.Content, "Banned")
		entry := h.lastAuditEntry(target.ID)
		if entry.UserID != h.conn.ID() || entry.ActionType != discord.AuditLogEventMemberBanAdd {
			t.Fatalf("the fake's audit entry got user %s type %d, want the bot's ban", entry.UserID, entry.ActionType)
		}
		h.deliverAgain(entry)
		to := h.newMember("bottimeout")
		h.slash(h.mod, "timeout", discordtest.Options{"user": to, "duration": "1h", "reason": "through the bot"})
		h.deliverAgain(h.lastAuditEntry(to.ID))
		if n := len(h.casesOf(target)); n != 1 {
			t.Errorf("cases of a /ban: got %d, want 1", n)
		}
		if n := len(h.casesOf(to)); n != 1 {
			t.Errorf("cases of a /timeout: got %d, want 1", n)
		}
	})

	t.Run("Off", func(t *testing.T) {
		in := h.slash(h.owner, "config manual-actions", discordtest.Options{"state": "off"})
		wantText(t, "reply", in.Content, "no longer recorded")
		in = h.slash(h.owner, "config show", nil)
		wantText(t, "config show", embedText(onlyEmbed(t, in)), "Actions taken outside the bot: Off")
		target := h.newMember("unrecorded")
		h.guild.BanAs(h.mod, target.ID, "not recorded")
		h.deliverAgain(h.lastAuditEntry(target.ID))
		if n := len(h.casesOf(target)); n != 0 {
			t.Errorf("cases with manual actions off: got %d, want 0", n)
		}
		in = h.slash(h.owner, "config manual-actions", discordtest.Options{"state": "on"})
		wantText(t, "reply", in.Content, "now recorded as cases")
	})

	t.Run("NotManager", func(t *testing.T) {
		in := h.slash(h.mod, "config manual-actions", discordtest.Options{"state": "off"})
		wantRefused(t, in, "Only members with the Manage Server permission can use /config.")
		if s, _ := h.stores.Settings.Get(context.Background(), h.guild.ID.String()); s.IgnoreManualActions {
			t.Error("a refused /config manual-actions changed the setting")
		}
	})

	t.Run("BotLacksViewAuditLog", func(t *testing.T) {
		in := h.slash(h.owner, "config show", nil)
		wantText(t, "config show", embedText(onlyEmbed(t, in)), "Actions taken outside the bot: On: ")
		if w := h.bot.ManualActionWarnings(context.Background()); len(w) != 0 {
			t.Errorf("warnings with the permission: %q", w)
		}
		role := h.guild.BotRole()
		was := role.Permissions()
		role.SetPermissions(was &^ discord.PermissionViewAuditLog)
		role.SendUpdate()
		t.Cleanup(func() { role.SetPermissions(was); role.SendUpdate() })
		deadline := time.Now().Add(10 * time.Second)
		for len(h.bot.ManualActionWarnings(context.Background())) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no warning about View Audit Log within 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		wantText(t, "health", strings.Join(h.bot.ManualActionWarnings(context.Background()), "\n"), "Test Guild", "View Audit Log")
		in = h.slash(h.owner, "config show", nil)
		wantText(t, "config show", embedText(onlyEmbed(t, in)), "On, but not working", "View Audit Log")
		h.slash(h.owner, "config manual-actions", discordtest.Options{"state": "off"})
		if w := h.bot.ManualActionWarnings(context.Background()); len(w) != 0 {
			t.Errorf("health warnings with manual actions off: %q", w)
		}
		in = h.slash(h.owner, "config manual-actions", discordtest.Options{"state": "on"})
		wantText(t, "reply", in.Content, "now recorded as cases", "But I lack the View Audit Log permission")
		if w := h.bot.ManualActionWarnings(context.Background()); len(w) != 1 {
			t.Errorf("health warnings got=%q, want one", w)
		}

		// Discord sends no entry without the permission: nothing is recorded.
		target := h.newMember("unseen")
		h.guild.BanAs(h.mod, target.ID, "unseen")
		h.slash(h.mod, "ping", nil) // a round trip through the gateway
		if n := len(h.casesOf(target)); n != 0 {
			t.Errorf("cases without View Audit Log: got %d, want 0", n)
		}
	})
}

func TestManualActionOf(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := func(t time.Time) []byte { return []byte(`"` + t.Format(time.RFC3339) + `"`) }
	change := func(old, new []byte) []discord.AuditLogChange {
		return []discord.AuditLogChange{{Key: discord.AuditLogChangeKeyCommunicationDisabledUntil, OldValue: old, NewValue: new}}
	}
	for _, c := range []struct {
		name string
		e    discord.AuditLogEntry
		want manualAction
		ok   bool
	}{
		{"ban", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberBanAdd}, manualAction{kind: storage.CaseBan}, true},
		{"unban", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberBanRemove}, manualAction{kind: storage.CaseUnban}, true},
		{"kick", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberKick}, manualAction{kind: storage.CaseKick}, true},
		{"timeout", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberUpdate, Changes: change(nil, ts(now.Add(time.Hour)))},
			manualAction{kind: storage.CaseTimeout, duration: time.Hour}, true},
		{"lifted", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberUpdate, Changes: change(ts(now.Add(time.Hour)), []byte("null"))},
			manualAction{kind: storage.CaseUntimeout}, true},
		{"ended long ago", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberUpdate, Changes: change(ts(now.Add(-time.Hour)), nil)},
			manualAction{}, false},
		{"nickname", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberUpdate,
			Changes: []discord.AuditLogChange{{Key: discord.AuditLogChangeKeyNick, NewValue: []byte(`"x"`)}}}, manualAction{}, false},
		{"role", discord.AuditLogEntry{ActionType: discord.AuditLogEventMemberRoleUpdate}, manualAction{}, false},
	} {
		got, ok := manualActionOf(c.e, now)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: got %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
