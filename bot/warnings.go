package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

const (
	// warningsPerPage keeps a page of /warnings far inside Discord's embed
	// limits: an entry is at most about 900 characters (see caseField), so a
	// page stays under 6,000 whatever the reasons hold.
	warningsPerPage = 5
	// reasonPreview is how much of a reason a list shows; /case shows it all.
	reasonPreview = 200
	// revokePreview is how much of a revocation's reason a list shows.
	revokePreview = 100
	// warningsPageRoute prefixes the custom IDs of the page buttons.
	warningsPageRoute = "/warnings-page"
)

// warningsCommand defines /warnings: a moderator's paginated view of a
// member's warnings, or with all:true of every case about them.
//
// It sets no default member permissions: members who moderate through one
// of the server's moderator roles lack Timeout Members, and Discord would
// hide the command from them. The handler checks instead.
func warningsCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "warnings",
			Description: "List a member's warnings (moderators only)",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member whose warnings to list", Required: true},
				discord.ApplicationCommandOptionBool{Name: "all", Description: "Also show revoked and expired warnings, notes and actions"},
			},
		},
	}
}

// warningsPage is what a page button carries in its custom ID, so a click
// needs no state on the bot's side and survives a restart.
type warningsPage struct {
	invoker, target snowflake.ID
	page            int // from 1
	all             bool
}

// customID encodes p as a button route (routes.go), well under Discord's 100
// characters (two snowflakes of at most 20 digits each).
func (p warningsPage) customID() string {
	all := "0"
	if p.all {
		all = "1"
	}
	return fmt.Sprintf("%s/%s/%s/%d/%s", warningsPageRoute, p.invoker, p.target, p.page, all)
}

// parseWarningsPage reads the segments of a page button's custom ID after
// its route: invoker, target, page and all. A forged or cut-short ID is
// refused, never indexed past its end.
func parseWarningsPage(args []string) (warningsPage, error) {
	if len(args) != 4 {
		return warningsPage{}, errForgedCustomID
	}
	invoker, err1 := snowflake.Parse(args[0])
	target, err2 := snowflake.Parse(args[1])
	page, err3 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return warningsPage{}, errForgedCustomID
	}
	return warningsPage{invoker: invoker, target: target, page: page, all: args[3] == "1"}, nil
}

func (h *handlers) handleWarnings(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.moderatorContext(e.ctx, e, "warnings")
	if err != nil {
		return err
	}
	return h.showWarnings(e, mc, data.User("user").ID, data.Bool("all"))
}

// showWarnings answers with the first page of target's warnings (with all,
// every case about them), seen only by the moderator: /warnings and the
// Warnings context-menu entry.
func (h *handlers) showWarnings(e *event, mc *modContext, target snowflake.ID, all bool) error {
	p := warningsPage{invoker: mc.actor.UserID, target: target, page: 1, all: all}
	embed, buttons, err := h.renderWarnings(e.ctx, mc.guild, p, mc.now)
	if err != nil {
		return err
	}
	return e.createMessage(discord.MessageCreate{
		Embeds:          []discord.Embed{embed},
		Components:      buttons,
		Flags:           discord.MessageFlagEphemeral,
		AllowedMentions: noMentions(),
	})
}

// handleWarningsPage turns a page. Only the moderator who ran /warnings may,
// and only while still a moderator: the button outlives the permission.
// The page is read afresh, so a warning given or revoked meanwhile shows.
func (h *handlers) handleWarningsPage(e *event, args []string) error {
	p, err := parseWarningsPage(args)
	if err != nil {
		return err
	}
	if e.User().ID != p.invoker {
		return userErrorf("Only <@%s> can turn these pages.", p.invoker)
	}
	mc, err := h.guildContext(e.ctx, e)
	if err != nil {
		return err
	}
	if !IsModerator(mc.actor, mc.facts) {
		return notModerator("warnings")
	}
	embed, buttons, err := h.renderWarnings(e.ctx, mc.guild, p, mc.now)
	if err != nil {
		return err
	}
	if buttons == nil {
		buttons = []discord.ContainerComponent{} // the list shrank to one page: drop the buttons
	}
	return e.updateMessage(discord.MessageUpdate{
		Embeds:          &[]discord.Embed{embed},
		Components:      &buttons,
		AllowedMentions: noMentions(),
	})
}

