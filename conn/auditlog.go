package conn

import (
	disgobot "github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/gateway"
	"github.com/disgoorg/snowflake/v2"
)

// Intents are the gateway intents the Client asks for: guild events carry
// the roles and owners that permission checks need, and GUILD_MODERATION
// brings the audit-log entries of bans, kicks and timeouts taken outside
// the bot. Neither is privileged, so Discord grants both to any bot.
const Intents = gateway.IntentGuilds | gateway.IntentGuildModeration

// OnAuditLogEntry sets the function told of each new entry of a guild's
// audit log (GUILD_AUDIT_LOG_ENTRY_CREATE), which Discord sends only where
// the bot has View Audit Log. f is called on the gateway's reader, so it
// must return quickly. Set it once, before Open.
func (c *Client) OnAuditLogEntry(f func(guildID snowflake.ID, entry discord.AuditLogEntry)) {
	c.client.AddEventListeners(disgobot.NewListenerFunc(func(e *events.GuildAuditLogEntryCreate) {
		f(e.GuildID, e.AuditLogEntry)
	}))
}
