package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/discordtest"
)

// rawCase is one raw slash command to send and what the bot must answer.
type rawCase struct {
	name string
	data map[string]any
	want string // the exact refusal
	// part marks a want that is only part of the refusal.
	part bool
}

// rawCommands builds, from the definitions alone, payloads for every
// runnable command (leaf): a valid one, and for each of its options the
// same payload with that option damaged one way at a time, so that each
// check of commandShapes is the only thing refusing it.
type rawCommands struct {
	h *harness
}

// leaf is one runnable command: its root name, the subcommand names
// leading to it, and its options.
type leaf struct {
	root string
	subs []string
	opts []discord.ApplicationCommandOption
}

func (l leaf) path() string { return "/" + strings.Join(append([]string{l.root}, l.subs...), "/") }

func leaves() []leaf {
	var out []leaf
	for _, c := range Definitions() {
		def, ok := c.Slash()
		if !ok {
			continue
		}
		nested := false
		var plain []discord.ApplicationCommandOption
		for _, o := range def.Options {
			switch o := o.(type) {
			case discord.ApplicationCommandOptionSubCommand:
				nested = true
				out = append(out, leaf{def.Name, []string{o.Name}, o.Options})
			case discord.ApplicationCommandOptionSubCommandGroup:
				nested = true
				for _, s := range o.Options {
					out = append(out, leaf{def.Name, []string{o.Name, s.Name}, s.Options})
				}
			default:
				plain = append(plain, o)
			}
		}
		if !nested {
			out = append(out, leaf{def.Name, nil, plain})
		}
	}
	return out
}

// valid returns a value the definition accepts, and adds what Discord
// would resolve for it.
func (r rawCommands) valid(o discord.ApplicationCommandOption, resolved map[string]map[string]any) any {
	switch d := o.(type) {
	case discord.ApplicationCommandOptionString:
		if len(d.Choices) > 0 {
			return d.Choices[0].Value
		}
		return strings.Repeat("x", maxOr(d.MinLength, 1))
	case discord.ApplicationCommandOptionInt:
		return maxOr(d.MinValue, 1)
	case discord.ApplicationCommandOptionBool:
		return true
	case discord.ApplicationCommandOptionUser:
		id := r.h.other.ID.String()
		resolved["users"][id] = map[string]any{"id": id, "username": r.h.other.Username, "discriminator": "0"}
		return id
	case discord.ApplicationCommandOptionRole:
		id := r.h.helperRole.ID.String()
		resolved["roles"][id] = map[string]any{"id": id, "name": r.h.helperRole.Name, "permissions": "0", "position": 3}
		return id
	case discord.ApplicationCommandOptionChannel:
		ch := r.h.guild.Channels()[0]
		resolved["channels"][ch.ID.String()] = map[string]any{"id": ch.ID.String(), "name": ch.Name, "type": int(ch.Type), "permissions": "0"}
		return ch.ID.String()
	}
	r.h.t.Fatalf("option %q: the test knows no valid value of type %d", o.OptionName(), o.Type())
	return nil
}

// payload builds the data of l's command with every option valid (so an
// option of a type the check does not know is refused as damaged), then
// lets change alter the options and resolved data.
func (r rawCommands) payload(l leaf, change func(opts map[string]map[string]any, resolved map[string]map[string]any)) map[string]any {
	resolved := map[string]map[string]any{"users": {}, "roles": {}, "channels": {}}
	opts := map[string]map[string]any{}
	for _, o := range l.opts {
		opts[o.OptionName()] = map[string]any{"name": o.OptionName(), "type": int(o.Type()), "value": r.valid(o, resolved)}
	}
	if change != nil {
		change(opts, resolved)
	}
	list := []any{}
	for _, o := range l.opts { // in definition order, as Discord sends them
		if v, ok := opts[o.OptionName()]; ok {
			list = append(list, v)
			delete(opts, o.OptionName())
		}
	}
	for _, v := range opts {
		list = append(list, v)
	}
	for i := len(l.subs) - 1; i >= 0; i-- {
		typ := discord.ApplicationCommandOptionTypeSubCommand
		if i < len(l.subs)-1 {
			typ = discord.ApplicationCommandOptionTypeSubCommandGroup
		}
		list = []any{map[string]any{"name": l.subs[i], "type": int(typ), "options": list}}
	}
	return map[string]any{"id": "900000000000000001", "name": l.root, "type": 1, "options": list, "resolved": resolved}
}

