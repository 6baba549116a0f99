package discordtest

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// Application command option types.
const (
	optSubcommand      = 1
	optSubcommandGroup = 2
	optString          = 3
	optInteger         = 4
	optBoolean         = 5
	optUser            = 6
	optChannel         = 7
	optRole            = 8
	optMentionable     = 9
	optNumber          = 10
)

// resolvedSet collects data.resolved of a command interaction.
type resolvedSet struct {
	users, members, roles, channels obj
}

func (r *resolvedSet) json() obj {
	o := obj{}
	for k, v := range map[string]obj{"users": r.users, "members": r.members, "roles": r.roles, "channels": r.channels} {
		if len(v) > 0 {
			o[k] = v
		}
	}
	return o
}

// commandDataLocked builds the data of a command or autocomplete
// interaction from the registered command and the given options.
func (s *Server) commandDataLocked(inv Invocation, cmd command, parts []string) (obj, error) {
	defs := cmd.Options
	var chain []commandOption
	for _, p := range parts[1:] {
		i := slices.IndexFunc(defs, func(o commandOption) bool {
			return o.Name == p && (o.Type == optSubcommand || o.Type == optSubcommandGroup)
		})
		if i < 0 {
			return nil, fmt.Errorf("discordtest: /%s has no subcommand %q", cmd.Name, p)
		}
		chain = append(chain, defs[i])
		defs = defs[i].Options
	}
	if len(defs) > 0 && (defs[0].Type == optSubcommand || defs[0].Type == optSubcommandGroup) {
		return nil, fmt.Errorf("discordtest: /%s needs a subcommand", inv.Command)
	}
	names := make([]string, 0, len(inv.Options))
	for n := range inv.Options {
		names = append(names, n)
	}
	if inv.Focused != "" && !slices.Contains(names, inv.Focused) {
		names = append(names, inv.Focused)
	}
	sort.Strings(names)
	res := &resolvedSet{users: obj{}, members: obj{}, roles: obj{}, channels: obj{}}
	opts := []any{}
	for _, n := range names {
		i := slices.IndexFunc(defs, func(o commandOption) bool { return o.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("discordtest: /%s has no option %q", inv.Command, n)
		}
		def := defs[i]
		o := obj{"name": n, "type": def.Type}
		if n == inv.Focused {
			if !def.Autocomplete {
				return nil, fmt.Errorf("discordtest: option %q of /%s has no autocomplete", n, inv.Command)
			}
			o["focused"] = true
			v := inv.Options[n]
			if v == nil {
				v = ""
			}
			o["value"] = fmt.Sprint(v)
		} else {
			v, err := s.optionValueLocked(inv.Guild, def, inv.Options[n], res)
			if err != nil {
				return nil, fmt.Errorf("discordtest: /%s option %q: %w", inv.Command, n, err)
			}
			o["value"] = v
		}
		opts = append(opts, o)
	}
	if inv.Focused == "" {
		for _, d := range defs {
			if _, ok := inv.Options[d.Name]; d.Required && !ok {
				return nil, fmt.Errorf("discordtest: /%s: required option %q missing", inv.Command, d.Name)
			}
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		opts = []any{obj{"name": chain[i].Name, "type": chain[i].Type, "options": opts}}
	}
	data := obj{"id": cmd.ID.String(), "name": cmd.Name, "type": 1, "options": opts}
	if r := res.json(); len(r) > 0 {
		data["resolved"] = r
	}
	if gid, ok := cmd.raw["guild_id"].(string); ok {
		data["guild_id"] = gid
	}
	return data, nil
}

// optionValueLocked converts a Go value to the option's JSON value and adds
// what Discord resolves for users, roles and channels.
func (s *Server) optionValueLocked(g *Guild, def commandOption, v any, res *resolvedSet) (any, error) {
	switch def.Type {
	case optString:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		return str, nil
	case optBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a bool, got %T", v)
		}
		return b, nil
	case optInteger:
		f, ok := number(v)
		if !ok || f != math.Trunc(f) {
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		return int64(f), nil
	case optNumber:
		f, ok := number(v)
		if !ok {
			return nil, fmt.Errorf("want a number, got %T", v)
		}
		return f, nil
	case optUser, optChannel, optRole, optMentionable:
		return s.resolveLocked(g, def.Type, v, res)
	}
	return nil, fmt.Errorf("option type %d is not supported by discordtest", def.Type)
}

// number converts any Go integer or float to float64.
func number(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func (s *Server) resolveLocked(g *Guild, typ int, v any, res *resolvedSet) (any, error) {
	var id snowflake.ID
	switch x := v.(type) {
	case *Member:
		id = x.ID
	case *Role:
		id = x.ID
	case *Channel:
		id = x.ID
	case snowflake.ID:
		id = x
	case string:
		parsed, err := snowflake.Parse(x)
		if err != nil {
			return nil, fmt.Errorf("want an ID, got %q", x)
		}
		id = parsed
	default:
		return nil, fmt.Errorf("want *Member, *Role, *Channel or snowflake.ID, got %T", v)
	}
	if (typ == optRole || typ == optMentionable) && g.roleLocked(id) != nil {
		res.roles[id.String()] = roleJSON(g.roleLocked(id))
		return id.String(), nil
	}
	if typ == optChannel {
		ch := s.channels[id]
		if ch == nil {
			return nil, fmt.Errorf("unknown channel %s", id)
		}
		res.channels[id.String()] = obj{"id": id.String(), "name": ch.Name, "type": int(ch.Type), "permissions": permString(discord.PermissionsAll), "guild_id": ch.GuildID.String()}
		return id.String(), nil
	}
	if typ == optUser || typ == optMentionable {
		if s.users[id] == nil {
			return nil, fmt.Errorf("unknown user %s", id)
		}
		res.users[id.String()] = s.userJSONLocked(id)
		if m := g.members[id]; m != nil {
			mj := s.memberJSONLocked(m, false)
			mj["permissions"] = permString(g.permissionsLocked(m))
			res.members[id.String()] = mj
		}
		return id.String(), nil
	}
	return nil, fmt.Errorf("unknown role %s", id)
}

// newInteractionLocked creates the state and the INTERACTION_CREATE payload
// of an interaction by member m in channel ch (nil: the guild's first text
// channel).
func (s *Server) newInteractionLocked(kind int, g *Guild, m *Member, ch *Channel, data obj, msg *Message, locale string) (*interaction, obj, error) {
	if cur := g.members[m.ID]; cur != m {
		return nil, nil, fmt.Errorf("discordtest: %s is not a member of %s", m.Username, g.Name)
	}
	if ch == nil {
		for _, c := range g.channels {
			if !c.deleted && c.Type == discord.ChannelTypeGuildText {
				ch = c
				break
			}
		}
		if ch == nil {
			return nil, nil, fmt.Errorf("discordtest: %s has no text channel", g.Name)
		}
	}
	if locale == "" {
		locale = "en-US"
	}
	in := &interaction{id: s.newID(), token: "fake-interaction-" + randomHex(24), kind: kind, guildID: g.ID, channelID: ch.ID, message: msg}
	perms := g.permissionsLocked(m)
	var botPerms discord.Permissions
	if bot := g.members[s.botID]; bot != nil {
		botPerms = g.permissionsLocked(bot)
	}
	member := s.memberJSONLocked(m, true)
	member["permissions"] = permString(perms)
	channel := s.channelJSONLocked(ch)
	channel["permissions"] = permString(perms)
	payload := obj{
		"id":                             in.id.String(),
		"application_id":                 s.appID.String(),
		"type":                           kind,
		"token":                          in.token,
		"version":                        1,
		"guild_id":                       g.ID.String(),
		"channel_id":                     ch.ID.String(),
		"guild":                          obj{"id": g.ID.String(), "locale": "en-US", "features": []any{}},
		"channel":                        channel,
		"member":                         member,
		"app_permissions":                permString(botPerms),
		"locale":                         locale,
		"guild_locale":                   "en-US",
		"entitlements":                   []any{},
		"authorizing_integration_owners": obj{"0": g.ID.String()},
		"context":                        0,
		"data":                           data,
	}
	if msg != nil {
		payload["message"] = s.messageJSONLocked(msg)
	}
	return in, payload, nil
}
