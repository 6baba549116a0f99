package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// Escalation: a guild's rules turn warning points into actions. When a new
// warning takes a member's active points from below a rule's threshold to
// it or above, the bot applies the highest rule crossed, as a case of its
// own linked to the warning. Revoked and expired warnings do not count, so
// after a revocation a later warning can cross the same rule again.

// Limits of /config escalation.
const (
	maxEscalationRules  = 25
	maxEscalationPoints = 1000
)

// escalationGroup is /config escalation add|remove|list.
func escalationGroup() discord.ApplicationCommandOptionSubCommandGroup {
	points := func(desc string) discord.ApplicationCommandOptionInt {
		return discord.ApplicationCommandOptionInt{Name: "points", Description: desc, Required: true,
			MinValue: new(1), MaxValue: new(maxEscalationPoints)}
	}
	return discord.ApplicationCommandOptionSubCommandGroup{
		Name:        "escalation",
		Description: "Automatic actions when a member's active warning points reach a threshold",
		Options: []discord.ApplicationCommandOptionSubCommand{
			{Name: "add", Description: "Add a rule, or replace the rule at the same points", Options: []discord.ApplicationCommandOption{
				points("The active points that trigger the rule"),
				discord.ApplicationCommandOptionString{Name: "action", Description: "What to do", Required: true,
					Choices: []discord.ApplicationCommandOptionChoiceString{
						{Name: "timeout", Value: string(storage.EscalateTimeout)},
						{Name: "kick", Value: string(storage.EscalateKick)},
						{Name: "ban", Value: string(storage.EscalateBan)},
					}},
				discord.ApplicationCommandOptionString{Name: "duration",
					Description: "For a timeout (required, at most 28 days) or a temporary ban, such as 1h or 7d", MaxLength: new(40)},
			}},
			{Name: "remove", Description: "Remove the rule at a number of points", Options: []discord.ApplicationCommandOption{
				points("The points of the rule to remove"),
			}},
			{Name: "list", Description: "Show the rules"},
		},
	}
}

func (h *handlers) handleEscalationAdd(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	rule, err := readEscalationRule(data)
	if err != nil {
		return err
	}
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		i := slices.IndexFunc(s.Escalations, func(r storage.EscalationRule) bool { return r.Points == rule.Points })
		switch {
		case i >= 0 && s.Escalations[i] == rule:
			return fmt.Sprintf("That rule already exists (at %s: %s); nothing changed.", plural(int64(rule.Points), "point"), escalationAction(rule)), false, nil
		case i < 0 && len(s.Escalations) >= maxEscalationRules:
			return "", false, userErrorf("This server already has %d escalation rules, the most I keep. Remove one first.", maxEscalationRules)
		}
		replaced := ""
		if i >= 0 {
			replaced = fmt.Sprintf(" It replaces the rule that would %s.", escalationAction(s.Escalations[i]))
			s.Escalations[i] = rule
		} else {
			s.Escalations = append(s.Escalations, rule)
		}
		slices.SortFunc(s.Escalations, func(a, b storage.EscalationRule) int { return a.Points - b.Points })
		return fmt.Sprintf("Rule added: when a warning takes a member's active points from below %d to %d or more, I will %s automatically.%s",
			rule.Points, rule.Points, escalationVerb(rule), replaced), true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}

func (h *handlers) handleEscalationRemove(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	points := data.Int("points")
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		i := slices.IndexFunc(s.Escalations, func(r storage.EscalationRule) bool { return r.Points == points })
		if i < 0 {
			return fmt.Sprintf("There is no rule at %s; nothing changed.", plural(int64(points), "point")), false, nil
		}
		old := s.Escalations[i]
		s.Escalations = slices.Delete(s.Escalations, i, i+1)
		return fmt.Sprintf("Removed the rule at %s (%s).", plural(int64(points), "point"), escalationAction(old)), true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}

func (h *handlers) handleEscalationList(e *event, _ discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	return e.reply("Escalation rules:\n"+escalationText(mc.settings.Escalations), true)
}

// readEscalationRule checks /config escalation add's options. A timeout
// needs a duration within Discord's limit; a ban may have one (a temporary
// ban; "never" is permanent); a kick has none.
func readEscalationRule(data discord.SlashCommandInteractionData) (storage.EscalationRule, error) {
	r := storage.EscalationRule{Points: data.Int("points"), Action: storage.EscalationAction(data.String("action"))}
	if r.Points < 1 || r.Points > maxEscalationPoints {
		return r, userErrorf("Points must be 1 to %d.", maxEscalationPoints)
	}
	s, hasDuration := data.OptString("duration")
	var err error
	switch r.Action {
	case storage.EscalateTimeout:
		if !hasDuration {
			return r, &UserError{"A timeout rule needs a duration, such as 1h or 1d (at most 28 days)."}
		}
		r.Duration, err = ParseTimeout(s)
	case storage.EscalateKick:
		if hasDuration {
			return r, &UserError{"A kick has no duration; leave the duration out."}
		}
	case storage.EscalateBan:
		if hasDuration {
			r.Duration, _, err = ParseDuration(s)
		}
	default:
		return r, &UserError{"Choose an action: timeout, kick or ban."}
	}
	return r, err
}

