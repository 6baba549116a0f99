package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// Command is one application command, a slash command or a context-menu
// entry: its definition as registered with Discord and the permissions the
// bot itself needs to carry it out. Its handlers are in the routes table
// (routes.go).
type Command struct {
	// Def is the definition sent to Discord: a discord.SlashCommandCreate,
	// UserCommandCreate or MessageCommandCreate.
	Def discord.ApplicationCommandCreate
	// BotPermissions are what the bot needs in the guild to carry it out;
	// they make up the invite link.
	BotPermissions discord.Permissions
}

// Name returns the command's name without the slash.
func (c Command) Name() string { return c.Def.CommandName() }

// Slash returns the definition of a slash command; ok is false for a
// context-menu entry.
func (c Command) Slash() (def discord.SlashCommandCreate, ok bool) {
	def, ok = c.Def.(discord.SlashCommandCreate)
	return def, ok
}

// Definitions returns every command the bot serves, in the order they are
// registered. They are plain data: `bot invite` reads them without
// building a bot.
func Definitions() []Command {
	cmds := []Command{
		pingCommand(),
		warnCommand(),
		warningsCommand(),
		unwarnCommand(),
		clearWarningsCommand(),
		caseCommand(),
		noteCommand(),
	}
	for _, a := range actions {
		cmds = append(cmds, Command{Def: a.def, BotPermissions: a.perm | discord.PermissionSendMessages | discord.PermissionEmbedLinks})
	}
	cmds = append(cmds, purgeCommand(), modstatsCommand(), mywarningsCommand(), privacyCommand(), configCommand())
	return append(cmds, contextMenuCommands()...)
}

func definitions() []discord.ApplicationCommandCreate {
	cmds := Definitions()
	defs := make([]discord.ApplicationCommandCreate, 0, len(cmds))
	for _, c := range cmds {
		defs = append(defs, c.Def)
	}
	return defs
}

// syncCommands registers the commands with Discord, to the configured guilds
// (which takes effect at once) or globally, and marks them registered, so
// that SetGuildIDs registers them again from then on.
func (b *Bot) syncCommands(ctx context.Context) error {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	if err := b.registerCommands(ctx, b.guildIDs); err != nil {
		return err
	}
	b.synced = true
	return nil
}

// registerCommands registers the commands to guilds or, when there are
// none, globally. It skips the call when Discord already has exactly this
// set, so restarts and reloads do not churn registrations.
func (b *Bot) registerCommands(ctx context.Context, guilds []snowflake.ID) error {
	defs := definitions()
	app := b.conn.ApplicationID()
	r := b.conn.Rest()
	if len(guilds) == 0 {
		have, err := b.registered(ctx, rest.GetGlobalCommands.Compile(nil, app))
		if err != nil {
			return fmt.Errorf("list global commands: %w", err)
		}
		if sameCommands(defs, have) {
			b.log.Info("slash commands already registered globally", slog.Int("count", len(defs)))
			return nil
		}
		if _, err := r.SetGlobalCommands(app, defs, rest.WithCtx(ctx)); err != nil {
			return err
		}
		b.log.Info("registered slash commands globally; Discord may take up to an hour to show changes", slog.Int("count", len(defs)))
		return nil
	}
	for _, g := range guilds {
		have, err := b.registered(ctx, rest.GetGuildCommands.Compile(nil, app, g))
		if err != nil {
			return fmt.Errorf("list commands of guild %s: %w", g, err)
		}
		if sameCommands(defs, have) {
			b.log.Info("slash commands already registered", slog.String("guild", g.String()), slog.Int("count", len(defs)))
			continue
		}
		if _, err := r.SetGuildCommands(app, g, defs, rest.WithCtx(ctx)); err != nil {
			return fmt.Errorf("guild %s: %w", g, err)
		}
		b.log.Info("registered slash commands", slog.String("guild", g.String()), slog.Int("count", len(defs)))
	}
	return nil
}

// registered fetches the commands Discord has, as raw JSON: decoding them
// into disgo's types would turn a null default_member_permissions (everyone)
// into "0" (administrators only), and the comparison needs the difference.
func (b *Bot) registered(ctx context.Context, ep *rest.CompiledEndpoint) ([]json.RawMessage, error) {
	var have []json.RawMessage
	err := b.conn.Rest().Do(ep, nil, &have, rest.WithCtx(ctx))
	return have, err
}

// serverSetFields are fields Discord adds to a registered command; they say
// nothing about whether our definition changed.
var serverSetFields = []string{"id", "application_id", "guild_id", "version", "dm_permission", "nsfw", "integration_types", "name_localized", "description_localized"}

// sameCommands reports whether the registered commands match the wanted
// definitions. Each wanted command must be registered with every field we
// set equal, and any extra field Discord reports must hold its zero value
// (or be one Discord sets itself).
func sameCommands(want []discord.ApplicationCommandCreate, have []json.RawMessage) bool {
	if len(want) != len(have) {
		return false
	}
	byName := make(map[string]any, len(have))
	for _, h := range have {
		v, err := toGeneric(h)
		if err != nil {
			return false
		}
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		name, _ := m["name"].(string)
		byName[name] = v
	}
	for _, w := range want {
		wv, err := toGeneric(w)
		if err != nil {
			return false
		}
		hv, ok := byName[w.CommandName()]
		if !ok || !covers(wv, hv, true) {
			return false
		}
	}
	return true
}

func toGeneric(v any) (any, error) {
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	var out any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return out, d.Decode(&out)
}

// covers reports whether have equals want for every field of want, with any
// other field of have empty. top marks the command object itself, where
// server-set fields are ignored.
func covers(want, have any, top bool) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !covers(wv, h[k], false) {
				return false
			}
		}
		for k, hv := range h {
			if _, ok := w[k]; ok || (top && slices.Contains(serverSetFields, k)) {
				continue
			}
			if !isZero(hv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return len(w) == 0 && isZero(have)
		}
		for i := range w {
			if !covers(w[i], h[i], false) {
				return false
			}
		}
		return true
	case nil:
		return isZero(have)
	default:
		if want == have {
			return true
		}
		return fmt.Sprint(want) == fmt.Sprint(have)
	}
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		return x.String() == "0"
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
