package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// limitsGroup is /config limits: show the command limits, and lift a
// moderator's raid-brake pause. The limits themselves are the operator's
// (limits.* in the config file): a server cannot raise them, since they
// protect the bot that all its servers share.
func limitsGroup() discord.ApplicationCommandOptionSubCommandGroup {
	return discord.ApplicationCommandOptionSubCommandGroup{
		Name:        "limits",
		Description: "How often commands may be used, and the pause on mass bans and kicks",
		Options: []discord.ApplicationCommandOptionSubCommand{
			{Name: "show", Description: "Show the command limits and the raid brake"},
			{Name: "lift", Description: "Let a moderator paused for mass bans or kicks act again", Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "moderator", Description: "The paused moderator", Required: true},
			}},
		},
	}
}

func (h *handlers) handleConfigLimitsShow(e *event, _ discord.SlashCommandInteractionData) error {
	if _, err := h.managerContext(e.ctx, e, "config"); err != nil {
		return err
	}
	l := h.limits.limits()
	return e.reply(fmt.Sprintf("Command limits (set by the bot's owner in its config file, limits.*):\n"+
		"- Members: %d commands at once, then one every %s.\n"+
		"- Moderators: %d commands at once, then one every %s.\n"+
		"- This server's members together: %d commands at once, then one every %s; moderators are not counted.\n"+
		"- Raid brake: a moderator who bans or kicks more than %d members within a minute is paused for the rest of that minute. Lift a pause with /config limits lift.",
		l.MemberBurst, FormatDuration(l.MemberEvery), l.ModeratorBurst, FormatDuration(l.ModeratorEvery),
		l.GuildBurst, FormatDuration(l.GuildEvery), l.MassAction), true)
}

func (h *handlers) handleConfigLimitsLift(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	user, _, err := userOption(data, "moderator")
	if err != nil {
		return err
	}
	if user.ID == mc.actor.UserID {
		// The pause is there for an account that may be compromised; the
		// account itself must not be able to end it.
		return &UserError{"You cannot lift your own pause: ask another member with Manage Server, or wait for the minute to end."}
	}
	if !h.limits.brake.lift(memberKey{guild: mc.guildID, user: user.ID}, mc.now) {
		return e.reply(fmt.Sprintf("<@%s> is not paused; nothing changed.", user.ID), true)
	}
	log := h.interactionLog(e, "config limits lift")
	log.Info("raid brake lifted")
	note := h.discord.postModlog(e.ctx, log, mc.settings, discord.Embed{
		Title:       "Raid brake lifted",
		Description: fmt.Sprintf("<@%s> lifted the pause on <@%s>'s bans and kicks.", mc.actor.UserID, user.ID),
		Color:       kindColor(storage.CaseUnban),
	})
	return e.reply(joinLines(fmt.Sprintf("<@%s> can ban and kick again.", user.ID), note), true)
}

// raidBrake counts a ban or kick by the invoker of mc, and refuses it when
// they are past limits.mass_action in a minute. The first refusal is posted
// to the modlog and sent to the server owner by DM, since the guild has no
// admin channel of its own. done must be called with the action's outcome,
// so that a ban or kick that failed is not counted. Handlers without
// limits (unit tests of one handler) have no brake.
func (h *handlers) raidBrake(ctx context.Context, log *slog.Logger, mc *modContext, kind storage.CaseKind) (done func(error), err error) {
	if h.limits == nil || kind != storage.CaseBan && kind != storage.CaseKick {
		return func(error) {}, nil
	}
	key := memberKey{guild: mc.guildID, user: mc.actor.UserID}
	b := &h.limits.brake
	ok, first, until := b.take(key, mc.now)
	if ok {
		return func(err error) {
			if err != nil {
				b.giveBack(key)
			}
		}, nil
	}
	if first {
		log.Warn("raid brake: a moderator was paused for mass bans or kicks", slog.String("moderator", mc.actor.UserID.String()))
		alert := raidAlert(mc.actor.UserID, b.limit(), until)
		if note := h.discord.postModlog(ctx, log, mc.settings, alert); note != "" || mc.settings.ModlogChannelID == "" {
			log.Warn("the raid brake could not be reported in the modlog", slog.String("note", note))
		}
		if owner := mc.facts.OwnerID; owner != 0 && owner != mc.actor.UserID {
			alert.Title += " in " + escapeMarkdown(h.discord.guildName(ctx, mc.guildID))
			h.discord.sendDM(ctx, log, owner, discord.MessageCreate{Embeds: []discord.Embed{alert}})
		}
	}
	return nil, raidPaused(b.limit(), until)
}
