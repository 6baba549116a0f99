package bot

import (
	"fmt"
	"slices"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// myWarningsShown caps the warnings /mywarnings lists. Ten entries of at most
// about 600 characters each (no revocations here) stay under the 6,000 an
// embed may hold; a member with more is told how many are left out.
const myWarningsShown = 10

// mywarningsCommand defines /mywarnings: any member's view of their own
// active warnings. Notes are moderators' private records and never show
// here, and moderators stay anonymous unless the server chose otherwise
// (/config moderator-names).
func mywarningsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "mywarnings",
			Description: "See your own active warnings in this server",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
	}
}

func (h *handlers) handleMyWarnings(e *event, _ discord.SlashCommandInteractionData) error {
	mc, err := h.guildContext(e.ctx, e)
	if err != nil {
		return err
	}
	me := mc.actor.UserID.String()
	cases, err := h.stores.Cases.ListForUser(e.ctx, mc.guild, me, false, mc.now)
	if err != nil {
		return err
	}
	points := activePoints(cases, mc.now)
	warnings := onlyWarnings(cases)
	slices.Reverse(warnings)

	embed := discord.Embed{Title: "Your active warnings", Color: kindColor(storage.CaseWarning)}
	if len(warnings) == 0 {
		embed.Description = "You have no active warnings in this server."
	} else {
		embed.Description = fmt.Sprintf("You have %s in this server, worth %s in total.",
			plural(int64(len(warnings)), "active warning"), plural(int64(points), "point"))
	}
	if len(warnings) > myWarningsShown {
		embed.Description += fmt.Sprintf("\nShowing the %d most recent; %d older ones are not listed.",
			myWarningsShown, len(warnings)-myWarningsShown)
		warnings = warnings[:myWarningsShown]
	}
	for _, c := range warnings {
		embed.Fields = append(embed.Fields, caseField(c, mc.now, mc.settings.ShowModeratorNames))
	}
	return e.createMessage(discord.MessageCreate{
		Embeds:          []discord.Embed{embed},
		Flags:           discord.MessageFlagEphemeral,
		AllowedMentions: noMentions(),
	})
}
