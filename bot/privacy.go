package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/privacy"
	"github.com/modbot/bot/storage"
)

const (
	// privacyEraseRoute prefixes the custom IDs of the erasure's confirm
	// and cancel buttons.
	privacyEraseRoute = "/privacy-erase"
	// eraseConfirmFor is how long an erasure's confirm button works. What
	// it erases is read again when pressed, so an old preview could
	// understate it; past this, the admin asks for a fresh one.
	eraseConfirmFor = 10 * time.Minute
)

// codeUnknownMessage is Discord's error for a message that is gone.
const codeUnknownMessage = 10008

// privacyCommand defines /privacy: /privacy export gives any member a file
// of what this server's records hold about them; /privacy erase lets an
// admin erase every record about a member.
//
// Discord's default member permissions apply to a whole command, never to
// one subcommand, and export must reach every member: so /privacy sets
// none, and the erase handler checks Manage Server itself.
func privacyCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:        "privacy",
			Description: "What this server's moderation records hold about a member",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionSubCommand{Name: "export",
					Description: "Get a file of everything this server's moderation records hold about you"},
				discord.ApplicationCommandOptionSubCommand{Name: "erase",
					Description: "Erase every moderation record about a member (Manage Server)",
					Options: []discord.ApplicationCommandOption{
						discord.ApplicationCommandOptionUser{Name: "user", Description: "The member whose records to erase", Required: true},
					}},
			},
		},
		BotPermissions: discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

// errPrivacyInDM refuses /privacy outside a server: records are kept per
// server, and a DM names none.
var errPrivacyInDM = &UserError{"/privacy works only in a server: run it in the server whose records you mean."}

// handlePrivacyExport sends the member a JSON file of their records in
// this server. The limit is checked before the deferral, so a refusal is
// answered at once; the file goes as a follow-up, which takes the place of
// "thinking…".
func (h *handlers) handlePrivacyExport(e *event, _ discord.SlashCommandInteractionData) error {
	gid, m := e.GuildID(), e.Member()
	if gid == nil || m == nil {
		return errPrivacyInDM
	}
	key := gid.String() + "/" + m.User.ID.String()
	at := h.now()
	if retry, ok := h.exports.take(key, at); !ok {
		return userErrorf("You can ask for your data %d times an hour, and you have. Try again %s.", exportsPerHour, relativeTime(retry))
	}
	if err := e.deferEphemeral(); err != nil {
		h.exports.giveBack(key, at)
		return fmt.Errorf("defer /privacy export: %w", err)
	}
	log := h.interactionLog(e, "privacy export")
	msg, err := h.exportMessage(e.ctx, gid.String(), m.User.ID.String())
	if err == nil {
		if err = e.followup(msg); err == nil {
			log.Info("privacy export sent")
			return nil
		}
	}
	// A failed export does not count towards the limit: the member may
	// try again at once.
	h.exports.giveBack(key, at)
	if uerr := e.editReply(h.failureText(e, log, err)); uerr != nil {
		log.Warn("could not fill in the deferred reply", errAttr(uerr))
	}
	return nil
}

// maxExportFile is the largest export sent as an attachment: Discord
// refuses files over 10 MiB from a bot in a server without boosts.
const maxExportFile = 10<<20 - 64<<10

// exportMessage builds the ephemeral message that carries the member's
// records. Moderators are named only where the server shows their names
// to members, as /mywarnings does.
func (h *handlers) exportMessage(ctx context.Context, guild, user string) (discord.MessageCreate, error) {
	s, err := h.stores.Settings.Get(ctx, guild)
	if err != nil {
		return discord.MessageCreate{}, err
	}
	records, err := h.stores.Privacy.MemberRecords(ctx, guild, user)
	if err != nil {
		return discord.MessageCreate{}, err
	}
	retention := h.retention.cases()
	if h.stores.Retention != nil {
		own, err := h.stores.Retention.GuildPeriod(ctx, guild)
		if err != nil {
			return discord.MessageCreate{}, err
		}
		retention = storage.EffectivePeriod(retention, own)
	}
	doc := privacy.Build(records, privacy.Options{ShowModerators: s.ShowModeratorNames, Retention: retention, Now: h.now()})
	body, err := doc.JSON()
	if err != nil {
		return discord.MessageCreate{}, fmt.Errorf("encode the export: %w", err)
	}
	limit := h.exportLimit
	if limit == 0 {
		limit = maxExportFile
	}
	if len(body) > limit {
		return discord.MessageCreate{}, &UserError{fmt.Sprintf("Your records (%s) are too many for one file in Discord. "+
			"Ask the server's administrators for them: the bot's owner can export them with 'bot privacy export'.",
			plural(int64(len(records.Cases)), "case"))}
	}
	content := fmt.Sprintf("Here is everything this server's moderation records hold about you: %s and %s. "+
		"The file says what is kept, why and for how long; only you can see this message.",
		plural(int64(len(records.Cases)), "case"), plural(int64(len(records.Scheduled)), "scheduled action"))
	return discord.MessageCreate{
		Content: content,
		Files:   []*discord.File{discord.NewFile(privacy.FileName, "", bytes.NewReader(body))},
		Flags:   discord.MessageFlagEphemeral,
	}, nil
}

