package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// maxOptionString bounds a string option whose definition sets no
// max_length. Every option that takes free text sets its own; the others
// take a word or a duration, so a value longer than the longest text any
// option takes (a note) is not one the bot could use.
const maxOptionString = 1000

// errDamagedCommand answers a slash command whose options do not fit the
// command's definition: Discord checks them against the definition it was
// given, so such a command comes from a modified client, a stale
// registration or a fault on the way, and its handler must not see it.
var errDamagedCommand = &UserError{"This command arrived damaged, so the bot did not run it. Try it again; " +
	"if this keeps happening, reload Discord (Ctrl+R) so that it fetches the bot's current commands."}

// damagedCommand is errDamagedCommand with what was wrong, for the log.
// It never holds an option's value, which may be a user ID or free text.
// A value out of its option's bounds gets its own message instead (user),
// naming the bounds: that is also what a command registered by an older
// version of the bot, with other bounds, sends until Discord catches up.
type damagedCommand struct {
	why  string
	user *UserError
}

// Error describes the damage for the log.
func (d *damagedCommand) Error() string {
	return "slash command does not match its definition: " + d.why
}

// Unwrap lets the user see errDamagedCommand's message.
func (d *damagedCommand) Unwrap() error {
	if d.user != nil {
		return d.user
	}
	return errDamagedCommand
}

func damaged(format string, a ...any) error { return &damagedCommand{why: fmt.Sprintf(format, a...)} }

// commandShapes holds what the bot's own definitions allow, so that the
// router can check a slash command before any handler reads it.
type commandShapes struct {
	// leaves maps the path of every runnable command ("/warn",
	// "/case/view", "/config/escalation/add") to its options.
	leaves map[string][]discord.ApplicationCommandOption
	// commands holds the path of every top-level command ("/config").
	commands map[string]bool
}

// newCommandShapes indexes cmds by the paths the router routes on.
func newCommandShapes(cmds []Command) commandShapes {
	s := commandShapes{leaves: map[string][]discord.ApplicationCommandOption{}, commands: map[string]bool{}}
	for _, c := range cmds {
		def, ok := c.Slash()
		if !ok {
			continue // a context-menu entry has no options to check
		}
		root := "/" + def.Name
		s.commands[root] = true
		var plain []discord.ApplicationCommandOption
		nested := false
		for _, o := range def.Options {
			switch o := o.(type) {
			case discord.ApplicationCommandOptionSubCommand:
				nested = true
				s.leaves[root+"/"+o.Name] = o.Options
			case discord.ApplicationCommandOptionSubCommandGroup:
				nested = true
				for _, sub := range o.Options {
					s.leaves[root+"/"+o.Name+"/"+sub.Name] = sub.Options
				}
			default:
				plain = append(plain, o)
			}
		}
		if !nested {
			s.leaves[root] = plain
		}
	}
	return s
}

// check returns nil if data is a command the definitions allow: a known
// path, only known options, each of its declared type with a value of that
// type within the declared bounds and choices, every required option
// present, and every user, role or channel among the resolved data that
// Discord sends with it. An unknown command is errNoRoute, since another
// version of the bot may have registered it; anything else is a
// *damagedCommand.
func (s commandShapes) check(data discord.SlashCommandInteractionData) error {
	path := data.CommandPath()
	defs, ok := s.leaves[path]
	if !ok {
		if s.commands["/"+data.CommandName()] {
			return damaged("no subcommand %q", clip(path))
		}
		return errNoRoute
	}
	for name, got := range data.Options {
		i := slices.IndexFunc(defs, func(o discord.ApplicationCommandOption) bool { return o.OptionName() == name })
		if i < 0 {
			return damaged("unknown option %q", clip(name))
		}
		def := defs[i]
		if got.Type != def.Type() {
			return damaged("option %q has type %d, want %d", name, got.Type, def.Type())
		}
		why, bounds := checkValue(def, got.Value, data.Resolved)
		if bounds != "" {
			return &damagedCommand{why: fmt.Sprintf("option %q: %s", name, why), user: &UserError{bounds}}
		}
		if why != "" {
			return damaged("option %q: %s", name, why)
		}
	}
	for _, def := range defs {
		if _, ok := data.Options[def.OptionName()]; !ok && required(def) {
			return damaged("required option %q is missing", def.OptionName())
		}
	}
	return nil
}

