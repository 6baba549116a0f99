package discordtest

import (
	"encoding/json"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// The guild audit log, as far as moderation goes: every ban, unban, kick
// and timeout change, whether made through the REST API (by the bot, which
// is then the entry's user) or "by hand" as a moderator in Discord's own
// menus (BanAs and the others), appends an entry and dispatches
// GUILD_AUDIT_LOG_ENTRY_CREATE to the sessions that asked for the
// GUILD_MODERATION intent, in guilds where the bot has View Audit Log, as
// Discord does.

// Audit-log action types the fake writes.
const (
	auditMemberKick      = 20
	auditMemberBanAdd    = 22
	auditMemberBanRemove = 23
	auditMemberUpdate    = 24
)

// AuditLogEntry is an entry of a guild's audit log, as dispatched.
type AuditLogEntry = discord.AuditLogEntry

// auditLogLocked appends an entry to g's log and returns the event to
// broadcast, or nil where the bot may not see it. changes holds a
// timeout change's old and new communication_disabled_until.
func (s *Server) auditLogLocked(g *Guild, actor, target snowflake.ID, action int, reason string, changes []obj) obj {
	id := s.newID()
	ev := obj{
		"id": id.String(), "guild_id": g.ID.String(), "user_id": actor.String(), "target_id": target.String(),
		"action_type": action, "changes": changes,
	}
	if reason != "" {
		ev["reason"] = reason
	}
	raw, _ := json.Marshal(ev)
	var e AuditLogEntry
	_ = json.Unmarshal(raw, &e)
	g.auditLog = append(g.auditLog, e)
	bot := g.members[s.botID]
	if bot == nil || !g.permissionsLocked(bot).Has(discord.PermissionViewAuditLog) {
		return nil
	}
	return ev
}

// sendAuditLog dispatches an entry from auditLogLocked, if any.
func (s *Server) sendAuditLog(ev obj) {
	if ev != nil {
		s.broadcast("GUILD_AUDIT_LOG_ENTRY_CREATE", intentGuildModeration, ev)
	}
}

// timeoutChange is the change list of a timeout set (until not zero) or
// lifted.
func timeoutChange(old, until time.Time) []obj {
	val := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	}
	return []obj{{"key": "communication_disabled_until", "old_value": val(old), "new_value": val(until)}}
}

// AuditLog returns the guild's audit log, oldest first, including entries
// the bot was not sent for lack of View Audit Log.
func (g *Guild) AuditLog() []AuditLogEntry {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	return append([]AuditLogEntry(nil), g.auditLog...)
}

// ReplayAuditLogEntry dispatches an entry of the log again, as a gateway
// replay after a resume would deliver it a second time.
func (g *Guild) ReplayAuditLogEntry(e AuditLogEntry) {
	raw, _ := json.Marshal(e)
	var ev obj
	_ = json.Unmarshal(raw, &ev)
	ev["guild_id"] = g.ID.String()
	g.srv.sendAuditLog(ev)
}

// BanAs bans target as mod did in Discord's member menu: no permission
// check, the target leaves the guild, and the audit log names mod.
func (g *Guild) BanAs(mod *Member, target snowflake.ID, reason string) {
	s := g.srv
	s.mu.Lock()
	g.bans[target] = ban{reason: reason}
	var removed obj
	if m := g.members[target]; m != nil {
		removed = s.removeMemberLocked(g, m)
	}
	banEv := obj{"guild_id": g.ID.String(), "user": s.userJSONLocked(target)}
	ev := s.auditLogLocked(g, mod.ID, target, auditMemberBanAdd, reason, nil)
	s.bumpLocked()
	s.mu.Unlock()
	if removed != nil {
		s.broadcast("GUILD_MEMBER_REMOVE", intentGuildMembers, removed)
	}
	s.broadcast("GUILD_BAN_ADD", intentGuildModeration, banEv)
	s.sendAuditLog(ev)
}

// UnbanAs lifts target's ban as mod did by hand.
func (g *Guild) UnbanAs(mod *Member, target snowflake.ID, reason string) {
	s := g.srv
	s.mu.Lock()
	delete(g.bans, target)
	banEv := obj{"guild_id": g.ID.String(), "user": s.userJSONLocked(target)}
	ev := s.auditLogLocked(g, mod.ID, target, auditMemberBanRemove, reason, nil)
	s.bumpLocked()
	s.mu.Unlock()
	s.broadcast("GUILD_BAN_REMOVE", intentGuildModeration, banEv)
	s.sendAuditLog(ev)
}

// KickAs kicks target as mod did by hand.
func (g *Guild) KickAs(mod *Member, target *Member, reason string) {
	s := g.srv
	s.mu.Lock()
	var removed obj
	if g.members[target.ID] != nil {
		removed = s.removeMemberLocked(g, target)
	}
	ev := s.auditLogLocked(g, mod.ID, target.ID, auditMemberKick, reason, nil)
	s.mu.Unlock()
	if removed != nil {
		s.broadcast("GUILD_MEMBER_REMOVE", intentGuildMembers, removed)
	}
	s.sendAuditLog(ev)
}

// TimeoutAs times target out until the given time as mod did by hand; a
// zero until lifts the timeout.
func (g *Guild) TimeoutAs(mod *Member, target *Member, until time.Time, reason string) {
	s := g.srv
	s.mu.Lock()
	old := target.timeout
	target.timeout = until
	out := s.memberJSONLocked(target, true)
	ev := s.auditLogLocked(g, mod.ID, target.ID, auditMemberUpdate, reason, timeoutChange(old, until))
	s.bumpLocked()
	s.mu.Unlock()
	s.broadcast("GUILD_MEMBER_UPDATE", intentGuildMembers, s.memberEvent(g, out))
	s.sendAuditLog(ev)
}

// SendUpdate dispatches the role as it stands (GUILD_ROLE_UPDATE), as
// Discord does after an admin edits it, so the bot's cache sees a change
// made with SetPermissions.
func (r *Role) SendUpdate() {
	s := r.Guild.srv
	s.mu.Lock()
	ev := obj{"guild_id": r.Guild.ID.String(), "role": roleJSON(r)}
	s.mu.Unlock()
	s.broadcast("GUILD_ROLE_UPDATE", intentGuilds, ev)
}
