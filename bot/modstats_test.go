package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/storage"
)

func TestModstats(t *testing.T) {
	h := newHarness(t)
	stranger := h.srv.AddGuild(discordtest.GuildOptions{Name: "Elsewhere", OwnerName: "stranger"}).Owner()
	now := time.Now()
	add := func(kind storage.CaseKind, target, mod *discordtest.Member, points int, age time.Duration) {
		t.Helper()
		_, err := h.stores.Cases.Create(context.Background(), storage.NewCase{
			GuildID: h.guild.ID.String(), Kind: kind, TargetID: target.ID.String(), TargetName: target.Username,
			ModeratorID: mod.ID.String(), ModeratorName: mod.Username, Reason: "r", Points: points, CreatedAt: now.Add(-age),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	add(storage.CaseWarning, h.member, h.mod, 2, day)
	add(storage.CaseWarning, h.member, h.mod, 1, 2*day)
	add(storage.CaseWarning, h.other, h.admin, 1, 3*day)
	add(storage.CaseWarning, stranger, h.mod, 5, 40*day) // counts for points, not in 30 days
	add(storage.CaseBan, stranger, h.admin, 0, 10*day)
	add(storage.CaseNote, h.other, h.mod, 0, 100*day)

	t.Run("Default30Days", func(t *testing.T) {
		in := h.slash(h.mod, "modstats", discordtest.Options{})
		if !in.Ephemeral || len(in.Embeds) != 1 {
			t.Fatalf("reply=%+v, want one ephemeral embed", in)
		}
		e := in.Embeds[0]
		text := embedText(e)
		wantText(t, "embed", text, "Moderation in the last 30 days", "Cases (4)", "Warning: 3", "Ban: 1",
			"1. a former member: 5 points",
			"2. "+h.member.Mention()+" (member): 3 points",
			"3. "+h.other.Mention()+" (other): 1 point",
			// A tie goes to the moderator who acted last.
			"1. "+h.admin.Mention()+": 2 cases (ban 1, warning 1)",
			"2. "+h.mod.Mention()+": 2 cases (warning 2)")
		for _, leak := range []string{"stranger", stranger.ID.String(), "Note"} {
			if strings.Contains(text, leak) {
				t.Errorf("embed shows %q:\n%s", leak, text)
			}
		}
	})

	t.Run("Days", func(t *testing.T) {
		in := h.slash(h.admin, "modstats", discordtest.Options{"days": 365})
		wantText(t, "embed", embedText(in.Embeds[0]), "last 365 days", "Cases (6)", "Note: 1", h.mod.Mention()+": 4 cases")
	})

	t.Run("ModeratorRole", func(t *testing.T) {
		h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = []string{h.helperRole.ID.String()} })
		defer h.tweakSettings(func(s *storage.GuildSettings) { s.ModeratorRoleIDs = nil })
		in := h.slash(h.helper, "modstats", discordtest.Options{"days": 1})
		wantText(t, "embed", embedText(in.Embeds[0]), "last 1 day", "Cases (0)", "no cases in this period")
	})

	t.Run("Refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			actor *discordtest.Member
			opts  discordtest.Options
			want  string
		}{
			{"NotModerator", h.member, discordtest.Options{}, "Only moderators can use /modstats"},
			{"HelperWithoutModRole", h.helper, discordtest.Options{}, "Only moderators can use /modstats"},
			{"ZeroDays", h.mod, discordtest.Options{"days": 0}, "Days must be 1 to 365."},
			{"TooManyDays", h.mod, discordtest.Options{"days": 366}, "Days must be 1 to 365."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := h.slash(tc.actor, "modstats", tc.opts)
				wantRefused(t, in, tc.want)
				if len(in.Embeds) != 0 {
					t.Errorf("a refusal showed the overview: %+v", in.Embeds)
				}
			})
		}
	})
}