// unresolved leaves an option's value as it is and takes it out of
// the resolved data of its kind.
func unresolved(kind string, id any) func(opts, resolved map[string]map[string]any) {
	return func(_, resolved map[string]map[string]any) { delete(resolved[kind], id.(string)) }
}

// damagedCases returns, for every leaf, its command damaged in each way
// that applies to it.
func (r rawCommands) damagedCases(t *testing.T) []rawCase {
	var out []rawCase
	add := func(l leaf, what string, change func(opts, resolved map[string]map[string]any)) {
		out = append(out, rawCase{l.path() + " " + what, r.payload(l, change), errDamagedCommand.Msg, false})
	}
	// bound is a value of the right type out of its bounds, refused with
	// a message that names them.
	bound := func(l leaf, what string, change func(opts, resolved map[string]map[string]any), want string) {
		out = append(out, rawCase{l.path() + " " + what, r.payload(l, change), want, true})
	}
	roots := map[string]bool{}
	for _, l := range leaves() {
		add(l, "unknown option", func(opts, _ map[string]map[string]any) {
			opts["no-such-option"] = map[string]any{"name": "no-such-option", "type": 3, "value": "x"}
		})
		missing := false
		for _, o := range l.opts {
			name := o.OptionName()
			resolved := map[string]map[string]any{"users": {}, "roles": {}, "channels": {}}
			good := r.valid(o, resolved)
			set := func(typ discord.ApplicationCommandOptionType, v any) func(opts, _ map[string]map[string]any) {
				return func(opts, res map[string]map[string]any) {
					for k, m := range resolved {
						for id, x := range m {
							res[k][id] = x
						}
					}
					opts[name] = map[string]any{"name": name, "type": int(typ), "value": v}
				}
			}
			wrong, wrongValue := discord.ApplicationCommandOptionTypeString, any("x")
			if o.Type() == wrong {
				wrong, wrongValue = discord.ApplicationCommandOptionTypeInt, 1
			}
			add(l, name+" of the wrong type", set(wrong, wrongValue))
			add(l, name+" with a value of the wrong type", set(o.Type(), map[string]any{"x": good}))
			add(l, name+" null", set(o.Type(), nil))
			switch d := o.(type) {
			case discord.ApplicationCommandOptionString:
				if maxOr(d.MaxLength, 0) > maxOptionString {
					t.Errorf("%s %s: max_length %d is past maxOptionString", l.path(), name, *d.MaxLength)
				}
				bound(l, name+" of 5,000 characters", set(o.Type(), strings.Repeat("a", 5000)), "; yours has 5000.")
			case discord.ApplicationCommandOptionInt:
				add(l, name+" a fraction", set(o.Type(), 1.5))
				add(l, name+" past 64 bits", set(o.Type(), 1e30))
				if d.MinValue != nil {
					bound(l, name+" below its minimum", set(o.Type(), *d.MinValue-1), fmt.Sprint(*d.MinValue))
				}
				if d.MaxValue != nil {
					bound(l, name+" above its maximum", set(o.Type(), *d.MaxValue+1), fmt.Sprint(*d.MaxValue))
				}
			case discord.ApplicationCommandOptionUser:
				add(l, name+" without resolved data", unresolved("users", good))
				add(l, name+" of user 0", set(o.Type(), "0"))
			case discord.ApplicationCommandOptionRole:
				add(l, name+" without resolved data", unresolved("roles", good))
			case discord.ApplicationCommandOptionChannel:
				add(l, name+" without resolved data", unresolved("channels", good))
			}
			if required(o) && !missing {
				missing = true
				add(l, "without its required "+name, func(opts, _ map[string]map[string]any) { delete(opts, name) })
			}
		}
		if !roots[l.root] {
			roots[l.root] = true
			unknown := leaf{root: l.root, subs: []string{"no-such-subcommand"}}
			out = append(out, rawCase{"/" + l.root + " unknown subcommand", r.payload(unknown, nil), errDamagedCommand.Msg, false})
		}
	}
	return out
}

