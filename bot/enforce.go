package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

// This file holds what the action commands (/timeout, /untimeout, /kick,
// /ban, /unban) and escalation share: the checks before an action, carrying
// it out on Discord with its DM, case, schedule and modlog post, and turning
// Discord's refusals into advice.

// maxAuditReason is the longest X-Audit-Log-Reason Discord keeps.
const maxAuditReason = 512

// actionRequest is one moderation action to carry out.
type actionRequest struct {
	kind          storage.CaseKind // CaseTimeout, CaseUntimeout, CaseKick, CaseBan or CaseUnban
	guildID       snowflake.ID
	settings      storage.GuildSettings
	target        discord.User
	isMember      bool
	moderatorID   snowflake.ID
	moderatorName string
	reason        string
	// duration is a timeout's length, or a temporary ban's (0: permanent).
	duration       time.Duration
	deleteMessages time.Duration // how much of their history a ban deletes
	linkedCase     int64         // the warning that triggered an escalation
	automatic      bool          // taken by escalation, not by a person
	now            time.Time
}

// moderatorAction is the request for an action that the command's invoker
// takes in person; the caller adds what is particular to the kind
// (membership, duration, messages to delete). Escalation and the scheduler,
// where the bot acts as itself, build their requests whole.
func (mc *modContext) moderatorAction(e *event, kind storage.CaseKind, target discord.User, reason string) actionRequest {
	return actionRequest{
		kind: kind, guildID: mc.guildID, settings: mc.settings, target: target,
		moderatorID: mc.actor.UserID, moderatorName: invokerName(e),
		reason: reason, now: mc.now,
	}
}

// actionResult is what carrying out an action did.
type actionResult struct {
	c      storage.Case
	until  time.Time // when a timeout or temporary ban ends; zero: never
	dm     string    // the reply's note about the DM; "" when none applies
	dmSent bool      // the DM arrived
	notes  []string  // problems after the action (schedule, modlog)
}

func actionVerb(k storage.CaseKind) string                    { return actionOf(k).verb }
func actionPast(k storage.CaseKind) string                    { return actionOf(k).past }
func actionPermission(k storage.CaseKind) discord.Permissions { return actionOf(k).perm }

// checkAction applies the rules before an action: the invoker may act on
// the target (CheckTarget), and the bot holds the permission the action
// needs and ranks above the target (CheckBot). Each refusal says what is
// wrong and how to fix it.
func (h *handlers) checkAction(ctx context.Context, e *event, mc *modContext, target Target, kind storage.CaseKind) error {
	if err := CheckTarget(mc.actor, target, mc.facts, actionVerb(kind)); err != nil {
		return err
	}
	return h.checkBotAction(ctx, e, mc, target, kind)
}

// checkBotAction is the bot's half of checkAction; escalation, where the
// bot itself acts, needs only this half.
func (h *handlers) checkBotAction(ctx context.Context, e *event, mc *modContext, target Target, kind storage.CaseKind) error {
	facts, err := h.discord.botFacts(ctx, mc.guildID, e.AppPermissions())
	if err != nil {
		return err
	}
	need := actionPermission(kind)
	// CheckBot's "I need … to <verb>." reads badly with "lift the timeout of".
	if kind == storage.CaseUntimeout && !hasPermissions(facts.Permissions, need) {
		return userErrorf("I need the %s permission to lift timeouts. A server admin can give it to my role in Server Settings → Roles.", PermissionNames(need))
	}
	return CheckBot(facts, target, need, mc.facts, actionVerb(kind))
}

