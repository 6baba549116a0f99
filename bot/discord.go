package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
)

// REST is the part of Discord's REST API the bot calls. rest.Rest
// implements it; tests may record calls instead. Contexts passed in may
// carry deadlines: the connection turns them into cancellations.
type REST interface {
	responder
	CreateDMChannel(userID snowflake.ID, opts ...rest.RequestOpt) (*discord.DMChannel, error)
	CreateMessage(channelID snowflake.ID, msg discord.MessageCreate, opts ...rest.RequestOpt) (*discord.Message, error)
	DeleteMessage(channelID, messageID snowflake.ID, opts ...rest.RequestOpt) error
	GetGuild(guildID snowflake.ID, withCounts bool, opts ...rest.RequestOpt) (*discord.RestGuild, error)
	GetMember(guildID, userID snowflake.ID, opts ...rest.RequestOpt) (*discord.Member, error)
	GetUser(userID snowflake.ID, opts ...rest.RequestOpt) (*discord.User, error)
	UpdateMember(guildID, userID snowflake.ID, update discord.MemberUpdate, opts ...rest.RequestOpt) (*discord.Member, error)
	RemoveMember(guildID, userID snowflake.ID, opts ...rest.RequestOpt) error
	AddBan(guildID, userID snowflake.ID, deleteMessages time.Duration, opts ...rest.RequestOpt) error
	DeleteBan(guildID, userID snowflake.ID, opts ...rest.RequestOpt) error
	GetAuditLog(guildID, userID snowflake.ID, actionType discord.AuditLogEvent, before, after snowflake.ID, limit int, opts ...rest.RequestOpt) (*discord.AuditLog, error)
	SetGlobalCommands(applicationID snowflake.ID, commands []discord.ApplicationCommandCreate, opts ...rest.RequestOpt) ([]discord.ApplicationCommand, error)
	SetGuildCommands(applicationID, guildID snowflake.ID, commands []discord.ApplicationCommandCreate, opts ...rest.RequestOpt) ([]discord.ApplicationCommand, error)
	Do(endpoint *rest.CompiledEndpoint, rqBody, rsBody any, opts ...rest.RequestOpt) error
}

// Cache is what the gateway told the bot about its guilds. cache.Caches
// implements it.
type Cache interface {
	Guild(guildID snowflake.ID) (discord.Guild, bool)
	RolesLen(guildID snowflake.ID) int
	RolesForEach(guildID snowflake.ID, fn func(discord.Role))
	Member(guildID, userID snowflake.ID) (discord.Member, bool)
	SelfMember(guildID snowflake.ID) (discord.Member, bool)
	SelfUser() (discord.OAuth2User, bool)
	// UnreadyGuildIDs lists the guilds a new session's READY announced
	// that have not arrived yet.
	UnreadyGuildIDs() []snowflake.ID
}

// discordAPI is how the handlers and the scheduler reach Discord: the REST
// calls they make and the cache they read, with the bot's refusals turned
// into advice. It holds no state of its own.
type discordAPI struct {
	rest  REST
	cache Cache
	botID func() snowflake.ID
	log   *slog.Logger
	// modlog records the modlog posts about cases; nil records none.
	// modlogQueue gathers them, so that many share one commit.
	modlog      ModlogStore
	modlogQueue *modlogQueue
	// obs is told of DMs that fail; nil tells no one.
	obs Observer
}

