package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// Limits of /warn's points option.
const (
	minWarnPoints = 1
	maxWarnPoints = 100
)

// warnCommand defines /warn: a moderator records a warning against a member,
// who is told by DM, and the modlog gets an embed.
func warnCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "warn",
			Description: "Warn a member: records a case, DMs them and posts to the modlog",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member to warn", Required: true},
				discord.ApplicationCommandOptionString{Name: "reason", Description: "Why; the member sees this",
					Required: true, MinLength: new(1), MaxLength: new(maxReason), Autocomplete: true},
				discord.ApplicationCommandOptionInt{Name: "points", Description: "How much the warning counts (default 1)",
					MinValue: new(minWarnPoints), MaxValue: new(maxWarnPoints)},
				discord.ApplicationCommandOptionString{Name: "expires",
					Description: "When it stops counting, such as 30d or 12h, or never (default: the server's setting)", MaxLength: new(40)},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

// warnInput is what a warning needs, checked: /warn's options, or the
// fields of the Warn… modal.
type warnInput struct {
	user      discord.User
	member    *discord.ResolvedMember // nil: not a member of the guild
	reason    string
	points    int
	expiresAt time.Time // zero: never
	// messageLink links to the message the warning is about ("": none).
	messageLink string
}

func (h *handlers) handleWarn(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := h.moderatorContext(ctx, e, "warn")
	if err != nil {
		return "", nil, err
	}
	in, err := readWarnInput(data, mc)
	if err != nil {
		return "", nil, err
	}
	return h.warn(ctx, e, log, mc, in)
}

// warn records a warning and does all that follows it: the DM, the modlog
// post and escalation. /warn and the Warn… modals both come here, with mc
// from moderatorContext, so a warning is the same whichever way it is given.
func (h *handlers) warn(ctx context.Context, e *event, log *slog.Logger, mc *modContext, in warnInput) (string, []discord.Embed, error) {
	if err := CheckTarget(mc.actor, targetFrom(in.user.ID, in.member), mc.facts, "warn"); err != nil {
		return "", nil, err
	}
	// A warning is a step towards removing a member, and it is DMed; for
	// someone who left or never joined, neither makes sense. A note keeps
	// the record without pretending they were told.
	if in.member == nil {
		return "", nil, &UserError{"They are not a member of this server. To keep a record anyway, use /note."}
	}

	// Escalation compares the points before and after this warning. The
	// sum before is read in the warning's own transaction, so no other
	// warning of the member can land between the two.
	c, before, err := h.stores.Cases.CreateWithPoints(ctx, storage.NewCase{
		GuildID:       mc.guild,
		Kind:          storage.CaseWarning,
		TargetID:      in.user.ID.String(),
		TargetName:    in.user.Username,
		ModeratorID:   mc.actor.UserID.String(),
		ModeratorName: invokerName(e),
		Reason:        in.reason,
		Points:        in.points,
		CreatedAt:     mc.now,
		ExpiresAt:     in.expiresAt,
		MessageLink:   in.messageLink,
	})
	if err != nil {
		return "", nil, fmt.Errorf("store the warning: %w", err)
	}
	// The new warning is active now (its expiry, if any, is in the future),
	// so the sum after it needs no second query.
	after := before
	if c.Active(mc.now) {
		after += c.Points
	}
	log.Info("warning recorded", slog.Int64("case", c.Number), slog.Int("points", c.Points))

	// The case is stored: from here on, failures only add a note to the reply.
	dm := DMDisabled
	if mc.settings.DMEnabled {
		dm = h.discord.sendDM(ctx, log, in.user.ID, h.warnDM(ctx, mc, c, invokerName(e)))
	}
	modlog := h.discord.postCaseModlog(ctx, log, mc.settings, c.Number, caseEmbed(c))

	total := fmt.Sprintf("They now have %s active.", plural(int64(after), "point"))
	escalation := h.escalate(ctx, log, e, mc, c, in.user, in.member, before, after)
	head := fmt.Sprintf("Warned <@%s> (%s): case #%d, %s, %s.",
		c.TargetID, escapeMarkdown(c.TargetName), c.Number, plural(int64(c.Points), "point"), expiryText(c))
	return joinLines(head, total, dm.String(), modlog, escalation), nil, nil
}

// readWarnInput checks /warn's options and works out the expiry.
func readWarnInput(data discord.SlashCommandInteractionData, mc *modContext) (warnInput, error) {
	var in warnInput
	var err error
	if in.user, in.member, err = userOption(data, "user"); err != nil {
		return in, err
	}
	if in.reason, err = readReason(data); err != nil {
		return in, err
	}
	in.points = 1
	if p, ok := data.OptInt("points"); ok {
		if p < minWarnPoints || p > maxWarnPoints {
			return in, userErrorf("Points must be %d to %d.", minWarnPoints, maxWarnPoints)
		}
		in.points = p
	}
	expires, given := data.OptString("expires")
	in.expiresAt, err = warnExpiry(expires, given, mc)
	return in, err
}

// warnExpiry works out when a warning stops counting: at the duration s
// if given ("never" included), else after the guild's default, where 0
// means never. A zero time is never.
func warnExpiry(s string, given bool, mc *modContext) (time.Time, error) {
	if given {
		d, never, err := ParseDuration(s)
		if err != nil || never {
			return time.Time{}, err
		}
		return mc.now.Add(d), nil
	}
	if mc.settings.WarningExpiry > 0 {
		return mc.now.Add(mc.settings.WarningExpiry), nil
	}
	return time.Time{}, nil
}

// warnDM is the message that tells a member about their warning. It names
// the moderator only where the server chose to show names, since a named
// moderator can become a target of harassment.
func (h *handlers) warnDM(ctx context.Context, mc *modContext, c storage.Case, moderator string) discord.MessageCreate {
	by := "a moderator"
	if mc.settings.ShowModeratorNames {
		by = escapeMarkdown(moderator)
	}
	expires := "Never"
	if !c.ExpiresAt.IsZero() {
		expires = discordTime(c.ExpiresAt)
	}
	embed := discord.Embed{
		Title:       "You received a warning in " + escapeMarkdown(h.discord.guildName(ctx, mc.guildID)),
		Description: "**Reason:** " + escapeMarkdown(c.Reason),
		Color:       kindColor(c.Kind),
		Timestamp:   &c.CreatedAt,
		Fields: []discord.EmbedField{
			{Name: "Case", Value: fmt.Sprintf("#%d", c.Number), Inline: boolPtr(true)},
			{Name: "Points", Value: fmt.Sprint(c.Points), Inline: boolPtr(true)},
			{Name: "Expires", Value: expires, Inline: boolPtr(true)},
			{Name: "Warned by", Value: by, Inline: boolPtr(true)},
		},
		Footer: &discord.EmbedFooter{Text: "Use /mywarnings in the server to see your warnings."},
	}
	return discord.MessageCreate{Embeds: []discord.Embed{fitEmbed(embed)}}
}
