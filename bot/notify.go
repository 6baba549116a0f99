package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

// notifyTimeout bounds a DM or a modlog post.
const notifyTimeout = 10 * time.Second

// Discord's JSON error codes that the bot turns into advice.
const (
	codeUnknownChannel  = 10003
	codeUnknownMember   = 10007
	codeUnknownUser     = 10013
	codeUnknownBan      = 10026
	codeMissingAccess   = 50001
	codeCannotDM        = 50007
	codeMissingPerms    = 50013
	codeAlreadyAnswered = 40060
)

// bounded runs f with a context that ends after d, or when ctx does.
func bounded(ctx context.Context, d time.Duration, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

// DMResult says whether a member was told about an action by DM.
type DMResult int

// The outcomes of a DM.
const (
	DMSent     DMResult = iota
	DMDisabled          // the guild turned DMs off
	DMClosed            // the member does not accept DMs from the bot
	DMFailed            // any other failure, logged
)

// String is the note the moderator's reply carries.
func (r DMResult) String() string {
	switch r {
	case DMSent:
		return "They were told by DM."
	case DMDisabled:
		return "No DM was sent (DMs are turned off for this server)."
	case DMClosed:
		return "I couldn't DM them: they don't accept messages from me."
	default:
		return "I couldn't DM them (Discord refused; see the bot's log)."
	}
}

// sendDM sends msg to a user's DMs and reports the outcome. It never fails
// the command: the record is already stored.
func (d *discordAPI) sendDM(ctx context.Context, log *slog.Logger, userID snowflake.ID, msg discord.MessageCreate) DMResult {
	msg.AllowedMentions = noMentions()
	for i := range msg.Embeds {
		msg.Embeds[i] = fitEmbed(msg.Embeds[i])
	}
	err := bounded(ctx, notifyTimeout, func(ctx context.Context) error {
		ch, err := d.rest.CreateDMChannel(userID, rest.WithCtx(ctx))
		if err != nil {
			return err
		}
		_, err = d.rest.CreateMessage(ch.ID(), msg, rest.WithCtx(ctx))
		return err
	})
	switch {
	case err == nil:
		return DMSent
	case resterr.Code(err) == codeCannotDM:
		d.dmFailed(DMReasonClosed)
		return DMClosed
	default:
		d.dmFailed(dmFailureReason(err))
		// The user's ID stays out of the log: IDs are personal data, and the
		// interaction ID on log's lines leads to the case.
		log.Warn("could not send a DM", errAttr(err))
		return DMFailed
	}
}

// postModlog posts an embed that is about no case to the guild's modlog
// channel, if it has one. It returns a note for the moderator when the
// post failed, or "".
func (d *discordAPI) postModlog(ctx context.Context, log *slog.Logger, s storage.GuildSettings, embed discord.Embed) string {
	return d.postCaseModlog(ctx, log, s, 0, embed)
}

// postCaseModlog is postModlog for a post about case number (0: none). The
// message is recorded with the case, so that erasing the member's records
// deletes it in Discord too. A failed record fails nothing, since the case
// is stored and the post made; the log tells the owner that this message
// would outlive an erasure.
func (d *discordAPI) postCaseModlog(ctx context.Context, log *slog.Logger, s storage.GuildSettings, number int64, embed discord.Embed) string {
	if s.ModlogChannelID == "" {
		return ""
	}
	ch, err := snowflake.Parse(s.ModlogChannelID)
	if err != nil {
		return ""
	}
	var posted *discord.Message
	err = bounded(ctx, notifyTimeout, func(ctx context.Context) error {
		var err error
		posted, err = d.rest.CreateMessage(ch, discord.MessageCreate{
			Embeds:          []discord.Embed{fitEmbed(embed)},
			AllowedMentions: noMentions(),
		}, rest.WithCtx(ctx))
		return err
	})
	if err == nil {
		if number > 0 && posted != nil && posted.ID != 0 {
			d.recordModlog(ctx, log, storage.ModlogMessage{
				GuildID: s.GuildID, CaseNumber: number, ChannelID: ch.String(), MessageID: posted.ID.String(),
			})
		}
		return ""
	}
	log.Warn("could not post to the modlog", slog.String("channel", s.ModlogChannelID), errAttr(err))
	switch resterr.Code(err) {
	case codeUnknownChannel:
		return "The modlog channel no longer exists; set a new one with /config modlog."
	case codeMissingAccess, codeMissingPerms:
		return fmt.Sprintf("I can't post in the modlog channel <#%s>: give me View Channel, Send Messages and Embed Links there.", s.ModlogChannelID)
	default:
		return "The modlog post failed; the case is recorded all the same."
	}
}

// recordModlog stores which modlog message is about which case, logging a
// failure.
func (d *discordAPI) recordModlog(_ context.Context, log *slog.Logger, m storage.ModlogMessage) {
	if d.modlog == nil {
		return
	}
	d.modlogQueue.add(m, log)
}

// kindTitle is a case kind as a heading.
func kindTitle(k storage.CaseKind) string {
	switch k {
	case storage.CaseTimeout:
		return "Timeout"
	case storage.CaseUntimeout:
		return "Timeout lifted"
	case storage.CaseUnban:
		return "Unban"
	}
	s := string(k)
	if s == "" {
		return "Case"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// kindColor gives each kind of case its colour in embeds.
func kindColor(k storage.CaseKind) int {
	switch k {
	case storage.CaseWarning:
		return 0xF1C40F
	case storage.CaseNote:
		return 0x95A5A6
	case storage.CaseTimeout, storage.CaseKick:
		return 0xE67E22
	case storage.CaseBan:
		return 0xE74C3C
	default:
		return 0x2ECC71
	}
}

// caseEmbed renders a case for the modlog and for /case view. Users appear
// as mentions, which embeds never ping.
func caseEmbed(c storage.Case) discord.Embed {
	e := discord.Embed{
		Title:     fmt.Sprintf("Case #%d · %s", c.Number, kindTitle(c.Kind)),
		Color:     kindColor(c.Kind),
		Timestamp: &c.CreatedAt,
		Fields: []discord.EmbedField{
			{Name: "Member", Value: fmt.Sprintf("<@%s> (%s)", c.TargetID, escapeMarkdown(c.TargetName)), Inline: boolPtr(true)},
			{Name: "Moderator", Value: moderatorMention(c.ModeratorID), Inline: boolPtr(true)},
		},
		Description: "**Reason:** " + escapeMarkdown(c.Reason),
	}
	if c.Kind == storage.CaseWarning {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Points", Value: fmt.Sprint(c.Points), Inline: boolPtr(true)})
	}
	if c.Duration > 0 {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Duration", Value: FormatDuration(c.Duration), Inline: boolPtr(true)})
	}
	if !c.ExpiresAt.IsZero() {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Expires", Value: discordTime(c.ExpiresAt), Inline: boolPtr(true)})
	}
	if c.LinkedCase != 0 {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Triggered by", Value: fmt.Sprintf("case #%d", c.LinkedCase), Inline: boolPtr(true)})
	}
	if c.MessageLink != "" {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Message", Value: c.MessageLink, Inline: boolPtr(true)})
	}
	if c.Revoked != nil {
		e.Fields = append(e.Fields, discord.EmbedField{Name: "Revoked",
			Value: fmt.Sprintf("%s by <@%s>: %s", discordTime(c.Revoked.At), c.Revoked.ByID, escapeMarkdown(c.Revoked.Reason))})
	}
	return e
}

// discordTime renders t as a Discord timestamp, shown in each reader's time zone.
func discordTime(t time.Time) string { return fmt.Sprintf("<t:%d:f>", t.Unix()) }

// relativeTime renders t as a Discord timestamp relative to each reader's
// now ("in 3 days"), which Discord keeps up to date.
func relativeTime(t time.Time) string { return fmt.Sprintf("<t:%d:R>", t.Unix()) }

func boolPtr(b bool) *bool { return &b }

// escapeMarkdown keeps user-written text from formatting a message.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, ">", `\>`)

func escapeMarkdown(s string) string { return markdownEscaper.Replace(s) }