// guildFacts gathers what the permission rules need about a guild: its
// owner, its roles and their positions, and its moderator roles. It reads
// the gateway cache and falls back to REST for a guild the cache lacks.
func (d *discordAPI) guildFacts(ctx context.Context, guildID snowflake.ID, modRoles []string) (GuildFacts, error) {
	mods := make([]snowflake.ID, 0, len(modRoles))
	for _, r := range modRoles {
		if id, err := snowflake.Parse(r); err == nil {
			mods = append(mods, id)
		}
	}
	if g, ok := d.cache.Guild(guildID); ok && d.cache.RolesLen(guildID) > 0 {
		var roles []discord.Role
		d.cache.RolesForEach(guildID, func(r discord.Role) { roles = append(roles, r) })
		return guildFactsFrom(g.OwnerID, d.botID(), roles, mods), nil
	}
	g, err := d.rest.GetGuild(guildID, false, rest.WithCtx(ctx))
	if err != nil {
		return GuildFacts{}, fmt.Errorf("fetch guild %s: %w", guildID, err)
	}
	return guildFactsFrom(g.OwnerID, d.botID(), g.Roles, mods), nil
}

// botFacts returns the bot's own permissions and roles in a guild. The
// permissions come from the interaction's app_permissions, which Discord
// computes for the channel at hand, so they are never stale; the roles come
// from the gateway cache, or REST when the cache lacks the bot's member.
func (d *discordAPI) botFacts(ctx context.Context, guildID snowflake.ID, appPerms *discord.Permissions) (BotFacts, error) {
	var perms discord.Permissions
	if appPerms != nil {
		perms = *appPerms
	}
	if m, ok := d.cache.SelfMember(guildID); ok {
		return botFactsFrom(perms, m), nil
	}
	m, err := d.rest.GetMember(guildID, d.botID(), rest.WithCtx(ctx))
	if err != nil {
		return BotFacts{}, fmt.Errorf("fetch the bot's own member in guild %s: %w", guildID, err)
	}
	return botFactsFrom(perms, *m), nil
}

// memberTarget builds the Target of a case's user for the permission check.
// The gateway cache holds few members (the bot does not ask for the
// privileged members intent), so it asks REST; a user who left is a target
// without roles, as CheckTarget expects.
func (d *discordAPI) memberTarget(ctx context.Context, guildID, userID snowflake.ID) (Target, error) {
	if m, ok := d.cache.Member(guildID, userID); ok {
		return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs}, nil
	}
	m, err := d.rest.GetMember(guildID, userID, rest.WithCtx(ctx))
	switch {
	case err == nil:
		return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs}, nil
	case resterr.Code(err) == codeUnknownMember || resterr.Code(err) == codeUnknownUser:
		return Target{UserID: userID}, nil
	}
	// The user ID stays out of the error, which is logged: it may be one
	// decrypted from a case.
	return Target{}, fmt.Errorf("fetch the member a case is about: %w", err)
}

// guildName names a guild for a DM, where the member may not know which
// server the message is about. It reads the gateway cache, then REST.
func (d *discordAPI) guildName(ctx context.Context, guildID snowflake.ID) string {
	if g, ok := d.cache.Guild(guildID); ok && g.Name != "" {
		return g.Name
	}
	g, err := d.rest.GetGuild(guildID, false, rest.WithCtx(ctx))
	if err != nil {
		d.log.Warn("could not fetch the guild's name", slog.String("guild", guildID.String()), errAttr(err))
		return "a server"
	}
	return g.Name
}

// userByID returns the user with id, for the name a case keeps. An ID that
// is no Discord user is a *UserError; a user the bot could not look up for
// another reason is recorded under their ID.
func (d *discordAPI) userByID(ctx context.Context, log *slog.Logger, id snowflake.ID) (discord.User, error) {
	u, err := d.rest.GetUser(id, rest.WithCtx(ctx))
	switch {
	case err == nil:
		return *u, nil
	case resterr.Code(err) == codeUnknownUser:
		return discord.User{}, &UserError{"There is no Discord user with that ID."}
	}
	log.Warn("could not look up a user's name", errAttr(err))
	return discord.User{ID: id, Username: fmt.Sprintf("user %s", id)}, nil
}

// selfName is the bot's username, recorded as the moderator of the cases
// it makes itself.
func (d *discordAPI) selfName() string {
	if u, ok := d.cache.SelfUser(); ok && u.Username != "" {
		return u.Username
	}
	return "bot"
}