// handlePrivacyErase shows an admin what erasing a member's records would
// erase, with a confirm and a cancel button. Nothing is erased yet.
func (h *handlers) handlePrivacyErase(e *event, data discord.SlashCommandInteractionData) error {
	if e.GuildID() == nil || e.Member() == nil {
		return errPrivacyInDM
	}
	return h.askToConfirm(e, "privacy erase", func(ctx context.Context) (discord.MessageUpdate, error) {
		return h.erasePreview(ctx, e, data)
	})
}

func (h *handlers) erasePreview(ctx context.Context, e *event, data discord.SlashCommandInteractionData) (discord.MessageUpdate, error) {
	mc, err := h.managerContext(ctx, e, "privacy erase")
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	user, member, err := userOption(data, "user")
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	// The rules of acting on someone hold here too: an admin cannot wipe
	// their own record, nor that of someone ranked at or above them.
	if err := CheckTarget(mc.actor, targetFrom(user.ID, member), mc.facts, "erase the records of"); err != nil {
		return discord.MessageUpdate{}, err
	}
	h.discord.modlogQueue.flush(ctx) // the preview counts the posts just made
	p, err := h.stores.Privacy.PreviewErase(ctx, mc.guild, user.ID.String())
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	if p.Total() == 0 && p.KeptUnbans == 0 {
		content := fmt.Sprintf("This server's records hold nothing about <@%s>: there is nothing to erase.", user.ID)
		return discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}}, nil
	}
	content := erasePreviewText(user.ID, p)
	issued := mc.now.Truncate(time.Second)
	key, err := h.erasures.put(pendingConfirm{invoker: mc.actor.UserID, target: user.ID, issued: issued})
	if err != nil {
		return discord.MessageUpdate{}, err
	}
	b := confirmButton{route: privacyEraseRoute, invoker: mc.actor.UserID, target: user.ID, issued: issued, key: key, confirm: true}
	cancel := b
	cancel.confirm = false
	row := discord.NewActionRow(
		discord.NewDangerButton("Erase", b.customID()),
		discord.NewSecondaryButton("Cancel", cancel.customID()),
	)
	return discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{row}}, nil
}

// erasePreviewText lists what an erasure would remove, counted by kind.
func erasePreviewText(target snowflake.ID, p storage.ErasePreview) string {
	kinds := make([]storage.CaseKind, 0, len(p.Cases))
	for k := range p.Cases {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var counts []string
	for _, k := range kinds {
		counts = append(counts, plural(int64(p.Cases[k]), string(k)))
	}
	lines := []string{fmt.Sprintf("Erase every record about <@%s> in this server?", target)}
	if len(counts) > 0 {
		lines = append(lines, fmt.Sprintf("• %s: %s", plural(int64(p.Total()), "case"), strings.Join(counts, ", ")))
	}
	if p.History > 0 {
		lines = append(lines, "• "+plural(int64(p.History), "earlier reason"))
	}
	if p.ModlogMessages > 0 {
		lines = append(lines, fmt.Sprintf("• %s about them, which I will delete where I can", plural(int64(p.ModlogMessages), "modlog message")))
	}
	if p.KeptUnbans > 0 {
		lines = append(lines, "A pending timed unban or untimeout is kept until it has run, then it goes too.")
	}
	lines = append(lines, "Their case numbers will not be reused. This cannot be undone.")
	return strings.Join(lines, "\n")
}

// handlePrivacyEraseButton answers the erasure's buttons. Only the admin
// who asked may press them, each confirmation is used once, and confirming
// checks Manage Server again: the button outlives the permission.
func (h *handlers) handlePrivacyEraseButton(e *event, args []string) error {
	b, err := parseConfirmButton(privacyEraseRoute, args)
	if err != nil {
		return err
	}
	if e.User().ID != b.invoker {
		return userErrorf("Only <@%s>, who asked for this erasure, can confirm or cancel it.", b.invoker)
	}
	if !b.confirm {
		// Only a confirmation still waiting can be cancelled: after the
		// erasure (a quick second click), "nothing was erased" would be
		// false and would replace the report.
		if _, ok := h.erasures.take(b.key, b.invoker, b.target, b.issued); !ok {
			return &UserError{"This confirmation was already used, cancelled or has expired, so there is nothing to cancel."}
		}
		content := "Cancelled: nothing was erased."
		return e.updateMessage(discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}})
	}
	expired := &UserError{"This confirmation has expired: run /privacy erase again to see what would be erased now."}
	if now := h.now(); now.Sub(b.issued) > eraseConfirmFor || b.issued.After(now.Add(time.Minute)) {
		return expired
	}
	// Taken before the erasure, so that a second press, even at once,
	// neither erases again nor posts a second modlog line.
	if _, ok := h.erasures.take(b.key, b.invoker, b.target, b.issued); !ok {
		return expired
	}
	if err := e.deferUpdate(); err != nil {
		return fmt.Errorf("defer the erasure: %w", err)
	}
	log := h.interactionLog(e, "privacy erase")
	content, err := h.erase(e.ctx, e, log, b.target)
	if err != nil {
		content = h.failureText(e, log, err)
	}
	upd := discord.MessageUpdate{Content: &content, Components: &[]discord.ContainerComponent{}, AllowedMentions: noMentions()}
	if err := e.updateResponse(upd); err != nil {
		log.Warn("could not report the erasure", errAttr(err))
	}
	return nil
}

