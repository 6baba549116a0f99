package discordtest

import (
	"strconv"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// obj is a JSON object under construction. Snowflakes and permissions are
// always strings, as disgo requires.
type obj = map[string]any

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *Server) userJSONLocked(id snowflake.ID) obj {
	u := s.users[id]
	if u == nil {
		return obj{"id": id.String(), "username": "unknown", "discriminator": "0", "global_name": nil, "avatar": nil}
	}
	o := obj{"id": u.id.String(), "username": u.username, "discriminator": "0", "global_name": nil, "avatar": nil}
	if u.bot {
		o["bot"] = true
	}
	return o
}

func (s *Server) memberJSONLocked(m *Member, withUser bool) obj {
	roles := make([]string, 0, len(m.roles))
	for _, id := range m.roles {
		roles = append(roles, id.String())
	}
	o := obj{
		"roles":     roles,
		"joined_at": ts(m.joinedAt),
		"deaf":      false,
		"mute":      false,
		"flags":     0,
		"pending":   false,
		"nick":      nil,
		"avatar":    nil,
	}
	if m.nick != "" {
		o["nick"] = m.nick
	}
	if !m.timeout.IsZero() {
		o["communication_disabled_until"] = ts(m.timeout)
	} else {
		o["communication_disabled_until"] = nil
	}
	if withUser {
		o["user"] = s.userJSONLocked(m.ID)
	}
	return o
}

func roleJSON(r *Role) obj {
	o := obj{
		"id":          r.ID.String(),
		"name":        r.Name,
		"color":       0,
		"hoist":       false,
		"icon":        nil,
		"position":    r.position,
		"permissions": permString(r.perms),
		"managed":     r.managed,
		"mentionable": false,
		"flags":       0,
	}
	if r.managed {
		o["tags"] = obj{"bot_id": r.Guild.srv.botID.String()}
	}
	return o
}

func (s *Server) channelJSONLocked(c *Channel) obj {
	o := obj{"id": c.ID.String(), "type": int(c.Type)}
	if c.Type == discord.ChannelTypeDM {
		o["recipients"] = []any{s.userJSONLocked(c.recipient)}
		o["last_message_id"] = nil
		o["flags"] = 0
		return o
	}
	o["guild_id"] = c.GuildID.String()
	o["name"] = c.Name
	o["position"] = c.position
	o["permission_overwrites"] = []any{}
	o["nsfw"] = false
	o["parent_id"] = nil
	o["topic"] = nil
	o["last_message_id"] = nil
	o["rate_limit_per_user"] = 0
	o["flags"] = 0
	return o
}

func (s *Server) guildJSONLocked(g *Guild) obj {
	roles := make([]any, 0, len(g.roles))
	for _, r := range g.roles {
		roles = append(roles, roleJSON(r))
	}
	return obj{
		"id":                            g.ID.String(),
		"name":                          g.Name,
		"icon":                          nil,
		"splash":                        nil,
		"discovery_splash":              nil,
		"owner_id":                      g.ownerID.String(),
		"afk_channel_id":                nil,
		"afk_timeout":                   300,
		"verification_level":            0,
		"default_message_notifications": 0,
		"explicit_content_filter":       0,
		"roles":                         roles,
		"emojis":                        []any{},
		"stickers":                      []any{},
		"features":                      []any{},
		"mfa_level":                     0,
		"application_id":                nil,
		"system_channel_id":             nil,
		"system_channel_flags":          0,
		"rules_channel_id":              nil,
		"vanity_url_code":               nil,
		"description":                   nil,
		"banner":                        nil,
		"premium_tier":                  0,
		"preferred_locale":              "en-US",
		"public_updates_channel_id":     nil,
		"nsfw_level":                    0,
		"premium_progress_bar_enabled":  false,
	}
}

// guildCreatePayloadLocked is GUILD_CREATE as the session sees it: members
// other than the bot only with the GUILD_MEMBERS intent, as on Discord.
func (s *Server) guildCreatePayloadLocked(g *Guild, intents int64) obj {
	o := s.guildJSONLocked(g)
	o["unavailable"] = false
	o["large"] = false
	o["member_count"] = len(g.members)
	if bm, ok := g.members[s.botID]; ok {
		o["joined_at"] = ts(bm.joinedAt)
	} else {
		o["joined_at"] = ts(g.created)
	}
	var members []any
	for _, m := range g.membersLocked() {
		if intents&intentGuildMembers != 0 || m.ID == s.botID {
			members = append(members, s.memberJSONLocked(m, true))
		}
	}
	if members == nil {
		members = []any{}
	}
	o["members"] = members
	var channels []any
	for _, c := range g.channels {
		if !c.deleted {
			channels = append(channels, s.channelJSONLocked(c))
		}
	}
	if channels == nil {
		channels = []any{}
	}
	o["channels"] = channels
	for _, k := range []string{"threads", "voice_states", "presences", "stage_instances", "guild_scheduled_events", "soundboard_sounds"} {
		o[k] = []any{}
	}
	return o
}

func (s *Server) readyPayloadLocked(ss *session, guilds []*Guild, shard []int) obj {
	gs := make([]any, len(guilds))
	for i, g := range guilds {
		gs[i] = obj{"id": g.ID.String(), "unavailable": true}
	}
	if len(shard) != 2 {
		shard = []int{0, 1}
	}
	return obj{
		"v":                  10,
		"user":               s.userJSONLocked(s.botID),
		"guilds":             gs,
		"session_id":         ss.id,
		"resume_gateway_url": "ws" + s.base[len("http"):] + "/resume",
		"shard":              shard,
		"application":        obj{"id": s.appID.String(), "flags": 0},
		"private_channels":   []any{},
		"relationships":      []any{},
		"presences":          []any{},
	}
}

func permString(p discord.Permissions) string { return strconv.FormatInt(int64(p), 10) }
