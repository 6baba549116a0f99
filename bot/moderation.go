package bot

import (
	"context"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// modContext is what a command knows after the common checks: the guild,
// its settings, who is asking, and the facts the permission rules need.
type modContext struct {
	guildID  snowflake.ID
	guild    string // guildID as stored
	settings storage.GuildSettings
	actor    Actor
	facts    GuildFacts
	now      time.Time
}

// guildContext gathers the guild, its settings and the invoking member of
// any interaction: a command, a button or an autocomplete. It refuses
// interactions outside a server.
func (h *handlers) guildContext(ctx context.Context, e *event) (*modContext, error) {
	gid, m := e.GuildID(), e.Member()
	if gid == nil || m == nil {
		return nil, &UserError{"This command works only in a server."}
	}
	s, err := h.stores.Settings.Get(ctx, gid.String())
	if err != nil {
		return nil, err
	}
	facts, err := h.discord.guildFacts(ctx, *gid, s.ModeratorRoleIDs)
	if err != nil {
		return nil, err
	}
	return &modContext{
		guildID:  *gid,
		guild:    gid.String(),
		settings: s,
		actor:    actorFrom(*m),
		facts:    facts,
		now:      h.now(),
	}, nil
}

// moderatorContext is guildContext for moderator-only commands.
func (h *handlers) moderatorContext(ctx context.Context, e *event, command string) (*modContext, error) {
	mc, err := h.guildContext(ctx, e)
	if err != nil {
		return nil, err
	}
	if !IsModerator(mc.actor, mc.facts) {
		return nil, notModerator(command)
	}
	return mc, nil
}

// notModerator refuses a member who is not a moderator.
func notModerator(command string) error {
	return userErrorf("Only moderators can use /%s: it needs the Timeout Members permission or one of this server's moderator roles.", command)
}

// managerContext is guildContext for commands that change the server's settings.
func (h *handlers) managerContext(ctx context.Context, e *event, command string) (*modContext, error) {
	mc, err := h.guildContext(ctx, e)
	if err != nil {
		return nil, err
	}
	if !CanManageGuild(mc.actor) {
		return nil, userErrorf("Only members with the Manage Server permission can use /%s.", command)
	}
	return mc, nil
}

// permissionContext is guildContext for the commands that need a specific
// Discord permission (Kick Members, Ban Members): a moderator role is not
// enough, since removing someone from the server is beyond what such a role
// was given in Discord. Administrator and the owner pass.
func (h *handlers) permissionContext(ctx context.Context, e *event, command string, need discord.Permissions) (*modContext, error) {
	mc, err := h.guildContext(ctx, e)
	if err != nil {
		return nil, err
	}
	if mc.actor.UserID != mc.facts.OwnerID && !hasPermissions(mc.actor.Permissions, need) {
		return nil, userErrorf("You need the %s permission to use /%s; a moderator role alone is not enough.", PermissionNames(need), command)
	}
	return mc, nil
}