// escalationVerb is a rule's action as a verb: "ban them for 7 days".
func escalationVerb(r storage.EscalationRule) string {
	switch {
	case r.Action == storage.EscalateTimeout:
		return "time them out for " + FormatDuration(r.Duration)
	case r.Action == storage.EscalateBan && r.Duration > 0:
		return "ban them for " + FormatDuration(r.Duration)
	}
	return string(r.Action) + " them"
}

// escalationKind is the case kind a rule's action records.
func escalationKind(a storage.EscalationAction) storage.CaseKind {
	switch a {
	case storage.EscalateTimeout:
		return storage.CaseTimeout
	case storage.EscalateKick:
		return storage.CaseKick
	}
	return storage.CaseBan
}

// escalate applies the rule that warning crossed, taking the member's
// active points from before to after, if any. The bot acts as itself:
// the case names the bot as moderator and the warning as its cause. It
// returns a line for the moderator's reply, "" when no rule was crossed.
//
// A failure (a missing permission, a role too low) loses nothing: the
// warning stays, and the reply and the modlog say what was not done.
func (h *handlers) escalate(ctx context.Context, log *slog.Logger, e *event, mc *modContext, warning storage.Case,
	user discord.User, member *discord.ResolvedMember, before, after int) string {
	rule, ok := mc.settings.Escalation(before, after)
	if !ok {
		return ""
	}
	kind := escalationKind(rule.Action)
	log = log.With(slog.Int("rule", rule.Points), slog.String("action", string(rule.Action)))
	res, err := func() (res actionResult, err error) {
		if err := h.checkBotAction(ctx, e, mc, targetFrom(user.ID, member), kind); err != nil {
			return actionResult{}, err
		}
		// The ban or kick a moderator's warning sets off counts against
		// that moderator's raid brake, as their own /ban would: warnings
		// must not be a way round it.
		done, err := h.raidBrake(ctx, log, mc, kind)
		if err != nil {
			return actionResult{}, err
		}
		defer func() { done(err) }()
		return h.enforce(ctx, log, actionRequest{
			kind: kind, guildID: mc.guildID, settings: mc.settings,
			target: user, isMember: member != nil,
			moderatorID: h.discord.botID(), moderatorName: h.discord.selfName(),
			reason: fmt.Sprintf("Automatic: %s of active warnings reached the %d-point rule (warning case #%d)",
				plural(int64(after), "point"), rule.Points, warning.Number),
			duration: rule.Duration, linkedCase: warning.Number, automatic: true, now: mc.now,
		})
	}()
	if err != nil {
		why := h.failureText(nil, log, err)
		log.Warn("escalation not applied", slog.Int64("warning", warning.Number))
		modlog := h.discord.postCaseModlog(ctx, log, mc.settings, warning.Number, discord.Embed{
			Title: fmt.Sprintf("Escalation failed · case #%d", warning.Number),
			Description: fmt.Sprintf("The %d-point rule (%s) was not applied to <@%s>: %s\nThe warning is recorded.",
				rule.Points, escalationAction(rule), warning.TargetID, why),
			Color: kindColor(kind),
		})
		return joinLines(fmt.Sprintf("Escalation: the %d-point rule (%s) was not applied. %s The warning is recorded all the same.",
			rule.Points, escalationAction(rule), why), modlog)
	}
	line := fmt.Sprintf("Escalation: they reached the %d-point rule, so I %s automatically: case #%d.",
		rule.Points, escalationPast(rule), res.c.Number)
	// The warning's line already said whether DMs are on; only a DM that
	// failed is worth a second line.
	dm := res.dm
	if res.dmSent || !mc.settings.DMEnabled {
		dm = ""
	}
	return joinLines(append([]string{line, dm}, res.notes...)...)
}

// escalationPast is a rule's action as done: "banned them for 7 days".
func escalationPast(r storage.EscalationRule) string {
	switch {
	case r.Action == storage.EscalateTimeout:
		return "timed them out for " + FormatDuration(r.Duration)
	case r.Action == storage.EscalateBan && r.Duration > 0:
		return "banned them for " + FormatDuration(r.Duration)
	case r.Action == storage.EscalateBan:
		return "banned them"
	}
	return "kicked them"
}
