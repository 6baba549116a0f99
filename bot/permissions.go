package bot

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// The rules here decide who may act on whom. They take plain values rather
// than disgo's types so that every rule can be table-tested without a gateway
// or a cache; the small adapters at the end of the file build those values
// from what an interaction carries.
//
// Discord's own default command permissions are not enough: a server admin
// can override them per command, so each handler checks again here.

// Actor is the member who invoked a command.
type Actor struct {
	// UserID is the member's user ID.
	UserID snowflake.ID
	// Permissions are the member's effective permissions, as the interaction
	// reports them.
	Permissions discord.Permissions
	// RoleIDs are the member's roles, without @everyone. The highest of them
	// is found through GuildFacts.Roles, so that ties in position are broken
	// the way Discord breaks them.
	RoleIDs []snowflake.ID
}

// Target is the user a command acts on.
type Target struct {
	// UserID is the target's user ID.
	UserID snowflake.ID
	// IsMember is false when the user is not in the server (left, or never
	// joined): such a user has no roles, so no role check applies.
	IsMember bool
	// RoleIDs are the target's roles, without @everyone.
	RoleIDs []snowflake.ID
	// Permissions are the target's effective permissions. They matter only
	// for timeouts, which Discord refuses for administrators.
	Permissions discord.Permissions
}

// BotFacts is what the bot itself holds in the guild.
type BotFacts struct {
	// Permissions are the bot's effective permissions (the interaction's
	// app_permissions).
	Permissions discord.Permissions
	// RoleIDs are the bot's roles, including its managed integration role.
	RoleIDs []snowflake.ID
}

// RoleFacts is what the checks need to know of a role.
type RoleFacts struct {
	// Position is the role's place in Server Settings → Roles; higher is
	// more powerful.
	Position int
	// Name is shown in refusals, so a moderator knows which role to move.
	Name string
}

// GuildFacts is what the checks need to know of the guild.
type GuildFacts struct {
	// OwnerID is the server owner, whom no one may act on.
	OwnerID snowflake.ID
	// BotID is the bot's own user ID.
	BotID snowflake.ID
	// ModRoleIDs are the roles configured as moderators for this bot; they
	// grant moderation even without the Moderate Members permission.
	ModRoleIDs []snowflake.ID
	// Roles holds every role of the guild by ID.
	Roles map[snowflake.ID]RoleFacts
}

// IsModerator reports whether a may use the moderation commands: it has
// Moderate Members or Administrator, holds one of the guild's moderator
// roles, or owns the server.
func IsModerator(a Actor, g GuildFacts) bool {
	if a.UserID == g.OwnerID || hasPermissions(a.Permissions, discord.PermissionModerateMembers) {
		return true
	}
	for _, id := range a.RoleIDs {
		if slices.Contains(g.ModRoleIDs, id) {
			return true
		}
	}
	return false
}

// CanManageGuild reports whether a may change the bot's settings for the
// guild: it has Manage Server or Administrator. The owner passes too, since
// Discord reports every permission for the owner.
func CanManageGuild(a Actor) bool {
	return hasPermissions(a.Permissions, discord.PermissionManageGuild)
}

// CheckTarget reports whether actor may act on target. It returns nil, or a
// *UserError whose message says why not. verb completes "You can't … the
// server owner", so it is a phrase such as "warn", "time out", "kick",
// "ban" or "add a note to".
//
// No one may act on themselves, the bot, or the server owner. The owner may
// act on anyone else; any other actor only on a member whose highest role is
// strictly below their own. A target who is not a member has no roles, so the
// role check is skipped: banning someone who already left must work.
func CheckTarget(actor Actor, target Target, g GuildFacts, verb string) error {
	switch {
	case target.UserID == actor.UserID:
		return userErrorf("You can't %s yourself.", verb)
	case target.UserID == g.BotID:
		return userErrorf("You can't %s the bot.", verb)
	case target.UserID == g.OwnerID:
		return userErrorf("You can't %s the server owner.", verb)
	case actor.UserID == g.OwnerID, !target.IsMember:
		return nil
	}
	theirs, ok := topRole(target.RoleIDs, g)
	if !ok {
		return errUnknownRole
	}
	// The actor's unknown roles are ignored: that can only make the actor
	// rank lower, which refuses rather than allows.
	mine, _ := topRole(actor.RoleIDs, g)
	if !mine.above(theirs) {
		return userErrorf("You can't %s someone whose highest role (%s) is not below yours.", verb, theirs)
	}
	return nil
}

// CheckBot reports whether the bot itself can carry out an action on target
// that needs the permissions need (for example Ban Members). It returns nil,
// or a *UserError that names what is missing and how to fix it. verb is as
// for CheckTarget.
//
// Discord lets the bot act only on members whose highest role is strictly
// below the bot's own, never on the owner, and never times out an
// administrator. A target who is not a member has no roles, so only the
// permissions are checked.
func CheckBot(bot BotFacts, target Target, need discord.Permissions, g GuildFacts, verb string) error {
	if missing := missingPermissions(bot.Permissions, need); missing != 0 {
		noun, it := "permission", "it"
		if bits.OnesCount64(uint64(missing)) > 1 {
			noun, it = "permissions", "them"
		}
		return userErrorf("I need the %s %s to %s. A server admin can give %s to my role in Server Settings → Roles.",
			PermissionNames(missing), noun, verb, it)
	}
	switch {
	case target.UserID == g.BotID:
		return &UserError{"I can't act on myself."}
	case target.UserID == g.OwnerID:
		return userErrorf("I can't %s the server owner: Discord doesn't allow it.", verb)
	case !target.IsMember:
		return nil
	case need.Has(discord.PermissionModerateMembers) && target.Permissions.Has(discord.PermissionAdministrator):
		return userErrorf("I can't %s someone with the Administrator permission: Discord doesn't allow it.", verb)
	}
	theirs, ok := topRole(target.RoleIDs, g)
	if !ok {
		return errUnknownRole
	}
	mine, _ := topRole(bot.RoleIDs, g)
	if !mine.above(theirs) {
		return userErrorf("I can't %s them: their highest role (%s) is not below mine. Move my role above %s in Server Settings → Roles.",
			verb, theirs, theirs)
	}
	return nil
}

