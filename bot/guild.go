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