// activePoints sums the points of the cases active at now: the same total
// as storage's ActivePoints, taken from the list already read, so the list
// and its total come from one snapshot and one query.
func activePoints(cases []storage.Case, now time.Time) int {
	total := 0
	for _, c := range cases {
		if c.Active(now) {
			total += c.Points
		}
	}
	return total
}

// renderWarnings builds one page of /warnings, newest case first, and its
// buttons (nil when everything fits on one page). A page number beyond the
// end shows the last page.
func (h *handlers) renderWarnings(ctx context.Context, guild string, p warningsPage, now time.Time) (discord.Embed, []discord.ContainerComponent, error) {
	cases, err := h.stores.Cases.ListForUser(ctx, guild, p.target.String(), p.all, now)
	if err != nil {
		return discord.Embed{}, nil, err
	}
	points := activePoints(cases, now)
	if !p.all {
		cases = onlyWarnings(cases)
	}
	slices.Reverse(cases)

	pages := max(1, (len(cases)+warningsPerPage-1)/warningsPerPage)
	p.page = min(max(p.page, 1), pages)
	first := (p.page - 1) * warningsPerPage
	shown := cases[first:min(first+warningsPerPage, len(cases))]

	title, noun, none := "Active warnings", "active warning", "No active warnings."
	if p.all {
		title, noun, none = "Moderation history", "case", "No cases."
	}
	desc := fmt.Sprintf("Member: <@%s>\nActive points: **%d**", p.target, points)
	if len(cases) == 0 {
		desc += "\n\n" + none
	}
	embed := discord.Embed{
		Title:       title,
		Description: desc,
		Color:       kindColor(storage.CaseWarning),
		Footer:      &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d · %s", p.page, pages, plural(int64(len(cases)), noun))},
	}
	for _, c := range shown {
		embed.Fields = append(embed.Fields, caseField(c, now, true))
	}
	if pages == 1 {
		return embed, nil, nil
	}
	prev, next := p, p
	prev.page, next.page = p.page-1, p.page+1
	row := discord.NewActionRow(
		discord.NewSecondaryButton("◀", prev.customID()).WithDisabled(p.page == 1),
		discord.NewSecondaryButton("▶", next.customID()).WithDisabled(p.page == pages),
	)
	return embed, []discord.ContainerComponent{row}, nil
}

// onlyWarnings keeps the warnings of cases, dropping notes and actions.
func onlyWarnings(cases []storage.Case) []storage.Case {
	return slices.DeleteFunc(cases, func(c storage.Case) bool { return c.Kind != storage.CaseWarning })
}

// caseField renders a case as one embed field for the lists of /warnings
// and /mywarnings. Reasons are cut to reasonPreview characters before
// escaping, which at most doubles them, so a field stays under 1,000
// characters. showModerator false writes "a moderator" instead of a mention.
func caseField(c storage.Case, now time.Time, showModerator bool) discord.EmbedField {
	name := fmt.Sprintf("#%d · %s", c.Number, kindTitle(c.Kind))
	if c.Kind == storage.CaseWarning || c.Points > 0 {
		name += " · " + plural(int64(c.Points), "point")
	}
	switch {
	case c.Revoked != nil:
		name += " · revoked"
	case !c.Active(now):
		name += " · expired"
	}

	reason := "*No reason given.*"
	if strings.TrimSpace(c.Reason) != "" {
		reason = escapeMarkdown(clipRunes(oneLine(c.Reason), reasonPreview))
	}
	by := "a moderator"
	if showModerator {
		by = moderatorMention(c.ModeratorID)
	}
	lines := []string{reason, fmt.Sprintf("By %s on %s", by, discordTime(c.CreatedAt))}
	if c.Duration > 0 {
		lines[1] += " · for " + FormatDuration(c.Duration)
	}
	if !c.ExpiresAt.IsZero() {
		verb := "expires"
		if !c.ExpiresAt.After(now) {
			verb = "expired"
		}
		lines[1] += fmt.Sprintf(" · %s %s", verb, discordTime(c.ExpiresAt))
	}
	if r := c.Revoked; r != nil {
		line := fmt.Sprintf("Revoked on %s by <@%s>", discordTime(r.At), r.ByID)
		if strings.TrimSpace(r.Reason) != "" {
			line += ": " + escapeMarkdown(clipRunes(oneLine(r.Reason), revokePreview))
		}
		lines = append(lines, line)
	}
	return discord.EmbedField{Name: name, Value: strings.Join(lines, "\n")}
}
