package bot

import (
	"context"
	"fmt"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// guildFacts gathers what the permission rules need about a guild: its
// owner, its roles and their positions, and its moderator roles. It reads
// the gateway cache and falls back to REST for a guild the cache lacks.
func (b *Bot) guildFacts(ctx context.Context, guildID snowflake.ID, settings storage.GuildSettings) (GuildFacts, error) {
	mods := make([]snowflake.ID, 0, len(settings.ModeratorRoleIDs))
	for _, r := range settings.ModeratorRoleIDs {
		if id, err := snowflake.Parse(r); err == nil {
			mods = append(mods, id)
		}
	}
	caches := b.client.Caches()
	if g, ok := caches.Guild(guildID); ok && caches.RolesLen(guildID) > 0 {
		var roles []discord.Role
		caches.RolesForEach(guildID, func(r discord.Role) { roles = append(roles, r) })
		return guildFactsFrom(g.OwnerID, b.client.ID(), roles, mods), nil
	}
	g, err := b.client.Rest().GetGuild(guildID, false, rest.WithCtx(withoutDeadline(ctx)))
	if err != nil {
		return GuildFacts{}, fmt.Errorf("fetch guild %s: %w", guildID, err)
	}
	return guildFactsFrom(g.OwnerID, b.client.ID(), g.Roles, mods), nil
}

// botFacts returns the bot's own permissions and roles in a guild. The
// permissions come from the interaction's app_permissions, which Discord
// computes for the channel at hand, so they are never stale; the roles come
// from the gateway cache, or REST when the cache lacks the bot's member.
func (b *Bot) botFacts(ctx context.Context, guildID snowflake.ID, appPerms *discord.Permissions) (BotFacts, error) {
	var perms discord.Permissions
	if appPerms != nil {
		perms = *appPerms
	}
	if m, ok := b.client.Caches().SelfMember(guildID); ok {
		return botFactsFrom(perms, m), nil
	}
	m, err := b.client.Rest().GetMember(guildID, b.client.ID(), rest.WithCtx(withoutDeadline(ctx)))
	if err != nil {
		return BotFacts{}, fmt.Errorf("fetch the bot's own member in guild %s: %w", guildID, err)
	}
	return botFactsFrom(perms, *m), nil
}
