package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/json"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

const (
	// maxPurge is the most messages one /purge deletes: one page of
	// messages and one bulk delete, Discord's limit for each.
	maxPurge = 100
	// bulkDeleteAge is how old a message Discord still bulk deletes.
	bulkDeleteAge = 14 * 24 * time.Hour
	// bulkDeleteMargin keeps messages close to that age out of the bulk
	// delete: Discord refuses the whole request (50034) if one of them has
	// crossed the line by the time it arrives, or by Discord's clock.
	bulkDeleteMargin = 10 * time.Minute
	// codeBulkDeleteTooOld is Discord's refusal of a bulk delete that holds
	// a message older than two weeks.
	codeBulkDeleteTooOld = 50034
)

// purgeBotPermissions are what the bot needs in the channel to purge it.
const purgeBotPermissions = discord.PermissionViewChannel | discord.PermissionReadMessageHistory | discord.PermissionManageMessages

// purgeCommand defines /purge: delete the channel's recent messages, all of
// them or one member's or bots'. It is shown to members with Manage
// Messages, and the handler checks again since an admin can change that.
func purgeCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:                     "purge",
			Description:              "Delete recent messages in this channel (up to 100; not older than 14 days)",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionManageMessages),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionInt{Name: "count", Description: "How many messages to delete, from the newest", Required: true,
					MinValue: new(1), MaxValue: new(maxPurge)},
				discord.ApplicationCommandOptionUser{Name: "user", Description: "Only this user's messages (among the last 100)"},
				discord.ApplicationCommandOptionBool{Name: "bots-only", Description: "Only messages sent by bots (among the last 100)"},
			},
		},
		BotPermissions: purgeBotPermissions | discord.PermissionSendMessages | discord.PermissionEmbedLinks,
	}
}

// purgeResult is what a purge did.
type purgeResult struct {
	deleted int // messages deleted
	tooOld  int // matching messages left because Discord would not bulk delete them
}

func (h *handlers) handlePurge(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
	mc, err := h.permissionContext(ctx, e, "purge", discord.PermissionManageMessages)
	if err != nil {
		return "", nil, err
	}
	// The options check (options_check.go) holds count to its bounds.
	count, _ := data.OptInt("count")
	var from snowflake.ID
	if _, given := data.OptUser("user"); given {
		u, member, err := userOption(data, "user")
		if err != nil {
			return "", nil, err
		}
		// Deleting someone's messages acts on them, so the rules of the
		// other actions hold: not the owner, and only below oneself. One's
		// own messages and the bot's are always one's to clean up.
		if u.ID != mc.actor.UserID && u.ID != mc.facts.BotID {
			if err := CheckTarget(mc.actor, targetFrom(u.ID, member), mc.facts, "purge the messages of"); err != nil {
				return "", nil, err
			}
		}
		from = u.ID
	}
	botsOnly, _ := data.OptBool("bots-only")
	facts, err := h.discord.botFacts(ctx, mc.guildID, e.AppPermissions())
	if err != nil {
		return "", nil, err
	}
	if missing := missingPermissions(facts.Permissions, purgeBotPermissions); missing != 0 {
		return "", nil, userErrorf("I need %s in this channel to delete messages. A server admin can give them to my role in Server Settings → Roles, or in this channel's permissions.",
			PermissionNames(missing))
	}
	ic := e.Channel()
	if ic.MessageChannel == nil {
		return "", nil, &UserError{"Discord did not say which channel this is, so nothing was deleted. Try again."}
	}
	channel := ic.ID()
	// Discord's audit log shows the bot as the one who deleted; the reason
	// names the moderator who asked.
	reason := clipRunes(fmt.Sprintf("/purge by %s (%s)", oneLine(invokerName(e)), mc.actor.UserID), maxAuditReason)
	res, err := h.discord.purge(ctx, channel, count, from, botsOnly, mc.now, reason)
	if unconfirmed := (*unconfirmedPurge)(nil); errors.As(err, &unconfirmed) {
		// Running /purge again would delete the next messages: the
		// moderator looks first.
		id := newErrorID()
		log.Error("Discord did not confirm a purge", errAttr(err), slog.String("error_id", id))
		return "", nil, userErrorf("Discord did not confirm the deletion (error ID %s), so the messages may or may not be gone. "+
			"Look at the channel before you run /purge again: it deletes the newest matching messages, whatever they are by then.", id)
	}
	if err != nil {
		return "", nil, err
	}
	log.Info("messages purged", slog.Int("deleted", res.deleted), slog.Int("too_old", res.tooOld))

	head := fmt.Sprintf("Deleted %s.", plural(int64(res.deleted), "message"))
	switch {
	case res.deleted == 0 && res.tooOld == 0:
		return "No messages matched among the last 100 in this channel; nothing was deleted.", nil, nil
	case res.tooOld > 0:
		were := "were"
		if res.tooOld == 1 {
			were = "was"
		}
		head += fmt.Sprintf(" %s older than 14 days %s left: Discord does not let bots delete those in bulk.",
			plural(int64(res.tooOld), "message"), were)
	}
	if res.deleted == 0 {
		return head, nil, nil
	}
	var notes []string
	if err := h.recordPurge(ctx, mc, channel, res, from != 0, botsOnly); err != nil {
		log.Error("could not record the purge in the audit log", errAttr(err))
		notes = append(notes, "The purge could not be recorded in the bot's audit log; the bot's owner will find why in its log.")
	}
	whose := ""
	switch {
	case from != 0:
		whose = " of one member"
	case botsOnly:
		whose = " of bots"
	}
	notes = append(notes, h.discord.postModlog(ctx, log, mc.settings, discord.Embed{
		Title:       "Messages purged",
		Description: fmt.Sprintf("<@%s> deleted %s%s in <#%s>.", mc.actor.UserID, plural(int64(res.deleted), "message"), whose, channel),
		Color:       kindColor(storage.CaseNote),
		Timestamp:   &mc.now,
	}))
	return joinLines(append([]string{head}, notes...)...), nil, nil
}

