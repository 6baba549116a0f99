package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// warnCommand defines /warn. Not implemented yet: it registers the definition only.
func (b *Bot) warnCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "warn",
			Description: "Warn a member",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
