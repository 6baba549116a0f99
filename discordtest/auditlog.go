package discordtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
// Discord does. GET /guilds/{guild_id}/audit-logs returns the log to a bot
// with View Audit Log, as a bot reads what happened while it was away.

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

// AddAuditLogEntry puts e in the guild's audit log as an entry made before
// the test began (its ID dates it), as Discord keeps entries for 45 days:
// it is dispatched to no one, and only GET audit-logs returns it.
func (g *Guild) AddAuditLogEntry(e AuditLogEntry) {
	g.srv.mu.Lock()
	defer g.srv.mu.Unlock()
	i, _ := slices.BinarySearchFunc(g.auditLog, e.ID, func(x AuditLogEntry, id snowflake.ID) int { return cmp.Compare(x.ID, id) })
	g.auditLog = slices.Insert(g.auditLog, i, e)
}

// auditLogQuery is GET audit-logs' query, read as Discord reads it.
type auditLogQuery struct {
	userID, targetID, before, after snowflake.ID
	actionType                      int
	limit                           int
}

// parseAuditLogQuery reads q, or says what Discord would refuse.
func parseAuditLogQuery(q url.Values) (auditLogQuery, error) {
	aq := auditLogQuery{limit: 50}
	for name, dst := range map[string]*snowflake.ID{"user_id": &aq.userID, "target_id": &aq.targetID, "before": &aq.before, "after": &aq.after} {
		if v := q.Get(name); v != "" {
			id, err := snowflake.Parse(v)
			if err != nil {
				return aq, fmt.Errorf("%s: %q is not a snowflake", name, v)
			}
			*dst = id
		}
	}
	if v := q.Get("action_type"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return aq, fmt.Errorf("action_type: %q is not an audit-log action type", v)
		}
		aq.actionType = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return aq, fmt.Errorf("limit: %q is not between 1 and 100", v)
		}
		aq.limit = n
	}
	return aq, nil
}

// matches reports whether e passes the query's filters, paging aside.
func (q auditLogQuery) matches(e AuditLogEntry) bool {
	return (q.userID == 0 || e.UserID == q.userID) &&
		(q.targetID == 0 || e.TargetID != nil && *e.TargetID == q.targetID) &&
		(q.actionType == 0 || int(e.ActionType) == q.actionType) &&
		(q.before == 0 || e.ID < q.before) &&
		(q.after == 0 || e.ID > q.after)
}

// getAuditLog answers GET /guilds/{guild_id}/audit-logs as Discord does:
// View Audit Log is required (403 50013 without it); entries come newest
// first, at most limit (default 50, 1 to 100) of them, those before
// `before` and after `after`; with only `after`, the oldest ones after it.
// The users the entries name come beside them.
func (s *Server) getAuditLog(c *call) (int, any) {
	q, err := parseAuditLogQuery(c.r.URL.Query())
	if err != nil {
		s.violate(c.r, c.route, ViolationSpec, err.Error())
		return badBody(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, status, body := c.guildLocked()
	if g == nil {
		return status, body
	}
	if bot := g.members[s.botID]; bot == nil || !g.permissionsLocked(bot).Has(discord.PermissionViewAuditLog) {
		return missingPermissions()
	}
	var picked []AuditLogEntry
	if q.after != 0 && q.before == 0 {
		for _, e := range g.auditLog {
			if q.matches(e) && len(picked) < q.limit {
				picked = append(picked, e)
			}
		}
		slices.Reverse(picked)
	} else {
		for i := len(g.auditLog) - 1; i >= 0 && len(picked) < q.limit; i-- {
			if q.matches(g.auditLog[i]) {
				picked = append(picked, g.auditLog[i])
			}
		}
	}
	entries := make([]obj, 0, len(picked))
	users := []obj{}
	named := map[snowflake.ID]bool{}
	name := func(id snowflake.ID) {
		if id == 0 || named[id] {
			return
		}
		named[id] = true
		u := s.userJSONLocked(id)
		u["public_flags"], u["flags"], u["primary_guild"] = 0, 0, nil
		users = append(users, u)
	}
	for _, e := range picked {
		entries = append(entries, auditEntryJSON(e))
		name(e.UserID)
		if e.TargetID != nil {
			name(*e.TargetID)
		}
	}
	return http.StatusOK, obj{
		"audit_log_entries": entries, "users": users,
		"integrations": []obj{}, "webhooks": []obj{}, "guild_scheduled_events": []obj{},
		"threads": []obj{}, "application_commands": []obj{}, "auto_moderation_rules": []obj{},
	}
}

// auditEntryJSON is an entry as GET audit-logs shows it: a null user_id or
// target_id where there is none, and no reason, changes or options keys
// where there are none.
func auditEntryJSON(e AuditLogEntry) obj {
	o := obj{"id": e.ID.String(), "action_type": int(e.ActionType), "user_id": nil, "target_id": nil}
	if e.UserID != 0 {
		o["user_id"] = e.UserID.String()
	}
	if e.TargetID != nil {
		o["target_id"] = e.TargetID.String()
	}
	if e.Reason != nil {
		o["reason"] = *e.Reason
	}
	if len(e.Changes) > 0 {
		changes := make([]obj, 0, len(e.Changes))
		for _, ch := range e.Changes {
			co := obj{"key": string(ch.Key)}
			if len(ch.OldValue) > 0 {
				co["old_value"] = json.RawMessage(ch.OldValue)
			}
			if len(ch.NewValue) > 0 {
				co["new_value"] = json.RawMessage(ch.NewValue)
			}
			changes = append(changes, co)
		}
		o["changes"] = changes
	}
	return o
}
