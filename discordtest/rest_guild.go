package discordtest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

func (s *Server) guildRoutes(add func(string, string, bool, routeHandler)) {
	add("GET", "/guilds/{guild_id}", true, s.getGuild)
	add("GET", "/guilds/{guild_id}/roles", true, s.getRoles)
	add("GET", "/guilds/{guild_id}/channels", true, s.getGuildChannels)
	add("GET", "/guilds/{guild_id}/members", true, s.listMembers)
	add("GET", "/guilds/{guild_id}/members/{user_id}", true, s.getMember)
	add("PATCH", "/guilds/{guild_id}/members/{user_id}", true, s.editMember)
	add("DELETE", "/guilds/{guild_id}/members/{user_id}", true, s.kick)
	add("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", true, s.memberRole)
	add("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", true, s.memberRole)
	add("GET", "/guilds/{guild_id}/bans", true, s.listBans)
	add("GET", "/guilds/{guild_id}/bans/{user_id}", true, s.getBan)
	add("PUT", "/guilds/{guild_id}/bans/{user_id}", true, s.addBan)
	add("DELETE", "/guilds/{guild_id}/bans/{user_id}", true, s.removeBan)
	add("GET", "/guilds/{guild_id}/audit-logs", true, s.getAuditLog)
}

// guildLocked returns the route's guild, as the bot may see it: unknown
// guilds are 404 10004, guilds without the bot 403 50001.
func (c *call) guildLocked() (*Guild, int, any) {
	gid, _ := c.pathID("guild_id")
	g := c.s.guildLocked(gid)
	if g == nil {
		status, body := fail(http.StatusNotFound, codeUnknownGuild, "Unknown Guild")
		return nil, status, body
	}
	if _, ok := g.members[c.s.botID]; !ok {
		status, body := fail(http.StatusForbidden, codeMissingAccess, "Missing Access")
		return nil, status, body
	}
	return g, 0, nil
}

// canModerateLocked reports whether the bot, holding perm, may act on the
// target as Discord checks it: the permission, and the bot's highest role
// above the target's; never the owner.
func (g *Guild) canModerateLocked(target *Member, perm discord.Permissions) bool {
	bot := g.members[g.srv.botID]
	if bot == nil || !g.permissionsLocked(bot).Has(perm) {
		return false
	}
	if target == nil {
		return true
	}
	if target.ID == g.ownerID || target.ID == bot.ID {
		return false
	}
	return g.topPositionLocked(bot) > g.topPositionLocked(target)
}

func (s *Server) getGuild(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	o := s.guildJSONLocked(g)
	if c.r.URL.Query().Get("with_counts") == "true" {
		o["approximate_member_count"] = len(g.members)
		o["approximate_presence_count"] = 0
	}
	return http.StatusOK, o
}

func (s *Server) getRoles(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	out := make([]obj, 0, len(g.roles))
	for _, r := range g.roles {
		out = append(out, roleJSON(r))
	}
	return http.StatusOK, out
}

func (s *Server) getGuildChannels(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	out := []obj{}
	for _, ch := range g.channels {
		if !ch.deleted {
			out = append(out, s.channelJSONLocked(ch))
		}
	}
	return http.StatusOK, out
}

func (s *Server) listMembers(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	limit := 1
	if v, err := strconv.Atoi(c.r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 1000)
	}
	after, _ := snowflake.Parse(c.r.URL.Query().Get("after"))
	ms := g.membersLocked()
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	out := []obj{}
	for _, m := range ms {
		if m.ID > after && len(out) < limit {
			out = append(out, s.memberJSONLocked(m, true))
		}
	}
	return http.StatusOK, out
}

// memberLocked returns the route's guild and member (404 10007 if the user
// is not a member).
func (c *call) memberLocked() (*Guild, *Member, int, any) {
	g, status, body := c.guildLocked()
	if g == nil {
		return nil, nil, status, body
	}
	uid, _ := c.pathID("user_id")
	m := g.members[uid]
	if m == nil {
		status, body := fail(http.StatusNotFound, codeUnknownMember, "Unknown Member")
		return g, nil, status, body
	}
	return g, m, 0, nil
}

func (s *Server) getMember(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, status, body := c.memberLocked()
	if m == nil {
		return status, body
	}
	return http.StatusOK, s.memberJSONLocked(m, true)
}

