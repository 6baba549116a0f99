package bot

import (
	"context"
	"log/slog"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/json"

	"github.com/modbot/bot/storage"
)

// kickCommand defines /kick: removes a member from the server; they can
// rejoin with an invite. It needs Kick Members, which the default member
// permission mirrors; the handler checks again, since an admin can change
// who sees the command.
func (b *Bot) kickCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:                     "kick",
			Description:              "Remove a member from the server; they can rejoin with an invite",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionKickMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member to kick", Required: true},
				reasonOption("Why; the member sees this"),
			},
		},
		BotPermissions: discord.PermissionKickMembers | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
		Route: func(r handler.Router) {
			r.SlashCommand("/kick", b.deferred("kick", b.handleKick))
		},
	}
}

func (b *Bot) handleKick(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := b.permissionContext(ctx, e, "kick", discord.PermissionKickMembers)
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
	if err := b.checkAction(ctx, e, mc, targetFrom(user.ID, member), storage.CaseKick); err != nil {
		return "", nil, err
	}
	if member == nil {
		return "", nil, &UserError{"They are not a member of this server, so there is no one to kick."}
	}
	a := mc.moderatorAction(e, storage.CaseKick, user, reason)
	a.isMember = true
	res, err := b.enforce(ctx, log, a)
	if err != nil {
		return "", nil, err
	}
	return actionReply(storage.CaseKick, res), nil, nil
}
