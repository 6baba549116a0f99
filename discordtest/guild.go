package discordtest

import (
	"sort"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// DefaultBotPermissions are the bot role's permissions unless
// GuildOptions.BotPermissions says otherwise: what a moderation bot is
// usually invited with.
const DefaultBotPermissions = discord.PermissionViewChannel |
	discord.PermissionSendMessages |
	discord.PermissionEmbedLinks |
	discord.PermissionReadMessageHistory |
	discord.PermissionKickMembers |
	discord.PermissionBanMembers |
	discord.PermissionModerateMembers |
	discord.PermissionViewAuditLog

// DefaultEveryonePermissions are the @everyone role's permissions unless
// GuildOptions.EveryonePermissions says otherwise.
const DefaultEveryonePermissions = discord.PermissionViewChannel |
	discord.PermissionSendMessages |
	discord.PermissionReadMessageHistory |
	discord.PermissionUseApplicationCommands

// user is a Discord account; members of several guilds share one.
type user struct {
	id        snowflake.ID
	username  string
	bot       bool
	dmsClosed bool
}

// GuildOptions describe a guild for AddGuild. Zero values get defaults.
type GuildOptions struct {
	// Name defaults to "Test Guild".
	Name string
	// OwnerID makes an existing user (from another guild) the owner. When
	// zero, a new member named OwnerName (default "owner") is created.
	OwnerID   snowflake.ID
	OwnerName string
	// EveryonePermissions defaults to DefaultEveryonePermissions.
	EveryonePermissions *discord.Permissions
	// BotPermissions are the permissions of the bot's own role; the default
	// is DefaultBotPermissions.
	BotPermissions *discord.Permissions
	// BotRolePosition is the position of the bot's role; the default is 10.
	BotRolePosition int
	// NoBot leaves the bot out of the guild.
	NoBot bool
}

// Guild is a guild in the fake. Its ID and Name never change; everything else
// is read through methods, which are safe for concurrent use.
type Guild struct {
	ID   snowflake.ID
	Name string

	srv      *Server
	ownerID  snowflake.ID
	everyone *Role
	botRole  *Role
	roles    []*Role
	members  map[snowflake.ID]*Member
	order    []snowflake.ID // member IDs in join order
	channels []*Channel
	bans     map[snowflake.ID]ban
	created  time.Time
	auditLog []AuditLogEntry // see auditlog.go
}

type ban struct {
	reason string
}

// Role is a guild role. ID, Name and Guild never change.
type Role struct {
	ID    snowflake.ID
	Name  string
	Guild *Guild

	perms    discord.Permissions
	position int
	managed  bool
}

// Member is a user in a guild. ID, Username and Guild never change; a kicked
// or banned member keeps its identity but InGuild reports false.
type Member struct {
	ID       snowflake.ID
	Username string
	Guild    *Guild

	u        *user
	roles    []snowflake.ID
	nick     string
	joinedAt time.Time
	timeout  time.Time // zero: not timed out
	left     bool
}

// Channel is a guild text channel or a DM channel. ID, Name, Type and GuildID
// never change.
type Channel struct {
	ID      snowflake.ID
	Name    string
	Type    discord.ChannelType
	GuildID snowflake.ID

	srv       *Server
	position  int
	recipient snowflake.ID // DM channels
	deleted   bool
}

// MemberOptions describe a member for AddMember.
type MemberOptions struct {
	// Username defaults to "user<N>".
	Username string
	// ID reuses an existing user (a member of another guild) or picks the
	// ID of a new one; zero creates a new user with a fresh ID.
	ID    snowflake.ID
	Roles []*Role
	Nick  string
	Bot   bool
	// JoinedAt defaults to now.
	JoinedAt time.Time
}

// AddGuild creates a guild with an @everyone role, a #general text channel,
// an owner and, unless NoBot, the bot as a member with its own role. A bot
// already connected receives GUILD_CREATE.
func (s *Server) AddGuild(o GuildOptions) *Guild {
	if o.Name == "" {
		o.Name = "Test Guild"
	}
	id := s.newID()
	g := &Guild{ID: id, Name: o.Name, srv: s, members: map[snowflake.ID]*Member{}, bans: map[snowflake.ID]ban{}, created: time.Now()}
	everyone := DefaultEveryonePermissions
	if o.EveryonePermissions != nil {
		everyone = *o.EveryonePermissions
	}
	g.everyone = &Role{ID: id, Name: "@everyone", Guild: g, perms: everyone}
	g.roles = []*Role{g.everyone}
	g.AddTextChannel("general")
	if o.OwnerID != 0 {
		g.ownerID = o.OwnerID
		g.AddMember(MemberOptions{ID: o.OwnerID})
	} else {
		name := o.OwnerName
		if name == "" {
			name = "owner"
		}
		g.ownerID = g.AddMember(MemberOptions{Username: name}).ID
	}
	if !o.NoBot {
		perms := DefaultBotPermissions
		if o.BotPermissions != nil {
			perms = *o.BotPermissions
		}
		pos := o.BotRolePosition
		if pos == 0 {
			pos = 10
		}
		g.botRole = g.AddRole(s.botName, perms, pos)
		s.mu.Lock()
		g.botRole.managed = true
		s.mu.Unlock()
		g.AddMember(MemberOptions{ID: s.botID, Roles: []*Role{g.botRole}})
	}
	s.mu.Lock()
	s.guilds = append(s.guilds, g)
	targets := s.liveSessionsLocked()
	payloads := make([]any, len(targets))
	for i, ss := range targets {
		payloads[i] = s.guildCreatePayloadLocked(g, ss.intents)
	}
	s.bumpLocked()
	s.mu.Unlock()
	for i, ss := range targets {
		if ss.intents&intentGuilds != 0 && !o.NoBot {
			ss.dispatch("GUILD_CREATE", payloads[i])
		}
	}
	return g
}

// Guild returns the guild with the given ID.
func (s *Server) Guild(id snowflake.ID) (*Guild, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guildLocked(id)
	return g, g != nil
}

func (s *Server) guildLocked(id snowflake.ID) *Guild {
	for _, g := range s.guilds {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// AddRole adds a role with the given permissions and position (higher is
// more powerful; @everyone is 0), and dispatches GUILD_ROLE_CREATE to the
// sessions already connected, as Discord does.
func (g *Guild) AddRole(name string, perms discord.Permissions, position int) *Role {
	r := &Role{ID: g.srv.newID(), Name: name, Guild: g, perms: perms, position: position}
	g.srv.mu.Lock()
	g.roles = append(g.roles, r)
	ev := obj{"guild_id": g.ID.String(), "role": roleJSON(r)}
	g.srv.mu.Unlock()
	g.srv.broadcast("GUILD_ROLE_CREATE", intentGuilds, ev)
	return r
}

// AddMember adds a member. A user ID that is banned is still added: tests
// decide who joins.
func (g *Guild) AddMember(o MemberOptions) *Member {
	s := g.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	id := o.ID
	if id == 0 {
		id = s.newID()
	}
	u := s.users[id]
	if u == nil {
		name := o.Username
		if name == "" {
			name = "user" + id.String()[len(id.String())-4:]
		}
		u = &user{id: id, username: name, bot: o.Bot}
		s.users[id] = u
	}
	joined := o.JoinedAt
	if joined.IsZero() {
		joined = time.Now()
	}
	m := &Member{ID: id, Username: u.username, Guild: g, u: u, nick: o.Nick, joinedAt: joined}
	for _, r := range o.Roles {
		m.roles = append(m.roles, r.ID)
	}
	if _, ok := g.members[id]; !ok {
		g.order = append(g.order, id)
	}
	g.members[id] = m
	s.bumpLocked()
	return m
}

// AddTextChannel adds a text channel.
func (g *Guild) AddTextChannel(name string) *Channel {
	s := g.srv
	c := &Channel{ID: s.newID(), Name: name, Type: discord.ChannelTypeGuildText, GuildID: g.ID, srv: s}
	s.mu.Lock()
	c.position = len(g.channels)
	g.channels = append(g.channels, c)
	s.channels[c.ID] = c
	s.mu.Unlock()
	return c
}

// Everyone returns the @everyone role.
func (g *Guild) Everyone() *Role { return g.everyone }

// BotRole returns the bot's own role, or nil with GuildOptions.NoBot.
func (g *Guild) BotRole() *Role { return g.botRole }

// OwnerID returns the ID of the guild's owner.
func (g *Guild) OwnerID() snowflake.ID { return g.ownerID }

// Owner returns the owner's member.
func (g *Guild) Owner() *Member {
	m, _ := g.Member(g.ownerID)
	return m
}

// Bot returns the bot's member, if the bot is in the guild.
func (g *Guild) Bot() (*Member, bool) { return g.Member(g.srv.botID) }

// Member returns the current member with the given user ID.
func (g *Guild) Member(id snowflake.ID) (*Member, bool) {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	m, ok := g.members[id]
	return m, ok
}

// Members returns the current members in join order.
func (g *Guild) Members() []*Member {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	return g.membersLocked()
}

func (g *Guild) membersLocked() []*Member {
	out := make([]*Member, 0, len(g.members))
	for _, id := range g.order {
		if m, ok := g.members[id]; ok {
			out = append(out, m)
		}
	}
	return out
}

// Channels returns the guild's channels that are not deleted.
func (g *Guild) Channels() []*Channel {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	var out []*Channel
	for _, c := range g.channels {
		if !c.deleted {
			out = append(out, c)
		}
	}
	return out
}

// Roles returns the roles, @everyone first, in creation order.
func (g *Guild) Roles() []*Role {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	return append([]*Role(nil), g.roles...)
}

// Banned reports whether the user is banned, and the ban's audit-log reason.
func (g *Guild) Banned(id snowflake.ID) (reason string, ok bool) {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	b, ok := g.bans[id]
	return b.reason, ok
}

// Bans returns the banned user IDs in ascending order.
func (g *Guild) Bans() []snowflake.ID {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	out := make([]snowflake.ID, 0, len(g.bans))
	for id := range g.bans {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (g *Guild) roleLocked(id snowflake.ID) *Role {
	for _, r := range g.roles {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// permissionsLocked computes a member's guild-level permissions the way
// Discord does without channel overwrites: the owner and administrators have
// everything, others the union of @everyone and their roles.
func (g *Guild) permissionsLocked(m *Member) discord.Permissions {
	if m.ID == g.ownerID {
		return discord.PermissionsAll
	}
	p := g.everyone.perms
	for _, id := range m.roles {
		if r := g.roleLocked(id); r != nil {
			p |= r.perms
		}
	}
	if p.Has(discord.PermissionAdministrator) {
		return discord.PermissionsAll
	}
	return p
}

// topPositionLocked is the position of the member's highest role.
func (g *Guild) topPositionLocked(m *Member) int {
	top := 0
	for _, id := range m.roles {
		if r := g.roleLocked(id); r != nil && r.position > top {
			top = r.position
		}
	}
	return top
}

// Permissions returns the role's permissions.
func (r *Role) Permissions() discord.Permissions {
	r.Guild.srv.mu.Lock()
	defer r.Guild.srv.mu.Unlock()
	return r.perms
}

// SetPermissions changes the role's permissions.
func (r *Role) SetPermissions(p discord.Permissions) {
	r.Guild.srv.mu.Lock()
	defer r.Guild.srv.mu.Unlock()
	r.perms = p
}

// Position returns the role's position.
func (r *Role) Position() int {
	r.Guild.srv.mu.Lock()
	defer r.Guild.srv.mu.Unlock()
	return r.position
}

// SetPosition moves the role.
func (r *Role) SetPosition(p int) {
	r.Guild.srv.mu.Lock()
	defer r.Guild.srv.mu.Unlock()
	r.position = p
}

// Mention returns "<@&id>".
func (r *Role) Mention() string { return "<@&" + r.ID.String() + ">" }

// InGuild reports whether the member is still in the guild (not kicked,
// banned or removed).
func (m *Member) InGuild() bool {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	return !m.left
}

// Roles returns the IDs of the member's roles (without @everyone).
func (m *Member) Roles() []snowflake.ID {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	return append([]snowflake.ID(nil), m.roles...)
}

// AddRole gives the member a role.
func (m *Member) AddRole(r *Role) {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	m.roles = append(m.roles, r.ID)
}

// Permissions returns the member's guild permissions.
func (m *Member) Permissions() discord.Permissions {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	return m.Guild.permissionsLocked(m)
}

// TimedOutUntil returns the end of the member's timeout; ok is false when the
// member is not timed out.
func (m *Member) TimedOutUntil() (until time.Time, ok bool) {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	return m.timeout, !m.timeout.IsZero() && m.timeout.After(time.Now())
}

// CloseDMs makes DMs to this user fail with 50007, as when a user does not
// accept DMs from server members.
func (m *Member) CloseDMs() { m.setDMs(true) }

// OpenDMs undoes CloseDMs.
func (m *Member) OpenDMs() { m.setDMs(false) }

func (m *Member) setDMs(closed bool) {
	m.Guild.srv.mu.Lock()
	defer m.Guild.srv.mu.Unlock()
	m.u.dmsClosed = closed
}

// Mention returns "<@id>".
func (m *Member) Mention() string { return "<@" + m.ID.String() + ">" }

// Delete deletes the channel: later REST calls on it get 404 10003.
func (c *Channel) Delete() {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.deleted = true
}

// Deleted reports whether the channel was deleted.
func (c *Channel) Deleted() bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.deleted
}

// Mention returns "<#id>".
func (c *Channel) Mention() string { return "<#" + c.ID.String() + ">" }
