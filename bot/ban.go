package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/json"

	"github.com/modbot/bot/storage"
)

// banDeleteChoices are the choices of /ban's delete_messages option: how
// much of the user's recent message history Discord deletes with the ban.
// Discord allows at most 7 days.
var banDeleteChoices = []struct {
	name, value string
	d           time.Duration
}{
	{"none", "none", 0},
	{"1 hour", "1h", time.Hour},
	{"1 day", "1d", 24 * time.Hour},
	{"7 days", "7d", 7 * 24 * time.Hour},
}

// banCommand defines /ban: bans a user, member or not, optionally deleting
// their recent messages. With a duration the ban is temporary: the
// scheduler lifts it when it ends, even across restarts.
func (b *Bot) banCommand() Command {
	choices := make([]discord.ApplicationCommandOptionChoiceString, len(banDeleteChoices))
	for i, c := range banDeleteChoices {
		choices[i] = discord.ApplicationCommandOptionChoiceString{Name: c.name, Value: c.value}
	}
	return Command{
		Def: discord.SlashCommandCreate{
			Name:                     "ban",
			Description:              "Ban a user from the server, for good or for a while",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionBanMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The user to ban", Required: true},
				reasonOption("Why; the user sees this"),
				discord.ApplicationCommandOptionString{Name: "delete_messages", Description: "Delete their messages from the last… (default: none)",
					Choices: choices},
				discord.ApplicationCommandOptionString{Name: "duration", Description: "Lift the ban after, such as 7d or 2w (default: never)",
					MaxLength: new(40)},
			},
		},
		BotPermissions: discord.PermissionBanMembers | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
		Route: func(r handler.Router) {
			r.SlashCommand("/ban", b.deferred("ban", b.handleBan))
		},
	}
}

func (b *Bot) handleBan(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := b.permissionContext(ctx, e, "ban", discord.PermissionBanMembers)
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
	deleteMessages, err := readDeleteMessages(data)
	if err != nil {
		return "", nil, err
	}
	var d time.Duration
	if s, ok := data.OptString("duration"); ok {
		// "never" is a permanent ban, as leaving the option out is.
		if d, _, err = ParseDuration(s); err != nil {
			return "", nil, err
		}
	}
	if err := b.checkAction(ctx, e, mc, targetFrom(user.ID, member), storage.CaseBan); err != nil {
		return "", nil, err
	}
	a := mc.moderatorAction(e, storage.CaseBan, user, reason)
	a.isMember, a.duration, a.deleteMessages = member != nil, d, deleteMessages
	res, err := b.enforce(ctx, log, a)
	if err != nil {
		return "", nil, err
	}
	return actionReply(storage.CaseBan, res), nil, nil
}

// readDeleteMessages reads /ban's delete_messages choice. Discord enforces
// the choices, but a client may send anything.
func readDeleteMessages(data discord.SlashCommandInteractionData) (time.Duration, error) {
	v, ok := data.OptString("delete_messages")
	if !ok {
		return 0, nil
	}
	for _, c := range banDeleteChoices {
		if c.value == v {
			return c.d, nil
		}
	}
	return 0, &UserError{"Choose how much of their messages to delete: none, 1 hour, 1 day or 7 days."}
}