// editMember handles PATCH member: timeouts (communication_disabled_until),
// nick and roles, with Discord's permission and hierarchy checks.
func (s *Server) editMember(c *call) (int, any) {
	var b map[string]json.RawMessage
	if err := c.decode(&b); err != nil {
		return badBody(err)
	}
	s.mu.Lock()
	g, m, status, body := c.memberLocked()
	if m == nil {
		s.mu.Unlock()
		return status, body
	}
	var audit obj
	if raw, ok := b["communication_disabled_until"]; ok {
		if !g.canModerateLocked(m, discord.PermissionModerateMembers) || g.permissionsLocked(m).Has(discord.PermissionAdministrator) {
			s.mu.Unlock()
			return missingPermissions()
		}
		var until *time.Time
		if err := json.Unmarshal(raw, &until); err != nil {
			s.mu.Unlock()
			return badBody(err)
		}
		if until != nil && until.After(time.Now().Add(28*24*time.Hour+time.Minute)) {
			s.mu.Unlock()
			return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "communication_disabled_until: more than 28 days in the future"}
		}
		old := m.timeout
		if until == nil {
			m.timeout = time.Time{}
		} else {
			m.timeout = *until
		}
		audit = s.auditLogLocked(g, s.botID, m.ID, auditMemberUpdate, c.reason, timeoutChange(old, m.timeout))
	}
	if raw, ok := b["nick"]; ok {
		if !g.canModerateLocked(m, discord.PermissionManageNicknames) {
			s.mu.Unlock()
			return missingPermissions()
		}
		var nick *string
		_ = json.Unmarshal(raw, &nick)
		m.nick = ""
		if nick != nil {
			m.nick = *nick
		}
	}
	if raw, ok := b["roles"]; ok {
		var ids []snowflake.ID
		if err := json.Unmarshal(raw, &ids); err != nil {
			s.mu.Unlock()
			return badBody(err)
		}
		for _, id := range ids {
			if st, bd := c.checkRoleLocked(g, id); st != 0 {
				s.mu.Unlock()
				return st, bd
			}
		}
		m.roles = ids
	}
	out := s.memberJSONLocked(m, true)
	s.bumpLocked()
	s.mu.Unlock()
	event := s.memberEvent(g, out)
	s.broadcast("GUILD_MEMBER_UPDATE", intentGuildMembers, event)
	s.sendAuditLog(audit)
	return http.StatusOK, out
}

// memberEvent adds guild_id to a member object, for member events.
func (s *Server) memberEvent(g *Guild, member obj) obj {
	ev := obj{"guild_id": g.ID.String()}
	for k, v := range member {
		ev[k] = v
	}
	return ev
}

// checkRoleLocked checks that the bot may give or take the role.
func (c *call) checkRoleLocked(g *Guild, id snowflake.ID) (int, any) {
	r := g.roleLocked(id)
	if r == nil {
		return fail(http.StatusNotFound, codeUnknownRole, "Unknown Role")
	}
	bot := g.members[c.s.botID]
	if !g.permissionsLocked(bot).Has(discord.PermissionManageRoles) || r.position >= g.topPositionLocked(bot) || r.managed {
		return missingPermissions()
	}
	return 0, nil
}

func (s *Server) memberRole(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, m, status, body := c.memberLocked()
	if m == nil {
		return status, body
	}
	rid, _ := c.pathID("role_id")
	if st, bd := c.checkRoleLocked(g, rid); st != 0 {
		return st, bd
	}
	var roles []snowflake.ID
	for _, id := range m.roles {
		if id != rid {
			roles = append(roles, id)
		}
	}
	if c.r.Method == http.MethodPut {
		roles = append(roles, rid)
	}
	m.roles = roles
	s.bumpLocked()
	return http.StatusNoContent, nil
}

// removeMemberLocked takes the member out of the guild and returns the
// GUILD_MEMBER_REMOVE payload.
func (s *Server) removeMemberLocked(g *Guild, m *Member) obj {
	delete(g.members, m.ID)
	m.left = true
	s.bumpLocked()
	return obj{"guild_id": g.ID.String(), "user": s.userJSONLocked(m.ID)}
}

// kick handles DELETE member.
func (s *Server) kick(c *call) (int, any) {
	s.mu.Lock()
	g, m, status, body := c.memberLocked()
	if m == nil {
		s.mu.Unlock()
		return status, body
	}
	if !g.canModerateLocked(m, discord.PermissionKickMembers) {
		s.mu.Unlock()
		return missingPermissions()
	}
	ev := s.removeMemberLocked(g, m)
	audit := s.auditLogLocked(g, s.botID, m.ID, auditMemberKick, c.reason, nil)
	s.mu.Unlock()
	s.broadcast("GUILD_MEMBER_REMOVE", intentGuildMembers, ev)
	s.sendAuditLog(audit)
	return http.StatusNoContent, nil
}

