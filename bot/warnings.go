package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// warningsCommand defines /warnings. Not implemented yet: it registers the definition only.
func (b *Bot) warningsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "warnings",
			Description: "List a member's warnings",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
