package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// Autocomplete limits: Discord shows at most 25 choices of at most 100
// characters. The bot scans more recent cases than it shows, since most
// of them may be notes or actions, which /unwarn cannot revoke.
const (
	maxChoices       = 25
	maxChoiceName    = 100
	autocompleteScan = 200
)

// unwarnCommand defines /unwarn: a moderator revokes a warning. The case
// stays in the history, marked revoked with who, when and why, and stops
// counting towards the member's points.
func unwarnCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "unwarn",
			Description: "Revoke a warning: it stays in the history but no longer counts",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionInt{Name: "case", Description: "The warning's case number",
					Required: true, Autocomplete: true, MinValue: new(1)},
				discord.ApplicationCommandOptionString{Name: "reason", Description: "Why it is revoked",
					Required: true, MinLength: new(1), MaxLength: new(maxReason), Autocomplete: true},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

func (h *handlers) handleUnwarn(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	var reason string
	mc, c, err := h.caseOf(ctx, e, data, "unwarn", "case", func() (err error) {
		reason, err = readReason(data)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	number := c.Number
	switch {
	case c.Kind != storage.CaseWarning:
		return "", nil, userErrorf("Case #%d is %s, not a warning: only warnings can be revoked.", c.Number, kindNoun(c.Kind))
	case c.Revoked != nil:
		return "", nil, alreadyRevoked(c)
	}
	// The same rules as for warning: no one revokes their own warning, nor
	// one of someone ranked at or above them.
	if err := h.checkCaseTarget(ctx, mc, c, "revoke a warning of"); err != nil {
		return "", nil, err
	}

	c, err = h.stores.Cases.Revoke(ctx, mc.guild, number, mc.actor.UserID.String(), reason, mc.now)
	switch {
	case errors.Is(err, storage.ErrConflict):
		// Another moderator revoked it since we looked.
		if cur, gerr := h.findCase(ctx, mc, number); gerr == nil && cur.Revoked != nil {
			return "", nil, alreadyRevoked(cur)
		}
		return "", nil, userErrorf("Case #%d was revoked a moment ago by someone else.", number)
	case err != nil:
		return "", nil, fmt.Errorf("revoke case %d: %w", number, err)
	}
	log.Info("warning revoked", slog.Int64("case", c.Number))

	embed := caseEmbed(c)
	embed.Title = fmt.Sprintf("Case #%d · Warning revoked", c.Number)
	modlog := h.discord.postCaseModlog(ctx, log, mc.settings, c.Number, embed)
	head := fmt.Sprintf("Revoked case #%d, the warning of <@%s> (%s). It stays in their history but no longer counts (%s).",
		c.Number, c.TargetID, escapeMarkdown(c.TargetName), plural(int64(c.Points), "point"))
	return joinLines(head, modlog), nil, nil
}

func alreadyRevoked(c storage.Case) error {
	return userErrorf("Case #%d was already revoked %s by <@%s>.", c.Number, discordTime(c.Revoked.At), c.Revoked.ByID)
}

// unwarnAutocomplete offers the guild's recent active warnings, newest
// first, filtered by what the moderator typed: a case number's digits, or
// any part of the name or reason. Members who are not moderators get no
// choices, since the labels show other members' names and reasons.
func (h *handlers) unwarnAutocomplete(e *event, data discord.AutocompleteInteractionData) error {
	return h.completeCases(e, data, func(ctx context.Context, guild string) ([]storage.Case, error) {
		return h.stores.Cases.RecentActive(ctx, guild, autocompleteScan, h.now())
	}, func(c storage.Case) bool { return c.Kind == storage.CaseWarning && c.Active(h.now()) })
}

// completeCases answers an autocomplete of a case number from the cases
// that recent returns, newest first, keeping those keep accepts that fit
// what the moderator typed. A typed number is also looked up itself, first,
// so that an older case than recent reaches is offered too. Members who
// are not moderators get no choices.
func (h *handlers) completeCases(e *event, data discord.AutocompleteInteractionData,
	recent func(ctx context.Context, guild string) ([]storage.Case, error), keep func(storage.Case) bool) error {
	ctx := e.ctx
	choices := []discord.AutocompleteChoice{}
	ok, err := h.isModerator(ctx, e)
	if err != nil {
		return err
	}
	if ok {
		cases, err := recent(ctx, e.GuildID().String())
		if err != nil {
			return err
		}
		query := typedQuery(data.Focused().Value)
		exact := int64(0)
		if n, err := strconv.ParseInt(query, 10, 64); err == nil && n > 0 {
			c, err := h.stores.Cases.Get(ctx, e.GuildID().String(), n)
			switch {
			case err == nil && keep(c):
				exact = n
				choices = append(choices, discord.AutocompleteChoiceInt{Name: caseChoiceLabel(c), Value: int(c.Number)})
			case err != nil && !errors.Is(err, storage.ErrNotFound):
				return err
			}
		}
		for _, c := range cases {
			if len(choices) == maxChoices {
				break
			}
			if c.Number != exact && keep(c) && matchesQuery(c, query) {
				choices = append(choices, discord.AutocompleteChoiceInt{Name: caseChoiceLabel(c), Value: int(c.Number)})
			}
		}
	}
	return e.autocompleteResult(choices)
}

// caseAutocomplete offers any of the guild's recent cases, for /case view
// and /case reason.
func (h *handlers) caseAutocomplete(e *event, data discord.AutocompleteInteractionData) error {
	return h.completeCases(e, data, func(ctx context.Context, guild string) ([]storage.Case, error) {
		return h.stores.Cases.Recent(ctx, guild, autocompleteScan)
	}, func(storage.Case) bool { return true })
}

// isModerator applies the moderator rule of moderatorContext to an
// autocomplete interaction.
func (h *handlers) isModerator(ctx context.Context, e *event) (bool, error) {
	if e.GuildID() == nil || e.Member() == nil {
		return false, nil
	}
	mc, err := h.guildContext(ctx, e)
	if err != nil {
		return false, err
	}
	return IsModerator(mc.actor, mc.facts), nil
}

// caseChoiceLabel is "#12 · warning · username · reason", cut to fit.
func caseChoiceLabel(c storage.Case) string {
	return clipRunes(oneLine(fmt.Sprintf("#%d · %s · %s · %s", c.Number, c.Kind, c.TargetName, c.Reason)), maxChoiceName)
}

// typedQuery reads the focused option's partial input. Discord sends it as
// a string even for an integer option, since it may not be a number yet;
// a number is accepted too.
func typedQuery(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return ""
		}
		s = n.String()
	}
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

// matchesQuery reports whether a case fits what the moderator typed: digits
// match case numbers that start with them; other text matches anywhere in
// the member's name or the reason.
func matchesQuery(c storage.Case, query string) bool {
	if query == "" {
		return true
	}
	if _, err := strconv.ParseUint(query, 10, 64); err == nil {
		return strings.HasPrefix(strconv.FormatInt(c.Number, 10), query)
	}
	return strings.Contains(strings.ToLower(c.TargetName), query) ||
		strings.Contains(strings.ToLower(oneLine(c.Reason)), query)
}
