package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// unwarnCommand defines /unwarn. Not implemented yet: it registers the definition only.
func (b *Bot) unwarnCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "unwarn",
			Description: "Revoke a warning",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
