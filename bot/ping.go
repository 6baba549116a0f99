package bot

import (
	"fmt"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// pingCommand proves the whole path: gateway in, handler, REST out.
func (b *Bot) pingCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "ping",
			Description: "Check that the bot is alive: latency, uptime and version",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
		},
		BotPermissions: discord.PermissionSendMessages,
		Route: func(r handler.Router) {
			r.SlashCommand("/ping", b.handlePing)
		},
	}
}

func (b *Bot) handlePing(data discord.SlashCommandInteractionData, e *handler.CommandEvent) error {
	now := b.opts.Now()
	// The interaction's ID encodes when Discord created it, so the gap to
	// now is how long it took to reach the bot over the gateway.
	latency := now.Sub(e.ID().Time())
	if latency < 0 {
		latency = 0
	}
	uptime := now.Sub(b.started).Truncate(time.Second)
	return b.reply(e, fmt.Sprintf("Pong! Gateway latency %s, up %s, version %s.",
		latency.Round(time.Millisecond), uptime, b.opts.Version), true)
}
