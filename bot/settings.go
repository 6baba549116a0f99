package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// configCommand defines /config. Not implemented yet: it registers the definition only.
func (b *Bot) configCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "config",
			Description: "Show or change this server's moderation settings",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
