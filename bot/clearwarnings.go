package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

const (
	// clearWarningsRoute prefixes the custom IDs of /clearwarnings' confirm
	// and cancel buttons.
	clearWarningsRoute = "/clear-warnings"
	// clearConfirmFor is how long the confirm button works, as for an
	// erasure: what it revokes is read again when pressed.
	clearConfirmFor = eraseConfirmFor
)

// clearWarningsCommand defines /clearwarnings: a moderator revokes every
// active warning of a member at once. Each stays in the history, marked
// revoked with the reason, as /unwarn leaves one.
func clearWarningsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "clearwarnings",
			Description: "Revoke every active warning of a member; they stay in the history",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member whose warnings to revoke", Required: true},
				discord.ApplicationCommandOptionString{Name: "reason", Description: "Why they are revoked",
					Required: true, MinLength: new(1), MaxLength: new(maxReason), Autocomplete: true},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

// handleClearWarnings shows how many active warnings would be revoked,
// with a confirm and a cancel button. Nothing is revoked yet.
func (h *handlers) handleClearWarnings(e *event, data discord.SlashCommandInteractionData) error {
	if e.GuildID() == nil || e.Member() == nil {
		return &UserError{"/clearwarnings works only in a server."}
	}
	return h.askToConfirm(e, "clearwarnings", func(ctx context.Context) (discord.MessageUpdate, error) {
		return h.clearPreview(ctx, e, data)
	})
}

func (h *handlers) clearPreview(ctx context.Context, e *event, data discord.SlashCommandInteractionData) (discord.MessageUpdate, error) {
	mc, err := h.moderatorContext(ctx, e, "clearwarnings")
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	user, member, err := userOption(data, "user")
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	reason, err := readReason(data)
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	if err := CheckTarget(mc.actor, targetFrom(user.ID, member), mc.facts, "clear the warnings of"); err != nil {
		return discord.MessageUpdate{}, err
	}
	active, err := h.stores.Cases.ListForUser(ctx, mc.guild, user.ID.String(), false, mc.now)
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	var numbers []int64
	points := 0
	for _, c := range active {
		if c.Kind == storage.CaseWarning {
			numbers = append(numbers, c.Number)
			points += c.Points
		}
	}
	if len(numbers) == 0 {
		content := fmt.Sprintf("<@%s> has no active warnings: there is nothing to clear.", user.ID)
		return discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}}, nil
	}
	issued := mc.now.Truncate(time.Second)
	key, err := h.clears.put(pendingConfirm{invoker: mc.actor.UserID, target: user.ID, reason: reason, issued: issued, numbers: numbers})
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	content := fmt.Sprintf("Revoke %s of <@%s> (%s: %s)? Each stays in their history, marked revoked with the reason: %s",
		plural(int64(len(numbers)), "active warning"), user.ID, plural(int64(points), "point"), caseList(numbers), escapeMarkdown(reason))
	b := confirmButton{route: clearWarningsRoute, invoker: mc.actor.UserID, target: user.ID, issued: issued, key: key, confirm: true}
	cancel := b
	cancel.confirm = false
	row := discord.NewActionRow(
		discord.NewDangerButton("Revoke all", b.customID()),
		discord.NewSecondaryButton("Cancel", cancel.customID()),
	)
	return discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{row}}, nil
}

// caseList is "cases #3, #5 and #9", cut short after 20 numbers.
func caseList(numbers []int64) string {
	const most = 20
	parts := make([]string, 0, min(len(numbers), most))
	for i, n := range numbers {
		if i == most {
			return "cases " + strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(numbers)-most)
		}
		parts = append(parts, fmt.Sprintf("#%d", n))
	}
	if len(parts) == 1 {
		return "case " + parts[0]
	}
	return "cases " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// handleClearWarningsButton answers /clearwarnings' buttons. Only the
// moderator who asked may press them, and confirming checks again that they
// moderate and outrank the member: the button outlives both.
func (h *handlers) handleClearWarningsButton(e *event, args []string) error {
	b, err := parseConfirmButton(clearWarningsRoute, args)
	if err != nil {
		return err
	}
	if e.User().ID != b.invoker {
		return userErrorf("Only <@%s>, who asked for this, can confirm or cancel it.", b.invoker)
	}
	if !b.confirm {
		// Only a confirmation still waiting can be cancelled: after the
		// confirm (a quick second click), "nothing was revoked" would be
		// false and would replace the report.
		if _, ok := h.clears.take(b.key, b.invoker, b.target, b.issued); !ok {
			return &UserError{"This confirmation was already used, cancelled or has expired, so there is nothing to cancel."}
		}
		content := "Cancelled: no warning was revoked."
		return e.updateMessage(discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}})
	}
	expired := &UserError{"This confirmation has expired: run /clearwarnings again to see what would be revoked now."}
	if now := h.now(); now.Sub(b.issued) > clearConfirmFor || b.issued.After(now.Add(time.Minute)) {
		return expired
	}
	pending, ok := h.clears.take(b.key, b.invoker, b.target, b.issued)
	if !ok {
		return expired
	}
	if err := e.deferUpdate(); err != nil {
		return fmt.Errorf("defer /clearwarnings: %w", err)
	}
	log := h.interactionLog(e, "clearwarnings")
	content, err := h.clearWarnings(e.ctx, e, log, b.target, pending.reason, pending.numbers)
	if err != nil {
		content = h.failureText(e, log, err)
	}
	upd := discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}, AllowedMentions: noMentions()}
	if err := e.updateResponse(upd); err != nil {
		log.Warn("could not report the revocations", errAttr(err))
	}
	return nil
}

