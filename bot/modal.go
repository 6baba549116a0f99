package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// The routes of the warning modals' custom IDs. The message variant's
// route is short: with four snowflakes of up to 20 digits it must still
// fit Discord's 100 characters.
const (
	warnModalRoute        = "/warn-user"
	warnMessageModalRoute = "/warn-msg"
)

// The custom IDs of the warning modal's fields.
const (
	fieldReason  = "reason"
	fieldPoints  = "points"
	fieldExpires = "expires"
)

// maxExpiresField bounds the expiry field, as /warn's expires option.
const maxExpiresField = 40

// errForgedModal answers the submit of a modal whose custom ID the bot did
// not make as it stands.
var errForgedModal = &UserError{"This form is damaged or out of date, so nothing was recorded. Open it again from the member's or the message's Apps menu."}

// warnModalID is what a warning modal carries in its custom ID, so that
// its submit needs no state on the bot's side: the guild it was opened in,
// the member to warn and, for the message variant, where the message is.
type warnModalID struct {
	guild, target    snowflake.ID
	channel, message snowflake.ID // zero: not about a message
}

// customID encodes id as a modal route (routes.go).
func (id warnModalID) customID() string {
	if id.message != 0 {
		return fmt.Sprintf("%s/%s/%s/%s/%s", warnMessageModalRoute, id.guild, id.target, id.channel, id.message)
	}
	return fmt.Sprintf("%s/%s/%s", warnModalRoute, id.guild, id.target)
}

// parseWarnModalID reads the segments after a warning modal's route: guild
// and target, then channel and message for the message variant. Anything
// that is not a snowflake is refused.
func parseWarnModalID(args []string) (warnModalID, error) {
	if len(args) != 2 && len(args) != 4 {
		return warnModalID{}, errForgedModal
	}
	ids := make([]snowflake.ID, len(args))
	for i, a := range args {
		id, err := snowflake.Parse(a)
		if err != nil || id == 0 {
			return warnModalID{}, errForgedModal
		}
		ids[i] = id
	}
	out := warnModalID{guild: ids[0], target: ids[1]}
	if len(ids) == 4 {
		out.channel, out.message = ids[2], ids[3]
	}
	return out, nil
}

// messageLink is the link to a message that a case keeps.
func (id warnModalID) messageLink() string {
	if id.message == 0 {
		return ""
	}
	return fmt.Sprintf("https://discord.com/channels/%s/%s/%s", id.guild, id.channel, id.message)
}

// maxModalTitle is Discord's limit on a modal's title.
const maxModalTitle = 45

// warnModal is the form of Warn… and Warn for this message…: /warn's
// reason, points and expires, with the same bounds.
func warnModal(id warnModalID, username string) discord.ModalCreate {
	title := "Warn " + username
	if utf8.RuneCountInString(title) > maxModalTitle {
		title = string([]rune(title)[:maxModalTitle-1]) + "…"
	}
	row := func(t discord.TextInputComponent) discord.ContainerComponent { return discord.ActionRowComponent{t} }
	return discord.ModalCreate{
		CustomID: id.customID(),
		Title:    title,
		Components: []discord.ContainerComponent{
			row(discord.TextInputComponent{CustomID: fieldReason, Style: discord.TextInputStyleParagraph,
				Label: "Reason (the member sees this)", MinLength: new(1), MaxLength: maxReason, Required: true}),
			row(discord.TextInputComponent{CustomID: fieldPoints, Style: discord.TextInputStyleShort,
				Label:       fmt.Sprintf("Points (%d to %d)", minWarnPoints, maxWarnPoints),
				MaxLength:   len(strconv.Itoa(maxWarnPoints)),
				Placeholder: "1"}),
			row(discord.TextInputComponent{CustomID: fieldExpires, Style: discord.TextInputStyleShort,
				Label: "Expires after (such as 30d, 12h or never)", MaxLength: maxExpiresField,
				Placeholder: "the server's default"}),
		},
	}
}

// errModalTooLate answers a menu whose modal could not open because the
// router deferred the interaction while it waited (on Discord, or for a
// turn while the bot was busy).
var errModalTooLate = &UserError{"That took me too long, so the form could not open. Nothing was recorded; please try again."}

