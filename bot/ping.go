package bot

import (
	"fmt"
	"time"

	"github.com/disgoorg/disgo/discord"
)

// pingCommand proves the whole path: gateway in, handler, REST out.
func pingCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "ping",
			Description: "Check that the bot is alive: latency, uptime and version",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		BotPermissions: discord.PermissionSendMessages,
	}
}

func (h *handlers) handlePing(e *event, data discord.SlashCommandInteractionData) error {
	now := h.now()
	// The interaction's ID encodes when Discord created it, so the gap to
	// now is how long it took to reach the bot over the gateway.
	latency := now.Sub(e.ID().Time())
	if latency < 0 {
		latency = 0
	}
	uptime := now.Sub(h.started).Truncate(time.Second)
	return e.reply(fmt.Sprintf("Pong! Gateway latency %s, up %s, version %s.",
		latency.Round(time.Millisecond), uptime, h.version), true)
}