// clearWarnings revokes those of the target's active warnings that the
// moderator was shown (shown), tells them by DM where the guild has DMs
// on, posts one modlog summary, and returns the moderator's report, which
// names any warning given since the preview and left active.
func (h *handlers) clearWarnings(ctx context.Context, e *event, log *slog.Logger, targetID snowflake.ID, reason string, shown []int64) (string, error) {
	mc, err := h.moderatorContext(ctx, e, "clearwarnings")
	if err != nil {
		return "", err
	}
	target, err := h.discord.memberTarget(ctx, mc.guildID, targetID)
	if err != nil {
		return "", err
	}
	if err := CheckTarget(mc.actor, target, mc.facts, "clear the warnings of"); err != nil {
		return "", err
	}
	revoked, newer, err := h.stores.Cases.RevokeWarnings(ctx, mc.guild, targetID.String(), shown, mc.actor.UserID.String(), reason, mc.now)
	if err != nil {
		return "", fmt.Errorf("revoke the warnings: %w", err)
	}
	left := ""
	if newer > 0 {
		left = fmt.Sprintf("%s given since you asked %s left as %s: run /clearwarnings again to revoke %s too.",
			plural(int64(newer), "warning"), map[bool]string{true: "was", false: "were"}[newer == 1],
			map[bool]string{true: "it is", false: "they are"}[newer == 1], map[bool]string{true: "it", false: "them"}[newer == 1])
	}
	if len(revoked) == 0 {
		return joinLines(fmt.Sprintf("None of the warnings of <@%s> you were shown is active any more: nothing was revoked.", targetID), left), nil
	}
	numbers := make([]int64, len(revoked))
	points := 0
	for i, c := range revoked {
		numbers[i] = c.Number
		points += c.Points
	}
	name := revoked[len(revoked)-1].TargetName
	log.Info("warnings cleared", slog.Int("count", len(revoked)))

	dm := DMDisabled
	if mc.settings.DMEnabled {
		dm = h.discord.sendDM(ctx, log, targetID, h.clearDM(ctx, mc, len(revoked), reason, invokerName(e)))
	}
	// Filed under the newest of the cases, so that erasing the member
	// deletes the summary with the posts about each warning.
	modlog := h.discord.postCaseModlog(ctx, log, mc.settings, numbers[len(numbers)-1], discord.Embed{
		Title: "Warnings cleared",
		Description: fmt.Sprintf("<@%s> revoked %s of <@%s> (%s): %s, %s in all. They stay in the history.",
			mc.actor.UserID, plural(int64(len(revoked)), "active warning"), targetID, escapeMarkdown(name), caseList(numbers),
			plural(int64(points), "point")),
		Fields:    []discord.EmbedField{{Name: "Reason", Value: escapeMarkdown(reason)}},
		Color:     kindColor(storage.CaseWarning),
		Timestamp: &mc.now,
	})
	head := fmt.Sprintf("Revoked %s of <@%s> (%s): %s. They stay in their history but no longer count (%s).",
		plural(int64(len(revoked)), "warning"), targetID, escapeMarkdown(name), caseList(numbers), plural(int64(points), "point"))
	return joinLines(head, left, dm.String(), modlog), nil
}

// clearDM tells a member their warnings were revoked, naming the moderator
// only where the server shows names.
func (h *handlers) clearDM(ctx context.Context, mc *modContext, count int, reason, moderator string) discord.MessageCreate {
	by := "a moderator"
	if mc.settings.ShowModeratorNames {
		by = escapeMarkdown(moderator)
	}
	embed := discord.Embed{
		Title:       "Your warnings in " + escapeMarkdown(h.discord.guildName(ctx, mc.guildID)) + " were cleared",
		Description: "**Reason:** " + escapeMarkdown(reason),
		Color:       kindColor(storage.CaseWarning),
		Timestamp:   &mc.now,
		Fields: []discord.EmbedField{
			{Name: "Warnings revoked", Value: strconv.Itoa(count), Inline: boolPtr(true)},
			{Name: "Cleared by", Value: by, Inline: boolPtr(true)},
		},
		Footer: &discord.EmbedFooter{Text: "Use /mywarnings in the server to see your warnings."},
	}
	return discord.MessageCreate{Embeds: []discord.Embed{embed}}
}
