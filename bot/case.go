package bot

import (
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// caseCommand defines /case. Not implemented yet: it registers the definition only.
func (b *Bot) caseCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "case",
			Description: "View or edit a case",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		Route: func(r handler.Router) {},
	}
}
