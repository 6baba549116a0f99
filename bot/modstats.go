package bot

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

const (
	// modstatsDays is /modstats' period unless the moderator picks one.
	modstatsDays = 30
	// modstatsMaxDays is the longest period /modstats looks at.
	modstatsMaxDays = 365
	// modstatsMembers and modstatsModerators are how many members (by
	// active points) and moderators (by cases) the overview lists.
	modstatsMembers    = 5
	modstatsModerators = 10
)

// modstatsCommand defines /modstats: an overview of the server's
// moderation, for moderators.
func modstatsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "modstats",
			Description: "An overview of this server's moderation: cases by kind, points, moderators",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionInt{Name: "days", Description: fmt.Sprintf("The period, in days (default %d)", modstatsDays),
					MinValue: new(1), MaxValue: new(modstatsMaxDays)},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

func (h *handlers) handleModstats(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := h.moderatorContext(ctx, e, "modstats")
	if err != nil {
		return "", nil, err
	}
	// The options check (options_check.go) holds days to its bounds.
	days := modstatsDays
	if d, ok := data.OptInt("days"); ok {
		days = d
	}
	since := mc.now.AddDate(0, 0, -days)
	ov, err := h.stores.Stats.Overview(ctx, mc.guild, since, mc.now, modstatsMembers, modstatsModerators)
	if err != nil {
		return "", nil, fmt.Errorf("read the overview: %w", err)
	}
	embed := discord.Embed{
		Title:     fmt.Sprintf("Moderation in the last %s", plural(int64(days), "day")),
		Color:     kindColor(storage.CaseNote),
		Timestamp: &mc.now,
		Fields: []discord.EmbedField{
			{Name: fmt.Sprintf("Cases (%d)", ov.Total), Value: kindLines(ov.Kinds), Inline: boolPtr(true)},
			{Name: "Most active points", Value: h.pointsLines(ctx, log, mc.guildID, ov.TopPoints), Inline: boolPtr(true)},
			{Name: "Moderators", Value: moderatorLines(ov.Moderators)},
		},
	}
	return "", []discord.Embed{fitEmbed(embed)}, nil
}

// kindLines lists the cases of each kind, most first.
func kindLines(kinds []storage.KindCount) string {
	if len(kinds) == 0 {
		return "none"
	}
	lines := make([]string, 0, len(kinds))
	for _, k := range kinds {
		lines = append(lines, fmt.Sprintf("%s: %d", kindTitle(k.Kind), k.Count))
	}
	return strings.Join(lines, "\n")
}

// pointsLines lists the members with the most active points. A member is
// named only while still in the server; someone who left is "a former
// member", so the overview does not keep pointing at people who are gone.
func (h *handlers) pointsLines(ctx context.Context, log *slog.Logger, guild snowflake.ID, top []storage.MemberPoints) string {
	if len(top) == 0 {
		return "nobody has active points"
	}
	lines := make([]string, 0, len(top))
	for i, m := range top {
		who := "a former member"
		if id, err := snowflake.Parse(m.UserID); err == nil {
			switch name, ok, err := h.discord.memberName(ctx, guild, id); {
			case err != nil:
				log.Warn("could not check whether a member is still in the server", errAttr(err))
				who = "a member"
			case ok:
				who = fmt.Sprintf("<@%s> (%s)", id, escapeMarkdown(name))
			}
		}
		lines = append(lines, fmt.Sprintf("%d. %s: %s", i+1, who, plural(int64(m.Points), "point")))
	}
	return strings.Join(lines, "\n")
}

// memberName returns the name of a member of guild, from the gateway cache
// or else REST; ok is false when they are not a member.
func (d *discordAPI) memberName(ctx context.Context, guild, id snowflake.ID) (name string, ok bool, err error) {
	m, cached := d.cache.Member(guild, id)
	if !cached {
		rm, err := d.rest.GetMember(guild, id, rest.WithCtx(ctx))
		switch {
		case resterr.Code(err) == codeUnknownMember || resterr.Code(err) == codeUnknownUser:
			return "", false, nil
		case err != nil:
			return "", false, err
		}
		m = *rm
	}
	if m.Nick != nil && *m.Nick != "" {
		return *m.Nick, true, nil
	}
	return m.User.EffectiveName(), true, nil
}

// moderatorLines lists each moderator's cases, busiest first, by kind.
func moderatorLines(mods []storage.ModeratorCount) string {
	if len(mods) == 0 {
		return "no cases in this period"
	}
	lines := make([]string, 0, len(mods))
	for i, m := range mods {
		kinds := make([]storage.KindCount, 0, len(m.ByKind))
		for k, n := range m.ByKind {
			kinds = append(kinds, storage.KindCount{Kind: k, Count: n})
		}
		slices.SortFunc(kinds, func(a, b storage.KindCount) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return cmp.Compare(a.Kind, b.Kind)
		})
		parts := make([]string, 0, len(kinds))
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(kindTitle(k.Kind)), k.Count))
		}
		lines = append(lines, fmt.Sprintf("%d. %s: %s (%s)", i+1, moderatorMention(m.ModeratorID), plural(int64(m.Total), "case"), strings.Join(parts, ", ")))
	}
	return strings.Join(lines, "\n")
}