func (s *Server) banJSONLocked(id snowflake.ID, b ban) obj {
	var reason any
	if b.reason != "" {
		reason = b.reason
	}
	return obj{"reason": reason, "user": s.userJSONLocked(id)}
}

func (s *Server) listBans(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	if !g.canModerateLocked(nil, discord.PermissionBanMembers) {
		return missingPermissions()
	}
	ids := make([]snowflake.ID, 0, len(g.bans))
	for id := range g.bans {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := []obj{}
	for _, id := range ids {
		out = append(out, s.banJSONLocked(id, g.bans[id]))
	}
	return http.StatusOK, out
}

func (s *Server) getBan(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	if !g.canModerateLocked(nil, discord.PermissionBanMembers) {
		return missingPermissions()
	}
	uid, _ := c.pathID("user_id")
	b, ok := g.bans[uid]
	if !ok {
		return fail(http.StatusNotFound, codeUnknownBan, "Unknown Ban")
	}
	return http.StatusOK, s.banJSONLocked(uid, b)
}

// addBan handles PUT ban: the member (if present) is removed.
func (s *Server) addBan(c *call) (int, any) {
	var b struct {
		DeleteMessageSeconds *int `json:"delete_message_seconds"`
		DeleteMessageDays    *int `json:"delete_message_days"`
	}
	if err := c.decode(&b); err != nil {
		return badBody(err)
	}
	if b.DeleteMessageSeconds != nil && (*b.DeleteMessageSeconds < 0 || *b.DeleteMessageSeconds > 604800) {
		return http.StatusBadRequest, apiError{Code: codeInvalidFormBody, Message: "Invalid Form Body", Errors: "delete_message_seconds: must be between 0 and 604800"}
	}
	s.mu.Lock()
	g, status, body := c.guildLocked()
	if g == nil {
		s.mu.Unlock()
		return status, body
	}
	uid, _ := c.pathID("user_id")
	if s.users[uid] == nil {
		s.mu.Unlock()
		return fail(http.StatusNotFound, codeUnknownUser, "Unknown User")
	}
	m := g.members[uid]
	if !g.canModerateLocked(m, discord.PermissionBanMembers) || uid == g.ownerID || uid == s.botID {
		s.mu.Unlock()
		return missingPermissions()
	}
	g.bans[uid] = ban{reason: c.reason}
	var removed obj
	if m != nil {
		removed = s.removeMemberLocked(g, m)
	}
	ev := obj{"guild_id": g.ID.String(), "user": s.userJSONLocked(uid)}
	audit := s.auditLogLocked(g, s.botID, uid, auditMemberBanAdd, c.reason, nil)
	s.bumpLocked()
	s.mu.Unlock()
	if removed != nil {
		s.broadcast("GUILD_MEMBER_REMOVE", intentGuildMembers, removed)
	}
	s.broadcast("GUILD_BAN_ADD", intentGuildModeration, ev)
	s.sendAuditLog(audit)
	return http.StatusNoContent, nil
}

// removeBan handles DELETE ban (unban).
func (s *Server) removeBan(c *call) (int, any) {
	s.mu.Lock()
	g, status, body := c.guildLocked()
	if g == nil {
		s.mu.Unlock()
		return status, body
	}
	if !g.canModerateLocked(nil, discord.PermissionBanMembers) {
		s.mu.Unlock()
		return missingPermissions()
	}
	uid, _ := c.pathID("user_id")
	if _, ok := g.bans[uid]; !ok {
		s.mu.Unlock()
		return fail(http.StatusNotFound, codeUnknownBan, "Unknown Ban")
	}
	delete(g.bans, uid)
	ev := obj{"guild_id": g.ID.String(), "user": s.userJSONLocked(uid)}
	audit := s.auditLogLocked(g, s.botID, uid, auditMemberBanRemove, c.reason, nil)
	s.bumpLocked()
	s.mu.Unlock()
	s.broadcast("GUILD_BAN_REMOVE", intentGuildModeration, ev)
	s.sendAuditLog(audit)
	return http.StatusNoContent, nil
}
