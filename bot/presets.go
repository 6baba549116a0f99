package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// Reason presets: a guild's named reasons. Every reason option autocompletes
// from them, and a reason typed exactly as a preset's name (in any case)
// stands for its text; on /warn the preset's points apply unless the
// moderator gave points.

// Limits of /config reasons. A guild keeps at most as many presets as
// Discord shows autocomplete choices, so every preset can be offered.
const (
	maxPresets    = maxChoices
	maxPresetName = 32
)

// PresetStore is what the commands need of reason presets.
// *storage.Presets implements it.
type PresetStore interface {
	List(ctx context.Context, guildID string) ([]storage.ReasonPreset, error)
	Put(ctx context.Context, guildID string, p storage.ReasonPreset, max int, actorID string, at time.Time) (bool, error)
	Remove(ctx context.Context, guildID, name, actorID string, at time.Time) (storage.ReasonPreset, error)
}

// reasonsGroup is /config reasons add|remove|list.
func reasonsGroup() discord.ApplicationCommandOptionSubCommandGroup {
	name := func(desc string, auto bool) discord.ApplicationCommandOptionString {
		return discord.ApplicationCommandOptionString{Name: "name", Description: desc, Required: true,
			MinLength: new(1), MaxLength: new(maxPresetName), Autocomplete: auto}
	}
	return discord.ApplicationCommandOptionSubCommandGroup{
		Name:        "reasons",
		Description: "Preset reasons that every reason option offers",
		Options: []discord.ApplicationCommandOptionSubCommand{
			{Name: "add", Description: "Add a preset reason, or replace the one of the same name", Options: []discord.ApplicationCommandOption{
				name("A short name that moderators type or pick, such as spam", false),
				discord.ApplicationCommandOptionString{Name: "text", Description: "The reason it stands for; members see it",
					Required: true, MinLength: new(1), MaxLength: new(maxReason)},
				discord.ApplicationCommandOptionInt{Name: "points", Description: "Points of a /warn with this reason (default 1)",
					MinValue: new(minWarnPoints), MaxValue: new(maxWarnPoints)},
			}},
			{Name: "remove", Description: "Remove a preset reason", Options: []discord.ApplicationCommandOption{
				name("The preset's name", true),
			}},
			{Name: "list", Description: "Show the preset reasons"},
		},
	}
}

func (h *handlers) handlePresetAdd(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	name, err := presetName(data.String("name"))
	if err != nil {
		return err
	}
	text, err := CleanText(data.String("text"), "text", 1, maxReason)
	if err != nil {
		return err
	}
	p := storage.ReasonPreset{Name: name, Text: text}
	if pts, ok := data.OptInt("points"); ok {
		if pts < minWarnPoints || pts > maxWarnPoints {
			return userErrorf("Points must be %d to %d.", minWarnPoints, maxWarnPoints)
		}
		p.Points = pts
	}
	if h.stores.Presets == nil {
		return errors.New("no preset store")
	}
	replaced, err := h.stores.Presets.Put(e.ctx, mc.guild, p, maxPresets, mc.actor.UserID.String(), mc.now)
	if errors.Is(err, storage.ErrTooMany) {
		return userErrorf("This server already has %d preset reasons, the most Discord can offer. Remove one first (/config reasons remove).", maxPresets)
	}
	if err != nil {
		return err
	}
	verb := "Added"
	if replaced {
		verb = "Replaced"
	}
	return e.reply(fmt.Sprintf("%s the preset reason **%s**%s. Every reason option now offers it; typing \"%s\" as a reason stands for: %s",
		verb, escapeMarkdown(name), presetPointsText(p), escapeMarkdown(name), escapeMarkdown(text)), true)
}

func presetPointsText(p storage.ReasonPreset) string {
	if p.Points == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s on /warn)", plural(int64(p.Points), "point"))
}

// presetName checks a preset's name: one line, short enough to type and to
// leave room for its text in a choice's label.
func presetName(s string) (string, error) {
	name, err := CleanText(s, "name", 1, maxPresetName)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(name, "\n\t") {
		return "", &UserError{"A preset's name must be one line."}
	}
	// A name is typed to be used: one with invisible characters looks
	// like another and never matches what a moderator types.
	if hasInvisible(name) {
		return "", &UserError{"A preset's name can't hold invisible characters (such as zero-width spaces); type it with visible letters only."}
	}
	return name, nil
}