// enforce carries out an action whose checks passed: it tells the member by
// DM, acts on Discord with the reason for Discord's audit log, records the
// case, schedules the end of a temporary ban, and posts to the modlog.
//
// The case is recorded only after Discord carried out the action, so the
// history holds what really happened. A kicked or banned member may share
// no server with the bot afterwards, and Discord then refuses DMs, so they
// are told first; others are told after. An error means nothing happened
// on Discord and nothing was recorded, unless it says otherwise.
func (h *handlers) enforce(ctx context.Context, log *slog.Logger, a actionRequest) (actionResult, error) {
	var res actionResult
	if a.duration > 0 && (a.kind == storage.CaseTimeout || a.kind == storage.CaseBan) {
		res.until = a.now.Add(a.duration)
	}
	row := actionOf(a.kind)
	dmFirst := row.dmFirst
	if dmFirst {
		res.dm, res.dmSent = h.discord.actionDM(ctx, log, a, res.until)
	}
	if err := h.discord.applyAction(ctx, a, res.until); err != nil {
		if res.dmSent {
			h.discord.retractDM(ctx, log, a)
		}
		return res, actionFailure(err, a.kind)
	}
	c, err := h.stores.Cases.Create(ctx, storage.NewCase{
		GuildID:       a.guildID.String(),
		Kind:          a.kind,
		TargetID:      a.target.ID.String(),
		TargetName:    a.target.Username,
		ModeratorID:   a.moderatorID.String(),
		ModeratorName: a.moderatorName,
		Reason:        a.reason,
		Duration:      a.duration,
		CreatedAt:     a.now,
		LinkedCase:    a.linkedCase,
	})
	if err != nil {
		id := newErrorID()
		log.Error("action taken on Discord but its case was not stored", slog.String("error_id", id),
			slog.String("kind", string(a.kind)), errAttr(err))
		return res, userErrorf("I %s them, but could not record the case (error ID %s). Add a /note so their history is complete.", actionPast(a.kind), id)
	}
	res.c = c
	log.Info("moderation action taken", slog.String("kind", string(a.kind)), slog.Int64("case", c.Number), slog.Bool("automatic", a.automatic))

	if note := h.scheduleEnd(ctx, log, a, c, res.until); note != "" {
		res.notes = append(res.notes, note)
	}
	if !dmFirst && !row.noDM {
		res.dm, res.dmSent = h.discord.actionDM(ctx, log, a, res.until)
	}
	embed := caseEmbed(c)
	if !res.until.IsZero() {
		embed.Fields = append(embed.Fields, discord.EmbedField{Name: "Ends", Value: discordTime(res.until), Inline: boolPtr(true)})
	}
	if note := h.discord.postCaseModlog(ctx, log, a.settings, c.Number, embed); note != "" {
		res.notes = append(res.notes, note)
	}
	return res, nil
}

// applyAction makes the REST call of an action. The reason goes to
// Discord's audit log through the X-Audit-Log-Reason header.
func (d *discordAPI) applyAction(ctx context.Context, a actionRequest, until time.Time) error {
	return actionOf(a.kind).apply(d.rest, a, until, rest.WithCtx(ctx), rest.WithReason(auditReason(a)))
}

// auditReason is the reason as Discord's audit log shows it. Discord names
// the bot as the actor there, so the moderator's name is added.
func auditReason(a actionRequest) string {
	suffix := ""
	if !a.automatic && a.moderatorName != "" {
		suffix = " (by " + a.moderatorName + ")"
	}
	return clipRunes(oneLine(a.reason), maxAuditReason-utf8.RuneCountInString(suffix)) + suffix
}

// actionFailure turns Discord's refusal of an action into advice for the
// moderator. Errors Discord did not explain stay internal (logged with an
// ID by the caller).
func actionFailure(err error, kind storage.CaseKind) error {
	verb := actionVerb(kind)
	switch resterr.Code(err) {
	case codeMissingPerms, codeMissingAccess:
		return userErrorf("Discord refused: I can't %s them. Check that my role has the %s permission and sits above their highest role in Server Settings → Roles. Nothing was recorded.",
			verb, PermissionNames(actionPermission(kind)))
	case codeUnknownMember:
		return &UserError{"They are no longer a member of this server. Nothing was recorded."}
	case codeUnknownBan:
		return errNotBanned
	case codeUnknownUser:
		return &UserError{"There is no Discord user with that ID. Nothing was recorded."}
	}
	switch status := resterr.Status(err); {
	case status == http.StatusTooManyRequests:
		return &UserError{"Discord is rate-limiting me right now; try again in a minute. Nothing was recorded."}
	case status >= 500:
		return userErrorf("Discord had a problem (HTTP %d); try again in a minute. Nothing was recorded.", status)
	}
	return fmt.Errorf("%s on Discord: %w", verb, err)
}

// errNotBanned is Discord's unknown ban (10026) on an unban.
var errNotBanned = &UserError{"They are not banned in this server. Nothing was recorded."}

// scheduleEnd stores the end of a temporary ban for the scheduler, and
// cancels the pending end of an earlier temporary ban when the new ban is
// permanent (it would otherwise lift the new ban). It returns a note for
// the moderator when that failed.
func (h *handlers) scheduleEnd(ctx context.Context, log *slog.Logger, a actionRequest, c storage.Case, until time.Time) string {
	if a.kind != storage.CaseBan {
		return ""
	}
	if until.IsZero() {
		if _, err := h.stores.Schedule.Cancel(ctx, c.GuildID, c.TargetID, storage.ActionUnban, a.now); err != nil {
			log.Error("could not cancel an earlier temporary ban's end", slog.Int64("case", c.Number), errAttr(err))
			return "I couldn't cancel the end of an earlier temporary ban; if they are unbanned automatically, ban them again."
		}
		return ""
	}
	_, err := h.stores.Schedule.Add(ctx, storage.NewScheduledAction{
		GuildID: c.GuildID, Kind: storage.ActionUnban, TargetID: c.TargetID, DueAt: until, CaseNumber: c.Number,
	}, a.now)
	if err != nil {
		log.Error("could not schedule the end of a temporary ban", slog.Int64("case", c.Number), errAttr(err))
		return fmt.Sprintf("I couldn't schedule the end of this ban: lift it with /unban after %s.", discordTime(until))
	}
	h.nudge()
	return ""
}

