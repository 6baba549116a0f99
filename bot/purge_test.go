package bot

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

// secretContent is in every message the purge tests post; it must never
// reach the database.
const secretContent = "purge-secret-7d1f: my password is hunter2"

func TestPurge(t *testing.T) {
	h := newHarness(t)
	h.guild.BotRole().SetPermissions(discordtest.DefaultBotPermissions | discord.PermissionManageMessages)
	ch := h.guild.Channels()[0]
	modlog := h.addModlog()
	cleanerRole := h.guild.AddRole("Cleaners", discord.PermissionManageMessages, 4)
	cleaner := h.guild.AddMember(discordtest.MemberOptions{Username: "cleaner", Roles: []*discordtest.Role{cleanerRole}})
	otherBot := h.guild.AddMember(discordtest.MemberOptions{Username: "otherbot", Bot: true})

	post := func(m *discordtest.Member, n int, age time.Duration) []snowflake.ID {
		var ids []snowflake.ID
		for range n {
			ids = append(ids, h.srv.PostMessage(ch, m.ID, secretContent, time.Now().Add(-age)).ID)
		}
		return ids
	}
	visible := func() []snowflake.ID {
		var ids []snowflake.ID
		for _, m := range h.srv.Messages(ch.ID) {
			ids = append(ids, m.ID)
		}
		return ids
	}
	purgeAudits := func() []storage.AuditEntry {
		t.Helper()
		all, err := storage.NewAudit(h.db, h.keys).List(context.Background(), 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		var out []storage.AuditEntry
		for _, e := range all {
			if e.Action == "messages.purge" {
				out = append(out, e)
			}
		}
		return out
	}

	t.Run("BotsOnly", func(t *testing.T) {
		humans := post(h.member, 3, time.Hour)
		bots := post(otherBot, 2, time.Minute)
		in := h.slash(h.admin, "purge", discordtest.Options{"count": 10, "bots-only": true})
		if !in.Ephemeral || in.Type != discord.InteractionResponseTypeDeferredCreateMessage {
			t.Errorf("reply type=%d ephemeral=%v, want a deferred ephemeral reply", in.Type, in.Ephemeral)
		}
		wantText(t, "reply", in.Content, "Deleted 2 messages.")
		left := visible()
		for _, id := range bots {
			if slices.Contains(left, id) {
				t.Errorf("bot message %s not deleted", id)
			}
		}
		for _, id := range humans {
			if !slices.Contains(left, id) {
				t.Errorf("member's message %s deleted by a bots-only purge", id)
			}
		}
		if got := h.srv.BulkDeleted(ch.ID); !slices.Equal(got, []int{2}) {
			t.Errorf("bulk deletes=%v, want one of 2", got)
		}
		for _, r := range h.srv.RequestsTo(http.MethodPost, "/channels/{channel_id}/messages/bulk-delete") {
			if !strings.Contains(r.AuditLogReason, "/purge by admin ("+h.admin.ID.String()+")") {
				t.Errorf("bulk delete's audit log reason=%q, want the moderator", r.AuditLogReason)
			}
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)),
			"Messages purged", h.admin.Mention(), "deleted 2 messages of bots in "+ch.Mention())
	})

	t.Run("UserSkipsOld", func(t *testing.T) {
		old := post(h.other, 2, 20*24*time.Hour)
		young := post(h.other, 3, time.Hour)
		mine := post(h.member, 2, time.Minute)
		before := len(h.srv.BulkDeleted(ch.ID))
		in := h.slash(cleaner, "purge", discordtest.Options{"count": 100, "user": h.other})
		wantText(t, "reply", in.Content, "Deleted 3 messages.", "2 messages older than 14 days were left")
		left := visible()
		for _, id := range young {
			if slices.Contains(left, id) {
				t.Errorf("young message %s not deleted", id)
			}
		}
		for _, id := range append(old, mine...) {
			if !slices.Contains(left, id) {
				t.Errorf("message %s deleted: too old, or not the user's", id)
			}
		}
		if got := h.srv.BulkDeleted(ch.ID)[before:]; !slices.Equal(got, []int{3}) {
			t.Errorf("bulk deletes=%v, want one of 3", got)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)),
			cleaner.Mention(), "deleted 3 messages of one member in "+ch.Mention())
	})

	t.Run("OnlyOld", func(t *testing.T) {
		lonely := h.guild.AddMember(discordtest.MemberOptions{Username: "lonely"})
		post(lonely, 1, 15*24*time.Hour)
		// Just inside Discord's two weeks: the margin leaves it too.
		post(lonely, 1, 14*24*time.Hour-time.Minute)
		posts := len(h.srv.Messages(modlog.ID))
		in := h.slash(h.admin, "purge", discordtest.Options{"count": 5, "user": lonely})
		wantText(t, "reply", in.Content, "Deleted 0 messages.", "2 messages older than 14 days were left")
		if got := len(h.srv.Messages(modlog.ID)); got != posts {
			t.Errorf("modlog posts=%d, want %d: nothing was deleted", got, posts)
		}
	})

	t.Run("CountNewestFirst", func(t *testing.T) {
		ids := post(h.member, 5, time.Second)
		before := len(h.srv.BulkDeleted(ch.ID))
		h.slash(h.admin, "purge", discordtest.Options{"count": 2})
		left := visible()
		if slices.Contains(left, ids[4]) || slices.Contains(left, ids[3]) || !slices.Contains(left, ids[2]) {
			t.Errorf("left=%v, want the two newest of %v gone and the third kept", left, ids)
		}
		if got := h.srv.BulkDeleted(ch.ID)[before:]; !slices.Equal(got, []int{2}) {
			t.Errorf("bulk deletes=%v, want one of 2", got)
		}
	})

	t.Run("One", func(t *testing.T) {
		ids := post(h.member, 1, time.Second)
		bulks := len(h.srv.BulkDeleted(ch.ID))
		in := h.slash(h.admin, "purge", discordtest.Options{"count": 1})
		wantText(t, "reply", in.Content, "Deleted 1 message.")
		if slices.Contains(visible(), ids[0]) {
			t.Error("the message was not deleted")
		}
		if len(h.srv.BulkDeleted(ch.ID)) != bulks {
			t.Error("one message was bulk deleted; Discord refuses a bulk delete of fewer than 2")
		}
		var single int
		for _, r := range in.Requests {
			if r.Is(http.MethodDelete, "/channels/{channel_id}/messages/{message_id}") && r.Status == http.StatusNoContent {
				single++
			}
		}
		if single != 1 {
			t.Errorf("single deletes=%d, want 1", single)
		}
		wantText(t, "modlog", lastEmbed(t, "modlog", h.srv.Messages(modlog.ID)), "deleted 1 message in "+ch.Mention())
	})

	t.Run("NothingMatched", func(t *testing.T) {
		nobody := h.guild.AddMember(discordtest.MemberOptions{Username: "nobody"})
		in := h.slash(h.admin, "purge", discordtest.Options{"count": 5, "user": nobody})
		wantText(t, "reply", in.Content, "No messages matched")
	})

	t.Run("Refusals", func(t *testing.T) {
		post(h.member, 3, time.Minute)
		for _, tc := range []struct {
			name  string
			actor *discordtest.Member
			opts  discordtest.Options
			want  string
		}{
			{"ModeratorWithoutManageMessages", h.mod, discordtest.Options{"count": 5}, "You need the Manage Messages permission to use /purge"},
			{"Member", h.member, discordtest.Options{"count": 5}, "You need the Manage Messages permission to use /purge"},
			{"ZeroCount", h.admin, discordtest.Options{"count": 0}, "Count must be 1 to 100."},
			{"CountTooLarge", h.admin, discordtest.Options{"count": 101}, "Count must be 1 to 100."},
			{"AboveTheCleaner", cleaner, discordtest.Options{"count": 5, "user": h.admin},
				"You can't purge the messages of someone whose highest role"},
			{"Owner", cleaner, discordtest.Options{"count": 5, "user": h.owner}, "You can't purge the messages of the server owner."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				audits, before := len(purgeAudits()), visible()
				wantRefused(t, h.slash(tc.actor, "purge", tc.opts), tc.want)
				if !slices.Equal(visible(), before) || len(purgeAudits()) != audits {
					t.Error("a refusal deleted or recorded something")
				}
			})
		}
		t.Run("BotWithoutManageMessages", func(t *testing.T) {
			h.guild.BotRole().SetPermissions(discordtest.DefaultBotPermissions)
			defer h.guild.BotRole().SetPermissions(discordtest.DefaultBotPermissions | discord.PermissionManageMessages)
			before := visible()
			wantRefused(t, h.slash(h.admin, "purge", discordtest.Options{"count": 5}), "I need Manage Messages in this channel")
			if !slices.Equal(visible(), before) {
				t.Error("a refusal deleted something")
			}
		})
	})

	t.Run("Recorded", func(t *testing.T) {
		audits := purgeAudits()
		// BotsOnly, UserSkipsOld, CountNewestFirst and One deleted messages.
		if len(audits) != 4 {
			t.Fatalf("purge audit entries=%d, want 4", len(audits))
		}
		a := audits[1]
		if a.ActorID != cleaner.ID.String() || a.GuildID != h.guild.ID.String() ||
			!strings.Contains(a.Details, "deleted 3 messages in channel "+ch.ID.String()) || !strings.Contains(a.Details, "2 left") {
			t.Errorf("audit entry=%+v", a)
		}
		for _, a := range audits {
			if strings.Contains(a.Details, h.other.ID.String()) || strings.Contains(a.Details, "hunter2") {
				t.Errorf("audit details name whose or what the messages were: %q", a.Details)
			}
		}
		if n := len(h.casesOf(h.other)); n != 0 {
			t.Errorf("cases of the purged member=%d, want none: a purge is no case", n)
		}
		// The messages' content reaches no file of the database, sealed or not.
		files, _ := filepath.Glob(h.db.Path() + "*")
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte("hunter2")) {
				t.Errorf("%s holds a purged message's content", f)
			}
		}
	})
}

// TestPurgeOwnAndBotMessages: the hierarchy that /purge user: follows does
// not stop a moderator from deleting their own messages or the bot's.
func TestPurgeOwnAndBotMessages(t *testing.T) {
	h := newHarness(t)
	h.guild.BotRole().SetPermissions(discordtest.DefaultBotPermissions | discord.PermissionManageMessages)
	ch := h.guild.Channels()[0]
	cleanerRole := h.guild.AddRole("Cleaners", discord.PermissionManageMessages, 2)
	cleaner := h.guild.AddMember(discordtest.MemberOptions{Username: "cleaner", Roles: []*discordtest.Role{cleanerRole}})
	for _, tc := range []struct {
		name string
		from snowflake.ID
	}{{"Own", cleaner.ID}, {"Bot", h.srv.BotUserID()}} {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 {
				h.srv.PostMessage(ch, tc.from, "x", time.Now().Add(-time.Minute))
			}
			in := h.slash(cleaner, "purge", discordtest.Options{"count": 10, "user": tc.from.String()})
			wantText(t, "reply", in.Content, "Deleted 3 messages.")
		})
	}
}
