package bot

import (
	"context"
	"log/slog"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"

	"github.com/modbot/bot/storage"
)

// untimeoutCommand defines /untimeout: a moderator lifts a member's timeout
// before it ends. Who may use it is as for /timeout.
func (b *Bot) untimeoutCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "untimeout",
			Description: "Lift a member's timeout before it ends",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member whose timeout to lift", Required: true},
				reasonOption("Why; the member sees this"),
			},
		},
		BotPermissions: discord.PermissionModerateMembers | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
		Route: func(r handler.Router) {
			r.SlashCommand("/untimeout", b.deferred("untimeout", b.handleUntimeout))
		},
	}
}

func (b *Bot) handleUntimeout(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := b.moderatorContext(ctx, e, "untimeout")
	if err != nil {
		return "", nil, err
	}
	user, member, err := userOption(data, "user")
	if err != nil {
		return "", nil, err
	}
	reason, err := readReason(data)
	if err != nil {
		return "", nil, err
	}
	target := targetFrom(user.ID, member)
	if err := b.checkAction(ctx, e, mc, target, storage.CaseUntimeout); err != nil {
		return "", nil, err
	}
	// The interaction's member says whether a timeout is running; lifting
	// none would record a case for nothing.
	if member == nil {
		return "", nil, &UserError{"They are not a member of this server."}
	}
	if until := member.CommunicationDisabledUntil; until == nil || !until.After(mc.now) {
		return "", nil, &UserError{"They are not timed out."}
	}
	a := mc.moderatorAction(e, storage.CaseUntimeout, user, reason)
	a.isMember = true
	res, err := b.enforce(ctx, log, a)
	if err != nil {
		return "", nil, err
	}
	return actionReply(storage.CaseUntimeout, res), nil, nil
}