// actionDM tells the member about an action. It returns the reply's note
// about the DM and whether it arrived.
func (d *discordAPI) actionDM(ctx context.Context, log *slog.Logger, a actionRequest, until time.Time) (string, bool) {
	switch {
	case !a.settings.DMEnabled:
		return DMDisabled.String(), false
	case !a.isMember:
		return "No DM was sent: they are not in this server.", false
	}
	r := d.sendDM(ctx, log, a.target.ID, d.actionDMMessage(ctx, a, until))
	return r.String(), r == DMSent
}

// actionDMMessage is the DM about an action. Like warnDM, it names the
// moderator only where the server chose to show names.
func (d *discordAPI) actionDMMessage(ctx context.Context, a actionRequest, until time.Time) discord.MessageCreate {
	title := actionOf(a.kind).dmTitle(escapeMarkdown(d.guildName(ctx, a.guildID)))
	by := "a moderator"
	switch {
	case a.automatic:
		by = "automatically, for warning points"
	case a.settings.ShowModeratorNames:
		by = escapeMarkdown(a.moderatorName)
	}
	embed := discord.Embed{
		Title:       title,
		Description: "**Reason:** " + escapeMarkdown(a.reason),
		Color:       kindColor(a.kind),
		Timestamp:   &a.now,
		Fields:      []discord.EmbedField{{Name: "By", Value: by, Inline: boolPtr(true)}},
	}
	switch {
	case !until.IsZero():
		embed.Fields = append(embed.Fields, discord.EmbedField{Name: "Until", Value: discordTime(until), Inline: boolPtr(true)})
	case a.kind == storage.CaseBan:
		embed.Fields = append(embed.Fields, discord.EmbedField{Name: "Until", Value: "Permanent", Inline: boolPtr(true)})
	}
	return discord.MessageCreate{Embeds: []discord.Embed{fitEmbed(embed)}}
}

// retractDM follows up a DM sent before a kick or ban that Discord then
// refused, so the member does not believe they were removed.
func (d *discordAPI) retractDM(ctx context.Context, log *slog.Logger, a actionRequest) {
	msg := fmt.Sprintf("Please disregard my previous message: you were not %s.", actionPast(a.kind))
	d.sendDM(ctx, log, a.target.ID, discord.MessageCreate{Content: msg})
}

// actionHead is the first line of an action's reply.
func actionHead(kind storage.CaseKind, res actionResult) string {
	c := res.c
	who := fmt.Sprintf("<@%s> (%s)", c.TargetID, escapeMarkdown(c.TargetName))
	switch {
	case kind == storage.CaseTimeout:
		return fmt.Sprintf("Timed out %s for %s, until %s: case #%d.", who, FormatDuration(c.Duration), discordTime(res.until), c.Number)
	case kind == storage.CaseBan && !res.until.IsZero():
		return fmt.Sprintf("Banned %s for %s: case #%d. I will lift the ban %s.", who, FormatDuration(c.Duration), c.Number, relativeTime(res.until))
	case kind == storage.CaseBan:
		return fmt.Sprintf("Banned %s permanently: case #%d.", who, c.Number)
	}
	return fmt.Sprintf("%s %s: case #%d.", capitalize(actionPast(kind)), who, c.Number)
}

// actionReply is the whole reply after an action.
func actionReply(kind storage.CaseKind, res actionResult) string {
	return joinLines(append([]string{actionHead(kind, res), res.dm}, res.notes...)...)
}

// capitalize upper-cases the first letter of an ASCII phrase.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// readReason reads a command's required reason option.
func readReason(data discord.SlashCommandInteractionData) (string, error) {
	return CleanText(data.String("reason"), "reason", 1, maxReason)
}

// reasonOption is the reason option of the action commands.
func reasonOption(what string) discord.ApplicationCommandOption {
	return discord.ApplicationCommandOptionString{Name: "reason", Description: what,
		Required: true, MinLength: new(1), MaxLength: new(maxReason), Autocomplete: true}
}