// errUnknownRole refuses when the target holds a role the bot has not seen
// (it was created a moment ago, or the cache is still filling). Ranking it
// low could let a moderator act on someone above them, so the check fails
// closed and asks for a retry.
var errUnknownRole = &UserError{"I can't see all of that member's roles yet, so I can't tell whose role ranks higher. Try again in a minute."}

// hasPermissions reports whether p grants every permission in need.
// Administrator grants all of them, as it does in Discord.
func hasPermissions(p, need discord.Permissions) bool {
	return missingPermissions(p, need) == 0
}

// missingPermissions returns the permissions of need that p lacks.
func missingPermissions(p, need discord.Permissions) discord.Permissions {
	if p.Has(discord.PermissionAdministrator) {
		return 0
	}
	return need &^ p
}

// permissionLabels holds the names of the permissions the bot asks for, as
// Server Settings → Roles shows them, so an admin can find the switch.
// Discord's client labels Moderate Members "Timeout Members".
var permissionLabels = map[discord.Permissions]string{
	discord.PermissionAdministrator:      "Administrator",
	discord.PermissionModerateMembers:    "Timeout Members",
	discord.PermissionKickMembers:        "Kick Members",
	discord.PermissionBanMembers:         "Ban Members",
	discord.PermissionManageGuild:        "Manage Server",
	discord.PermissionViewChannel:        "View Channels",
	discord.PermissionSendMessages:       "Send Messages",
	discord.PermissionEmbedLinks:         "Embed Links",
	discord.PermissionManageMessages:     "Manage Messages",
	discord.PermissionReadMessageHistory: "Read Message History",
}

// PermissionNames names the permissions in p for people, in Discord's bit
// order: "Ban Members", "Kick Members and Ban Members", "A, B and C".
// Permissions outside the bot's table fall back to disgo's names; no
// permissions give "".
func PermissionNames(p discord.Permissions) string {
	var names []string
	for left := uint64(p); left != 0; left &= left - 1 {
		bit := discord.Permissions(left & -left)
		name, ok := permissionLabels[bit]
		if !ok {
			name = bit.String()
		}
		names = append(names, name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// roleRank is a member's highest role. The zero value stands for @everyone
// alone, which is below every other role.
type roleRank struct {
	id       snowflake.ID
	position int
	name     string
	has      bool
}

// String names the role as a mention-like text; replies never ping, but a
// literal name stays readable in the ephemeral message and in logs.
func (r roleRank) String() string {
	if !r.has {
		return "@everyone"
	}
	return "@" + r.name
}

// above reports whether r is strictly higher than o. Discord allows equal
// positions and orders such roles by ID, the older (lower) ID ranking
// higher; discord.js and twilight compare the same way.
func (r roleRank) above(o roleRank) bool {
	switch {
	case !r.has:
		return false
	case !o.has:
		return true
	case r.position != o.position:
		return r.position > o.position
	}
	return r.id < o.id
}

// topRole returns the highest of ids. ok is false if any of them is not in
// g.Roles; the rank is then built from the known ones.
func topRole(ids []snowflake.ID, g GuildFacts) (top roleRank, ok bool) {
	ok = true
	for _, id := range ids {
		f, known := g.Roles[id]
		if !known {
			ok = false
			continue
		}
		r := roleRank{id: id, position: f.Position, name: f.Name, has: true}
		if r.above(top) {
			top = r
		}
	}
	return top, ok
}

// actorFrom builds an Actor from the member that invoked an interaction.
func actorFrom(m discord.ResolvedMember) Actor {
	return Actor{UserID: m.User.ID, Permissions: m.Permissions, RoleIDs: m.RoleIDs}
}

// targetFrom builds a Target from a user option: m is the resolved member,
// or nil when the user is not in the server.
func targetFrom(userID snowflake.ID, m *discord.ResolvedMember) Target {
	if m == nil {
		return Target{UserID: userID}
	}
	return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs, Permissions: m.Permissions}
}

// botFactsFrom builds BotFacts from the interaction's app_permissions and
// the bot's own member (from the cache).
func botFactsFrom(perms discord.Permissions, self discord.Member) BotFacts {
	return BotFacts{Permissions: perms, RoleIDs: self.RoleIDs}
}

// guildFactsFrom builds GuildFacts from the guild's roles (from the cache)
// and the bot's settings for it.
func guildFactsFrom(ownerID, botID snowflake.ID, roles []discord.Role, modRoleIDs []snowflake.ID) GuildFacts {
	g := GuildFacts{OwnerID: ownerID, BotID: botID, ModRoleIDs: modRoleIDs, Roles: make(map[snowflake.ID]RoleFacts, len(roles))}
	for _, r := range roles {
		g.Roles[r.ID] = RoleFacts{Position: r.Position, Name: r.Name}
	}
	return g
}
