package discordtest

import (
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// TestBulkDelete: bulk delete follows Discord's rules (Manage Messages,
// 2 to 100 distinct IDs, none older than two weeks), a single delete of
// another user's message needs Manage Messages too, and listing pages back
// with before, newest first.
func TestBulkDelete(t *testing.T) {
	srv := newServer(t)
	perms := DefaultBotPermissions
	g := srv.AddGuild(GuildOptions{BotPermissions: &perms})
	ch := g.Channels()[0]
	m := g.AddMember(MemberOptions{Username: "chatty"})
	client := newBot(t, srv, nil)
	r := client.Rest()

	old := srv.PostMessage(ch, m.ID, "old", time.Now().Add(-15*24*time.Hour))
	var young []snowflake.ID
	for i := range 4 {
		young = append(young, srv.PostMessage(ch, m.ID, "young", time.Now().Add(-time.Duration(4-i)*time.Minute)).ID)
	}

	got, err := r.GetMessages(ch.ID, 0, young[2], 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != young[1] || got[1].ID != young[0] {
		t.Errorf("messages before the third got=%v, want the second and first young ones", got)
	}

	if err := r.BulkDeleteMessages(ch.ID, young[:2]); restCode(err) != codeMissingPermissions {
		t.Errorf("bulk delete without Manage Messages got=%v, want %d", err, codeMissingPermissions)
	}
	if err := r.DeleteMessage(ch.ID, young[0]); restCode(err) != codeMissingPermissions {
		t.Errorf("deleting another's message without Manage Messages got=%v, want %d", err, codeMissingPermissions)
	}
	g.BotRole().SetPermissions(perms | discord.PermissionManageMessages)

	for _, tc := range []struct {
		name string
		ids  []snowflake.ID
		code int
	}{
		{"One", young[:1], codeInvalidFormBody},
		{"Duplicate", []snowflake.ID{young[0], young[0]}, codeInvalidFormBody},
		{"TooMany", make([]snowflake.ID, 101), codeInvalidFormBody},
		{"TooOld", []snowflake.ID{young[0], old.ID}, codeBulkDeleteTooOld},
	} {
		if err := r.BulkDeleteMessages(ch.ID, tc.ids); restCode(err) != tc.code {
			t.Errorf("%s: got=%v, want %d", tc.name, err, tc.code)
		}
	}
	if n := len(srv.Messages(ch.ID)); n != 5 {
		t.Fatalf("messages after refused bulk deletes=%d, want 5", n)
	}
	if err := r.BulkDeleteMessages(ch.ID, young[:3]); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteMessage(ch.ID, young[3]); err != nil {
		t.Fatal(err)
	}
	if left := srv.Messages(ch.ID); len(left) != 1 || left[0].ID != old.ID {
		t.Errorf("left=%v, want only the old message", left)
	}
	if got := srv.BulkDeleted(ch.ID); len(got) != 1 || got[0] != 3 {
		t.Errorf("BulkDeleted=%v, want [3]", got)
	}
	// The three malformed requests break the OpenAPI description too; the
	// spec check reports them, and nothing else.
	vs := srv.Violations()
	if len(vs) != 3 {
		t.Errorf("violations=%+v, want the 3 malformed bulk deletes", vs)
	}
	for _, v := range vs {
		if v.Kind != ViolationSpec {
			t.Errorf("violation %+v, want only spec violations", v)
		}
	}
}
