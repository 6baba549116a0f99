package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// caseCommand defines /case: /case view shows one case in full with the
// history of its reason, and /case reason corrects a reason while keeping
// the old one in that history.
func caseCommand() Command {
	number := discord.ApplicationCommandOptionInt{Name: "number", Description: "The case number", Required: true, MinValue: new(1), Autocomplete: true}
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "case",
			Description: "View or edit a case",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionSubCommand{Name: "view", Description: "Show a case in full, with its edit history",
					Options: []discord.ApplicationCommandOption{number}},
				discord.ApplicationCommandOptionSubCommand{Name: "reason", Description: "Replace a case's reason; the old one stays in its history",
					Options: []discord.ApplicationCommandOption{number,
						discord.ApplicationCommandOptionString{Name: "reason", Description: "The new reason",
							Required: true, MinLength: new(1), MaxLength: new(maxNote), Autocomplete: true},
					}},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

func (h *handlers) handleCaseView(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, c, err := h.caseOf(ctx, e, data, "case", "number", nil)
	if err != nil {
		return "", nil, err
	}
	number := c.Number
	history, err := h.stores.Cases.History(ctx, mc.guild, number)
	if err != nil {
		return "", nil, fmt.Errorf("read the history of case %d: %w", number, err)
	}
	full := fitEmbed(caseEmbed(c))
	embeds := []discord.Embed{full}
	if len(history) > 0 {
		embeds = append(embeds, historyEmbed(history, embedTotalMax-embedSize(full)))
	}
	return "", embeds, nil
}

// historyEmbed lists a case's earlier reasons, oldest first, within budget
// characters (what the case's own embed leaves of Discord's per-message
// total). When they do not all fit, the newest are kept, since they explain
// the current reason, and the embed says how many older ones it left out.
func historyEmbed(history []storage.ReasonChange, budget int) discord.Embed {
	const title = "Earlier reasons"
	budget = min(budget, embedDescriptionMax) - utf8.RuneCountInString(title)
	var lines []string
	used := 0
	for i := len(history) - 1; i >= 0; i-- {
		h := history[i]
		line := fmt.Sprintf("**%d.** until %s, changed by <@%s>: %s",
			h.Revision, discordTime(h.ChangedAt), h.ChangedByID, escapeMarkdown(oneLine(h.OldReason)))
		omitted := fmt.Sprintf("\n… and %d older", i)
		// Each kept line must leave room for the note on what was left out.
		if used+utf8.RuneCountInString(line)+1+utf8.RuneCountInString(omitted) > budget {
			lines = append(lines, fmt.Sprintf("… and %d older", i+1))
			break
		}
		lines = append(lines, line)
		used += utf8.RuneCountInString(line) + 1
	}
	slices.Reverse(lines)
	return discord.Embed{Title: title, Description: strings.Join(lines, "\n"), Color: 0x95A5A6}
}

func (h *handlers) handleCaseReason(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, c, err := h.caseOf(ctx, e, data, "case", "number", nil)
	if err != nil {
		return "", nil, err
	}
	number := c.Number
	// A note's text is its reason, and a note may be longer than a reason.
	limit := maxReason
	if c.Kind == storage.CaseNote {
		limit = maxNote
	}
	reason, err := CleanText(data.String("reason"), "reason", 1, limit)
	if err != nil {
		return "", nil, err
	}
	if err := h.checkCaseTarget(ctx, mc, c, "edit a case about"); err != nil {
		return "", nil, err
	}
	if reason == c.Reason {
		return fmt.Sprintf("Case #%d already has that reason; nothing changed.", number), nil, nil
	}
	c, err = h.stores.Cases.UpdateReason(ctx, mc.guild, number, mc.actor.UserID.String(), reason, mc.now)
	if err != nil {
		return "", nil, fmt.Errorf("update the reason of case %d: %w", number, err)
	}
	log.Info("case reason updated", slog.Int64("case", c.Number))

	// The modlog shows the case as it now stands, so its readers do not
	// go on with the old reason.
	embed := caseEmbed(c)
	embed.Title += " · reason edited"
	modlog := h.discord.postCaseModlog(ctx, log, mc.settings, c.Number, embed)
	head := fmt.Sprintf("Updated the reason of case #%d. The old reason is kept in its history: /case view number:%d", c.Number, c.Number)
	return joinLines(head, modlog), nil, nil
}