// erase erases the target's records in the guild, deletes the modlog
// messages about them, and posts an anonymous line to the modlog. It
// returns the admin's report.
func (h *handlers) erase(ctx context.Context, e *event, log *slog.Logger, targetID snowflake.ID) (string, error) {
	mc, err := h.managerContext(ctx, e, "privacy erase")
	if err != nil {
		return "", err
	}
	target, err := h.discord.memberTarget(ctx, mc.guildID, targetID)
	if err != nil {
		return "", err
	}
	if err := CheckTarget(mc.actor, target, mc.facts, "erase the records of"); err != nil {
		return "", err
	}
	var keep func([]storage.Erasure) error
	if h.erased != nil {
		keep = func(e []storage.Erasure) error { return h.erased(ctx, e) }
	}
	// The modlog posts made just before are recorded first, so that the
	// erasure finds them.
	h.discord.modlogQueue.flush(ctx)
	res, err := h.stores.Privacy.EraseMember(ctx, mc.guild, targetID.String(), mc.actor.UserID.String(), mc.now, keep)
	if err != nil {
		return "", err
	}
	log.Info("a member's records were erased", slog.Int("cases", res.Cases), slog.Int("modlog_messages", len(res.ModlogMessages)))
	failed := h.discord.deleteModlogMessages(ctx, log, res.ModlogMessages)
	modlog := h.discord.postModlog(ctx, log, mc.settings, discord.Embed{
		Title:       "Records erased",
		Description: fmt.Sprintf("The records of a member were erased by <@%s>.", mc.actor.UserID),
		Color:       kindColor(""),
		Timestamp:   &mc.now,
	})
	head := fmt.Sprintf("Erased the records of <@%s> in this server: %s and %s.",
		targetID, plural(int64(res.Cases), "case"), plural(int64(res.History), "earlier reason"))
	return joinLines(head, modlogDeletionText(len(res.ModlogMessages), failed), keptText(res.KeptUnbans), modlog), nil
}

// modlogDeletionText reports the deletion of the modlog messages about the
// erased cases.
func modlogDeletionText(total, failed int) string {
	switch {
	case total == 0:
		return ""
	case failed == 0:
		return fmt.Sprintf("Deleted %s about them.", plural(int64(total), "modlog message"))
	}
	return fmt.Sprintf("Deleted %d of %s about them; I could not delete %d (see the bot's log): delete them by hand, "+
		"or give me View Channel in the modlog channel and delete them there.", total-failed, plural(int64(total), "modlog message"), failed)
}

// keptText explains the actions an erasure leaves to run.
func keptText(kept int) string {
	if kept == 0 {
		return ""
	}
	return fmt.Sprintf("Kept %s until it has run, so that a temporary ban still ends; it is deleted then.",
		plural(int64(kept), "pending timed unban or untimeout"))
}

// deleteModlogMessages deletes erased cases' modlog messages in Discord and
// returns how many it could not. A message or channel already gone counts
// as deleted.
func (d *discordAPI) deleteModlogMessages(ctx context.Context, log *slog.Logger, msgs []storage.ModlogMessage) (failed int) {
	for _, m := range msgs {
		ch, err1 := snowflake.Parse(m.ChannelID)
		id, err2 := snowflake.Parse(m.MessageID)
		if err1 != nil || err2 != nil {
			failed++
			continue
		}
		err := bounded(ctx, notifyTimeout, func(ctx context.Context) error {
			return d.rest.DeleteMessage(ch, id, rest.WithCtx(ctx))
		})
		switch code := resterr.Code(err); {
		case err == nil, code == codeUnknownMessage, code == codeUnknownChannel:
		default:
			failed++
			log.Warn("could not delete a modlog message of erased records",
				slog.String("channel", m.ChannelID), slog.String("message", m.MessageID), errAttr(err))
		}
	}
	return failed
}