// TestMalformedSlashCommands sends, as an administrator, every slash
// command the bot defines damaged in every way that applies to it: an
// unknown option or subcommand, an option of the wrong type or with a
// value of the wrong type, a user, role or channel without its resolved
// data, a required option left out: each is refused with the one
// ephemeral message. A string of 5,000 characters or an integer out of
// bounds is refused with a message naming the bounds. All are logged at info, never at error, with nothing sent to
// Discord but the answer; unknown commands and command types are refused
// as not available. Afterwards the bot serves normally, and the same
// commands built valid are not refused as damaged.
func TestMalformedSlashCommands(t *testing.T) {
	logs := &capturedLog{}
	h := newHarness(t, withBotOptions(func(o *Options) { o.Logger = logs.logger() }))
	r := rawCommands{h: h}
	cases := r.damagedCases(t)
	cases = append(cases,
		rawCase{"unknown command", map[string]any{"id": "900000000000000001", "name": "no-such-command", "type": 1}, errNoRoute.Msg, false},
		rawCase{"user command", map[string]any{"id": "900000000000000001", "name": "warn", "type": 2, "target_id": h.other.ID.String(),
			"resolved": map[string]any{"users": map[string]any{h.other.ID.String(): map[string]any{"id": h.other.ID.String(), "username": "other"}}}}, errNoRoute.Msg, false},
	)
	t.Logf("%d cases", len(cases))
	if len(cases) < 100 {
		t.Fatalf("built %d cases, want every command damaged every way", len(cases))
	}
	before := len(h.srv.Requests())
	send := func(who *discordtest.Member, data map[string]any) (*discordtest.Interaction, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return h.srv.InvokeRaw(ctx, h.guild, who, discordtest.InteractionCommand, data)
	}
	for _, c := range cases {
		out, err := send(h.admin, c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !out.Ephemeral || (c.part && (!strings.Contains(out.Content, c.want) || out.Content == errDamagedCommand.Msg)) || (!c.part && out.Content != c.want) {
			t.Errorf("%s: got=%q (ephemeral %v), want %q", c.name, out.Content, out.Ephemeral, c.want)
		}
	}
	for _, rq := range h.srv.Requests()[before:] {
		// The registration of the commands at start may land meanwhile.
		if rq.Is("PUT", "/applications/{application_id}/guilds/{guild_id}/commands") {
			continue
		}
		if !rq.Is("POST", "/interactions/{interaction_id}/{interaction_token}/callback") {
			t.Errorf("a refused command sent %s %s", rq.Method, rq.Route)
		}
	}
	for _, l := range logs.find("") {
		if l.level >= slog.LevelError {
			t.Errorf("logged at error: %v", l)
		}
	}
	infos := logs.find("refused a slash command that does not match its definition")
	if len(infos) == 0 || slices.ContainsFunc(infos, func(l capturedLine) bool { return l.level != slog.LevelInfo }) {
		t.Errorf("refusals logged %v, want info lines", infos)
	}
	pingOK(t, h)

	// A plain member may run none of the moderation commands, so these
	// valid payloads are refused for their rights, if at all: never as damaged.
	for _, l := range leaves() {
		out, err := send(h.member, r.payload(l, nil))
		if err != nil {
			t.Fatalf("valid %s: %v", l.path(), err)
		}
		if out.Content == errDamagedCommand.Msg {
			t.Errorf("valid %s: refused as damaged", l.path())
		}
	}
}

// TestUndecodableCommands: payloads that disgo's decoder cannot read (it
// panics on them) cost the event, never the process: the bot ignores
// them and keeps serving.
func TestUndecodableCommands(t *testing.T) {
	h := newHarness(t)
	for name, data := range map[string]map[string]any{
		"GroupWithoutOptions": {"id": "1", "name": "config", "type": 1, "options": []any{
			map[string]any{"name": "escalation", "type": 2, "options": []any{}}}},
		"SubcommandAfterOption": {"id": "1", "name": "config", "type": 1, "options": []any{
			map[string]any{"name": "enabled", "type": 5, "value": true},
			map[string]any{"name": "dm", "type": 1, "options": []any{}}}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := h.srv.InvokeRaw(ctx, h.guild, h.admin, discordtest.InteractionCommand, data); err != discordtest.ErrNoResponse {
				t.Errorf("got %v, want the event ignored (no answer)", err)
			}
			pingOK(t, h)
		})
	}
}
