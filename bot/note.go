package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// noteCommand defines /note: a private record about a user, for moderators
// only. A note is a case of its own kind so that it shows in the user's
// history beside their warnings, but it is never DMed and carries no points.
func noteCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "note",
			Description: "Add a private moderator note about a user (never sent to them)",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The user; they need not be a member", Required: true},
				discord.ApplicationCommandOptionString{Name: "text", Description: "The note; only moderators see it",
					Required: true, MinLength: new(1), MaxLength: new(maxNote)},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

func (h *handlers) handleNote(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := h.moderatorContext(ctx, e, "note")
	if err != nil {
		return "", nil, err
	}
	user, member, err := userOption(data, "user")
	if err != nil {
		return "", nil, err
	}
	text, err := CleanText(data.String("text"), "note", 1, maxNote)
	if err != nil {
		return "", nil, err
	}
	// Users who are not members are allowed: a note on someone who left, or
	// on a raider before they join, is what notes are for.
	if err := CheckTarget(mc.actor, targetFrom(user.ID, member), mc.facts, "add a note to"); err != nil {
		return "", nil, err
	}
	c, err := h.stores.Cases.Create(ctx, storage.NewCase{
		GuildID:       mc.guild,
		Kind:          storage.CaseNote,
		TargetID:      user.ID.String(),
		TargetName:    user.Username,
		ModeratorID:   mc.actor.UserID.String(),
		ModeratorName: invokerName(e),
		Reason:        text,
		CreatedAt:     mc.now,
	})
	if err != nil {
		return "", nil, fmt.Errorf("store the note: %w", err)
	}
	log.Info("note recorded", slog.Int64("case", c.Number))

	// The modlog is a moderators' channel, so the note goes there like any
	// case; the member is never told.
	modlog := h.discord.postCaseModlog(ctx, log, mc.settings, c.Number, caseEmbed(c))
	head := fmt.Sprintf("Noted on <@%s> (%s): case #%d. Notes are never sent to the user and carry no points.",
		c.TargetID, escapeMarkdown(c.TargetName), c.Number)
	return joinLines(head, modlog), nil, nil
}