// recordPurge appends the purge to the audit log: who, where and how many,
// never what the messages said or whose they were.
func (h *handlers) recordPurge(ctx context.Context, mc *modContext, channel snowflake.ID, res purgeResult, oneMember, botsOnly bool) error {
	if h.stores.Audit == nil {
		return nil
	}
	filter := "all authors"
	switch {
	case oneMember:
		filter = "one member"
	case botsOnly:
		filter = "bots"
	}
	_, err := h.stores.Audit.Append(ctx, storage.AuditEntry{
		At: mc.now, GuildID: mc.guild, ActorID: mc.actor.UserID.String(), Action: "messages.purge",
		Details: fmt.Sprintf("deleted %d messages in channel %s (%s); %d left as older than 14 days", res.deleted, channel, filter, res.tooOld),
	})
	return err
}

// purge deletes up to count of the channel's last 100 messages that match
// the filters, newest first, in one request: a bulk delete, or a single
// delete for one message. Matching messages too old for a bulk delete are
// counted, not deleted: deleting them one by one would take a request
// each, under a tight rate limit.
func (d *discordAPI) purge(ctx context.Context, channel snowflake.ID, count int, from snowflake.ID, botsOnly bool, now time.Time, reason string) (purgeResult, error) {
	var msgs []discord.Message
	err := d.rest.Do(rest.GetMessages.Compile(discord.QueryValues{"limit": maxPurge}, channel), nil, &msgs, rest.WithCtx(ctx))
	if err != nil {
		return purgeResult{}, purgeFailure(err)
	}
	var res purgeResult
	var ids []snowflake.ID
	oldest := now.Add(-bulkDeleteAge + bulkDeleteMargin)
	for _, m := range msgs {
		if len(ids)+res.tooOld == count {
			break
		}
		if (from != 0 && m.Author.ID != from) || (botsOnly && !m.Author.Bot) {
			continue
		}
		if m.ID.Time().Before(oldest) {
			res.tooOld++
			continue
		}
		ids = append(ids, m.ID)
	}
	switch len(ids) {
	case 0:
	case 1:
		err = d.rest.DeleteMessage(channel, ids[0], rest.WithCtx(ctx), rest.WithReason(reason))
	default:
		err = d.rest.Do(rest.BulkDeleteMessages.Compile(nil, channel), discord.MessageBulkDelete{Messages: ids}, nil, rest.WithCtx(ctx), rest.WithReason(reason))
	}
	if err != nil {
		// A 5xx or no answer at all: Discord may have deleted them.
		var refused *UserError
		if f := purgeFailure(err); errors.As(f, &refused) || (resterr.Status(err) != 0 && resterr.Status(err) < 500) {
			return purgeResult{}, f
		}
		return purgeResult{}, &unconfirmedPurge{err: err}
	}
	res.deleted = len(ids)
	return res, nil
}

// unconfirmedPurge is a delete request that failed without a refusal, so
// that the messages may be gone or not.
type unconfirmedPurge struct{ err error }

func (u *unconfirmedPurge) Error() string {
	return "the purge's delete request went unconfirmed: " + u.err.Error()
}
func (u *unconfirmedPurge) Unwrap() error { return u.err }

// purgeFailure turns Discord's refusals of a purge into advice.
func purgeFailure(err error) error {
	switch resterr.Code(err) {
	case codeMissingPerms, codeMissingAccess:
		return userErrorf("Discord refused: I can't read or delete messages here. Give my role %s in this channel. Nothing was deleted.",
			PermissionNames(purgeBotPermissions))
	case codeBulkDeleteTooOld:
		return &UserError{"Discord refused: some of those messages are older than 14 days, which bots can't delete in bulk. Nothing was deleted."}
	case codeUnknownChannel:
		return &UserError{"This channel no longer exists."}
	}
	if resterr.Status(err) == 429 {
		return &UserError{"Discord is rate-limiting me right now; try again in a minute."}
	}
	return fmt.Errorf("purge messages: %w", err)
}