// checkValue returns what is wrong with raw as a value of def, or "", and
// for a value outside def's bounds, the message that tells the user them.
// Choices are left to the handlers, whose refusals list them.
func checkValue(def discord.ApplicationCommandOption, raw json.RawMessage, resolved discord.ResolvedData) (why, bounds string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "no value", ""
	}
	switch d := def.(type) {
	case discord.ApplicationCommandOptionString:
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "not a string", ""
		}
		n := utf8.RuneCountInString(v)
		if d.MinLength != nil && n < *d.MinLength {
			return fmt.Sprintf("%d characters, fewer than %d", n, *d.MinLength),
				fmt.Sprintf("The %s must have at least %s; yours has %d.", d.Name, characters(*d.MinLength), n)
		}
		if limit := maxOr(d.MaxLength, maxOptionString); n > limit {
			return fmt.Sprintf("%d characters, more than %d", n, limit),
				fmt.Sprintf("The %s can be at most %s; yours has %d.", d.Name, characters(limit), n)
		}
	case discord.ApplicationCommandOptionInt:
		// ParseInt refuses fractions, exponents and numbers past 64 bits,
		// which decoding into an int would round or wrap.
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return "not an integer", ""
		}
		low, high := d.MinValue != nil && v < int64(*d.MinValue), d.MaxValue != nil && v > int64(*d.MaxValue)
		if low || high {
			return "out of bounds", intBounds(d)
		}
	case discord.ApplicationCommandOptionBool:
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return "not a boolean", ""
		}
	case discord.ApplicationCommandOptionUser:
		id, ok := snowflakeValue(raw)
		if !ok {
			return "not a user ID", ""
		}
		if _, ok := resolved.Users[id]; !ok {
			return "the user is not among the resolved data", ""
		}
	case discord.ApplicationCommandOptionRole:
		id, ok := snowflakeValue(raw)
		if !ok {
			return "not a role ID", ""
		}
		if _, ok := resolved.Roles[id]; !ok {
			return "the role is not among the resolved data", ""
		}
	case discord.ApplicationCommandOptionChannel:
		id, ok := snowflakeValue(raw)
		if !ok {
			return "not a channel ID", ""
		}
		ch, ok := resolved.Channels[id]
		if !ok {
			return "the channel is not among the resolved data", ""
		}
		if len(d.ChannelTypes) > 0 && !slices.Contains(d.ChannelTypes, ch.Type) {
			return fmt.Sprintf("a channel of type %d, which the command does not take", ch.Type), ""
		}
	default:
		// The bot defines no option of another type; one added later is
		// refused until this check knows its values.
		return fmt.Sprintf("an option of type %d, which the bot does not check", def.Type()), ""
	}
	return "", ""
}

// intBounds tells the user the bounds of an integer option:
// "Points must be 1 to 100."
func intBounds(d discord.ApplicationCommandOptionInt) string {
	name := strings.ToUpper(d.Name[:1]) + d.Name[1:]
	switch {
	case d.MinValue != nil && d.MaxValue != nil:
		return fmt.Sprintf("%s must be %d to %d.", name, *d.MinValue, *d.MaxValue)
	case d.MinValue != nil:
		return fmt.Sprintf("%s must be at least %d.", name, *d.MinValue)
	}
	return fmt.Sprintf("%s can be at most %d.", name, *d.MaxValue)
}

// required reports whether def must be present.
func required(def discord.ApplicationCommandOption) bool {
	switch d := def.(type) {
	case discord.ApplicationCommandOptionString:
		return d.Required
	case discord.ApplicationCommandOptionInt:
		return d.Required
	case discord.ApplicationCommandOptionBool:
		return d.Required
	case discord.ApplicationCommandOptionUser:
		return d.Required
	case discord.ApplicationCommandOptionRole:
		return d.Required
	case discord.ApplicationCommandOptionChannel:
		return d.Required
	}
	return false
}

// snowflakeValue reads an ID option, which Discord sends as a string of
// digits; zero is no ID.
func snowflakeValue(raw json.RawMessage) (snowflake.ID, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	id, err := snowflake.Parse(s)
	return id, err == nil && id != 0
}

func maxOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// clip shortens a name from the payload for the log, where a 5,000-character
// name would drown the line.
func clip(s string) string {
	const most = 64
	if utf8.RuneCountInString(s) <= most {
		return s
	}
	return string([]rune(s)[:most]) + "…"
}
