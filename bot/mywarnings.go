package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// mywarningsCommand defines /mywarnings. Not implemented yet: it registers the definition only.
func (b *Bot) mywarningsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "mywarnings",
			Description: "See your own active warnings",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