// hasInvisible reports whether s holds a character that shows nothing
// where it stands: zero-width spaces, word joiners, soft hyphens,
// direction marks and fillers. Zero-width joiners and non-joiners are
// allowed between two letters or symbols, where some scripts and emoji
// need them; at an end, or beside a space, they only hide.
func hasInvisible(s string) bool {
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '\u200c' || r == '\u200d':
			if i == 0 || i == len(rs)-1 || !visible(rs[i-1]) || !visible(rs[i+1]) {
				return true
			}
		case r == '\u00ad', r == '\u034f', r == '\u061c', r == '\u115f', r == '\u1160', r == '\u180e',
			r >= '\u200b' && r <= '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2060' && r <= '\u206f',
			r == '\u3164', r == '\ufeff', r == '\uffa0':
			return true
		case r != ' ' && !unicode.IsGraphic(r):
			return true
		}
	}
	return false
}

// visible reports whether r shows something by itself.
func visible(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Mn, r)
}

func (h *handlers) handlePresetRemove(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	if h.stores.Presets == nil {
		return errors.New("no preset store")
	}
	name := strings.TrimSpace(data.String("name"))
	p, err := h.stores.Presets.Remove(e.ctx, mc.guild, name, mc.actor.UserID.String(), mc.now)
	if errors.Is(err, storage.ErrNotFound) {
		return userErrorf("There is no preset reason named %s; /config reasons list shows them.", escapeMarkdown(clipRunes(oneLine(name), maxPresetName)))
	}
	if err != nil {
		return err
	}
	return e.reply(fmt.Sprintf("Removed the preset reason **%s**. Cases that used it keep their text.", escapeMarkdown(p.Name)), true)
}

func (h *handlers) handlePresetList(e *event, _ discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	presets, err := h.presets(e.ctx, mc.guild)
	if err != nil {
		return err
	}
	if len(presets) == 0 {
		return e.reply("This server has no preset reasons. Add one with /config reasons add.", true)
	}
	embed := discord.Embed{
		Title:       fmt.Sprintf("Preset reasons (%d of %d)", len(presets), maxPresets),
		Description: presetLines(presets),
		Color:       kindColor(""),
		Footer:      &discord.EmbedFooter{Text: "Type a preset's name as a reason, or pick it from the list."},
	}
	return e.createMessage(discord.MessageCreate{
		Embeds: []discord.Embed{fitEmbed(embed)}, Flags: discord.MessageFlagEphemeral, AllowedMentions: noMentions(),
	})
}

// presetLines lists the presets, one a line, each text cut short so
// that every preset fits an embed's description: a full server's long
// texts, doubled by escaping, would otherwise push the last ones out.
func presetLines(presets []storage.ReasonPreset) string {
	var desc string
	for clip := 120; clip > 0; clip -= 10 {
		lines := make([]string, 0, len(presets))
		for _, p := range presets {
			lines = append(lines, fmt.Sprintf("**%s**%s: %s", escapeMarkdown(p.Name), presetPointsText(p),
				escapeMarkdown(clipRunes(oneLine(p.Text), clip))))
		}
		if desc = strings.Join(lines, "\n"); utf8.RuneCountInString(desc) <= embedDescriptionMax {
			break
		}
	}
	return desc
}

// presets returns the guild's presets; none when the bot runs without a
// preset store.
func (h *handlers) presets(ctx context.Context, guild string) ([]storage.ReasonPreset, error) {
	if h.stores.Presets == nil {
		return nil, nil
	}
	return h.stores.Presets.List(ctx, guild)
}

// presetAutocomplete offers the guild's presets for a reason option,
// filtered by what the moderator typed (any part of the name or text).
// Members who are not moderators get no choices: the presets are the
// moderators' own words.
func (h *handlers) presetAutocomplete(e *event, data discord.AutocompleteInteractionData) error {
	choices := []discord.AutocompleteChoice{}
	ok, err := h.isModerator(e.ctx, e)
	if err != nil {
		return err
	}
	if ok {
		if choices, err = h.presetChoices(e.ctx, e.GuildID().String(), typedText(data.Focused().Value)); err != nil {
			return err
		}
	}
	return e.autocompleteResult(choices)
}

