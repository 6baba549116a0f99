package bot

import (
	"context"
	"log/slog"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"

	"github.com/modbot/bot/storage"
)

// timeoutCommand defines /timeout: a moderator times a member out for up to
// Discord's 28 days. Discord lifts the timeout itself when it ends, so
// nothing is scheduled.
//
// Like /warn it sets no default member permissions: members who moderate
// through one of the server's moderator roles lack Timeout Members, and
// Discord would hide the command from them. The handler checks instead.
func (b *Bot) timeoutCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "timeout",
			Description: "Time a member out: they can't write, speak or react until it ends",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member to time out", Required: true},
				discord.ApplicationCommandOptionString{Name: "duration", Description: "How long, such as 10m, 12h or 7d (at most 28 days)",
					Required: true, MaxLength: new(40)},
				reasonOption("Why; the member sees this"),
			},
		},
		BotPermissions: discord.PermissionModerateMembers | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
		Route: func(r handler.Router) {
			r.SlashCommand("/timeout", b.deferred("timeout", b.handleTimeout))
		},
	}
}

func (b *Bot) handleTimeout(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := b.moderatorContext(ctx, e, "timeout")
	if err != nil {
		return "", nil, err
	}
	user, member, err := userOption(data, "user")
	if err != nil {
		return "", nil, err
	}
	d, err := ParseTimeout(data.String("duration"))
	if err != nil {
		return "", nil, err
	}
	reason, err := readReason(data)
	if err != nil {
		return "", nil, err
	}
	target := targetFrom(user.ID, member)
	if err := b.checkAction(ctx, e, mc, target, storage.CaseTimeout); err != nil {
		return "", nil, err
	}
	if member == nil {
		return "", nil, &UserError{"They are not a member of this server, so they can't be timed out."}
	}
	a := mc.moderatorAction(e, storage.CaseTimeout, user, reason)
	a.isMember, a.duration = true, d
	res, err := b.enforce(ctx, log, a)
	if err != nil {
		return "", nil, err
	}
	return actionReply(storage.CaseTimeout, res), nil, nil
}
