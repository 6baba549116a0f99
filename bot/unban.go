package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/json"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// unbanCommand defines /unban: lifts a ban, and cancels the scheduled end
// of a temporary one. A banned user is not in the server, so Discord's user
// picker cannot offer them: the option takes an ID or a mention as text.
func (b *Bot) unbanCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:                     "unban",
			Description:              "Lift a ban",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionBanMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionString{Name: "user", Description: "The banned user's ID (or a mention)",
					Required: true, MaxLength: new(40)},
				reasonOption("Why the ban is lifted"),
			},
		},
		BotPermissions: discord.PermissionBanMembers | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
		Route: func(r handler.Router) {
			r.SlashCommand("/unban", b.deferred("unban", b.handleUnban))
		},
	}
}

func (b *Bot) handleUnban(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := b.permissionContext(ctx, e, "unban", discord.PermissionBanMembers)
	if err != nil {
		return "", nil, err
	}
	id, err := ParseSnowflake(data.String("user"))
	if err != nil {
		return "", nil, err
	}
	reason, err := readReason(data)
	if err != nil {
		return "", nil, err
	}
	target := Target{UserID: id}
	if err := b.checkAction(ctx, e, mc, target, storage.CaseUnban); err != nil {
		return "", nil, err
	}
	user, err := b.userByID(ctx, log, id)
	if err != nil {
		return "", nil, err
	}
	res, err := b.enforce(ctx, log, mc.moderatorAction(e, storage.CaseUnban, user, reason))
	if err != nil && !errors.Is(err, errNotBanned) {
		// The ban stands, so its scheduled end must stay.
		return "", nil, err
	}
	// Whether the ban was lifted now or by hand before, no timed unban may
	// stay pending: it would act on a later ban.
	cancelled, cerr := b.opts.Stores.Schedule.Cancel(ctx, mc.guild, id.String(), storage.ActionUnban, mc.now)
	if cerr != nil {
		log.Error("could not cancel a scheduled unban", errAttr(cerr))
	}
	if err != nil {
		return "", nil, err
	}
	reply := actionReply(storage.CaseUnban, res)
	switch {
	case cerr != nil:
		reply = joinLines(reply, "I couldn't cancel the scheduled end of their temporary ban; it will do nothing unless they are banned again.")
	case cancelled > 0:
		reply = joinLines(reply, "Their temporary ban's scheduled end is cancelled.")
	}
	return reply, nil, nil
}

// userByID returns the user with id, for the name a case keeps. An ID that
// is no Discord user is a *UserError; a user the bot could not look up for
// another reason is recorded under their ID.
func (b *Bot) userByID(ctx context.Context, log *slog.Logger, id snowflake.ID) (discord.User, error) {
	u, err := b.client.Rest().GetUser(id, rest.WithCtx(withoutDeadline(ctx)))
	switch {
	case err == nil:
		return *u, nil
	case discordCode(err) == codeUnknownUser:
		return discord.User{}, &UserError{"There is no Discord user with that ID."}
	}
	log.Warn("could not look up a user's name", errAttr(err))
	return discord.User{ID: id, Username: fmt.Sprintf("user %s", id)}, nil
}