// presetNameAutocomplete offers the presets' names to /config reasons
// remove, for members with Manage Server only.
func (h *handlers) presetNameAutocomplete(e *event, data discord.AutocompleteInteractionData) error {
	choices := []discord.AutocompleteChoice{}
	if e.GuildID() != nil && e.Member() != nil {
		mc, err := h.guildContext(e.ctx, e)
		if err != nil {
			return err
		}
		if CanManageGuild(mc.actor) {
			if choices, err = h.presetChoices(e.ctx, mc.guild, typedText(data.Focused().Value)); err != nil {
				return err
			}
		}
	}
	return e.autocompleteResult(choices)
}

// presetChoices are the presets matching query as choices: the label shows
// name and text, the value is the name, which the command expands (a
// choice's value, like its label, holds at most 100 characters).
func (h *handlers) presetChoices(ctx context.Context, guild, query string) ([]discord.AutocompleteChoice, error) {
	presets, err := h.presets(ctx, guild)
	if err != nil {
		return nil, err
	}
	choices := []discord.AutocompleteChoice{}
	for _, p := range presets {
		if len(choices) == maxChoices {
			break
		}
		if query != "" && !strings.Contains(strings.ToLower(p.Name), query) && !strings.Contains(strings.ToLower(oneLine(p.Text)), query) {
			continue
		}
		label := clipRunes(oneLine(p.Name+" · "+p.Text), maxChoiceName)
		choices = append(choices, discord.AutocompleteChoiceString{Name: label, Value: p.Name})
	}
	return choices, nil
}

// typedText reads a focused string option's partial input, lowered for
// matching.
func typedText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// withPresets expands a reason typed as a preset's name into the preset's
// text before next reads the options, and on /warn gives the preset's
// points when the moderator gave none. Anything else reaches next as
// typed. The options are copied, never changed in place.
func (h *handlers) withPresets(next slashHandler) slashHandler {
	return func(e *event, data discord.SlashCommandInteractionData) error {
		typed, ok := data.OptString("reason")
		gid := e.GuildID()
		if !ok || gid == nil {
			return next(e, data)
		}
		p, found, err := h.presetNamed(e.ctx, gid.String(), typed)
		if err != nil {
			return err
		}
		if found {
			opts := maps.Clone(data.Options)
			text, _ := json.Marshal(p.Text)
			opts["reason"] = discord.SlashCommandOption{Name: "reason", Type: discord.ApplicationCommandOptionTypeString, Value: text}
			if _, given := data.Options["points"]; !given && p.Points > 0 && data.CommandName() == "warn" {
				pts, _ := json.Marshal(p.Points)
				opts["points"] = discord.SlashCommandOption{Name: "points", Type: discord.ApplicationCommandOptionTypeInt, Value: pts}
			}
			data.Options = opts
		}
		return next(e, data)
	}
}

// presetNamed returns the guild's preset whose name typed is, compared as
// withPresets compares: around spaces ignored, in any case. The Warn…
// modal's reason expands through it too, as /warn's does.
func (h *handlers) presetNamed(ctx context.Context, guild, typed string) (storage.ReasonPreset, bool, error) {
	typed = strings.TrimSpace(typed)
	if typed == "" || utf8.RuneCountInString(typed) > maxPresetName {
		return storage.ReasonPreset{}, false, nil
	}
	presets, err := h.presets(ctx, guild)
	if err != nil {
		return storage.ReasonPreset{}, false, err
	}
	for _, p := range presets {
		if strings.EqualFold(typed, p.Name) {
			return p, true, nil
		}
	}
	return storage.ReasonPreset{}, false, nil
}

// byOption routes an autocomplete to the handler of its focused option;
// an option without one gets no choices.
func byOption(handlers map[string]autocompleteHandler) autocompleteHandler {
	return func(e *event, data discord.AutocompleteInteractionData) error {
		if f := handlers[data.Focused().Name]; f != nil {
			return f(e, data)
		}
		return e.autocompleteResult([]discord.AutocompleteChoice{})
	}
}