// openModal answers with a modal. It must be the first answer: Discord
// takes no modal after a deferral, so after one the moderator is told to
// try again rather than that something broke.
func (e *event) openModal(m discord.ModalCreate) error {
	err := e.respond(discord.InteractionResponseTypeModal, m)
	if errors.Is(err, errCannotAnswerLate) {
		return errModalTooLate
	}
	return err
}

// handleWarnModal does what /warn does with the fields of a warning
// modal. Everything is checked again: the submitter must be a moderator
// now, the custom ID must name this guild, and the member is fetched
// afresh for the hierarchy check.
func (h *handlers) handleWarnModal(e *event, args []string, data discord.ModalSubmitInteractionData) error {
	id, err := parseWarnModalID(args)
	if err != nil {
		return err
	}
	return h.deferredSubmit(e, "warn", func(ctx context.Context, log *slog.Logger) (string, []discord.Embed, error) {
		mc, err := h.moderatorContext(ctx, e, "warn")
		if err != nil {
			return "", nil, err
		}
		if id.guild != mc.guildID {
			return "", nil, errForgedModal
		}
		// A preset's name typed as the reason stands for the preset, as
		// on /warn.
		preset, _, err := h.presetNamed(ctx, mc.guild, data.Text(fieldReason))
		if err != nil {
			return "", nil, err
		}
		in, err := readWarnModal(data, mc, preset)
		if err != nil {
			return "", nil, err
		}
		if in.user, in.member, err = h.discord.warnTarget(ctx, mc.guildID, id.target); err != nil {
			return "", nil, err
		}
		in.messageLink = id.messageLink()
		return h.warn(ctx, e, log, mc, in)
	})
}

// readWarnModal checks the modal's fields as /warn's options are checked;
// a refusal names the field. Discord enforces the bounds the modal sets,
// but a submit can be forged, so they are checked here too. A preset (its
// Name set) that the reason named gives its text, and its points unless
// the moderator gave some.
func readWarnModal(data discord.ModalSubmitInteractionData, mc *modContext, preset storage.ReasonPreset) (warnInput, error) {
	var in warnInput
	var err error
	reason := data.Text(fieldReason)
	if preset.Name != "" {
		reason = preset.Text
	}
	if in.reason, err = CleanText(reason, "reason", 1, maxReason); err != nil {
		return in, nothingRecorded(err)
	}
	in.points = 1
	if preset.Points > 0 {
		in.points = preset.Points
	}
	if s := strings.TrimSpace(data.Text(fieldPoints)); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < minWarnPoints || p > maxWarnPoints {
			return in, userErrorf("Points must be a whole number from %d to %d. Nothing was recorded.", minWarnPoints, maxWarnPoints)
		}
		in.points = p
	}
	s := strings.TrimSpace(data.Text(fieldExpires))
	if utf8.RuneCountInString(s) > maxExpiresField {
		return in, userErrorf("Expires can be at most %s. Nothing was recorded.", characters(maxExpiresField))
	}
	if in.expiresAt, err = warnExpiry(s, s != "", mc); err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return in, userErrorf("Expires: %s Nothing was recorded.", ue.Msg)
		}
		return in, err
	}
	return in, nil
}

// nothingRecorded adds to a refusal of a field that the warning was not
// recorded: the modal has closed, and the moderator's text with it.
func nothingRecorded(err error) error {
	var ue *UserError
	if errors.As(err, &ue) {
		return userErrorf("%s Nothing was recorded.", ue.Msg)
	}
	return err
}

// deferredSubmit answers a modal's submit at once with an ephemeral
// "thinking…", then runs f and puts its answer, or its error, in its
// place, as deferred does for slash commands.
func (h *handlers) deferredSubmit(e *event, command string, f func(ctx context.Context, log *slog.Logger) (string, []discord.Embed, error)) error {
	if err := e.deferEphemeral(); err != nil {
		return fmt.Errorf("defer the %s form: %w", command, err)
	}
	log := h.interactionLog(e, command)
	content, embeds, err := f(e.ctx, log)
	if err != nil {
		content, embeds = h.failureText(e, log, err), []discord.Embed{}
	}
	if err := e.editReply(content, embeds...); err != nil {
		log.Warn("could not fill in the deferred reply", errAttr(err))
	}
	return nil
}
