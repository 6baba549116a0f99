package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// noteCommand defines /note. Not implemented yet: it registers the definition only.
func (b *Bot) noteCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "note",
			Description: "Add a private moderator note about a user",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
