package conn

import (
	disgobot "github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/snowflake/v2"
)

// OnGuildChange sets the function told that the bot is in a guild (present:
// every GUILD_CREATE, at each start, on being added, and after an outage)
// or has left one (a GUILD_DELETE that is not an outage: the bot was
// removed, or the guild deleted). An outage (GUILD_DELETE with unavailable)
// is not reported: the guild comes back by itself. f is called on the
// gateway's reader, in the order of the events, so it must return quickly.
// Set it once, before Open.
func (c *Client) OnGuildChange(f func(guildID snowflake.ID, present bool)) {
	c.client.AddEventListeners(
		disgobot.NewListenerFunc(func(e *events.GuildReady) { f(e.GuildID, true) }),
		disgobot.NewListenerFunc(func(e *events.GuildJoin) { f(e.GuildID, true) }),
		disgobot.NewListenerFunc(func(e *events.GuildAvailable) { f(e.GuildID, true) }),
		disgobot.NewListenerFunc(func(e *events.GuildLeave) { f(e.GuildID, false) }),
	)
}

// OnGuildReady sets the function told of each guild Discord sends after
// READY, that is, each time the bot starts a new gateway session
// (IDENTIFY): events sent to the session before, or while no session
// existed, are lost, and f may look for what they would have said. A
// resumed session sends no such guild, since Discord replays what the bot
// missed instead. f is called on the gateway's reader, after the guild is
// in the cache, so it must return quickly. Set it once, before Open.
func (c *Client) OnGuildReady(f func(guildID snowflake.ID)) {
	c.client.AddEventListeners(disgobot.NewListenerFunc(func(e *events.GuildReady) { f(e.GuildID) }))
}
