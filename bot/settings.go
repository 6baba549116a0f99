package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/json"

	"github.com/modbot/bot/storage"
)

// maxModeratorRoles bounds the moderator roles of a guild, so /config show
// always fits in one embed field; real servers need a handful.
const maxModeratorRoles = 20

// configCommand defines /config, the server's settings, for members with
// Manage Server. Its options are subcommands; Discord lets subcommand
// groups sit beside them, so /config escalation add|remove|list can be
// appended to configOptions and routed under /config/escalation/….
//
// The default member permission hides the command from other members; a
// server admin can change that per command, so every handler checks again.
func configCommand() Command {
	return Command{
		Def: discord.SlashCommandCreate{
			Name:                     "config",
			Description:              "Show or change this server's moderation settings",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionManageGuild),
			Options:                  configOptions(),
		},
	}
}

func configOptions() []discord.ApplicationCommandOption {
	return []discord.ApplicationCommandOption{
		discord.ApplicationCommandOptionSubCommand{Name: "show", Description: "Show this server's settings"},
		discord.ApplicationCommandOptionSubCommand{Name: "modlog", Description: "Set the channel where cases are posted; leave it out to turn the modlog off",
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionChannel{Name: "channel", Description: "The modlog channel (leave out to turn the modlog off)",
					ChannelTypes: []discord.ChannelType{discord.ChannelTypeGuildText, discord.ChannelTypeGuildNews}},
			}},
		discord.ApplicationCommandOptionSubCommand{Name: "modroles", Description: "Add or remove a role whose members count as moderators",
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionString{Name: "action", Description: "Add or remove the role", Required: true,
					Choices: []discord.ApplicationCommandOptionChoiceString{{Name: "add", Value: "add"}, {Name: "remove", Value: "remove"}}},
				discord.ApplicationCommandOptionRole{Name: "role", Description: "The role", Required: true},
			}},
		discord.ApplicationCommandOptionSubCommand{Name: "dm", Description: "Turn DMs to members about actions taken on them on or off",
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionBool{Name: "enabled", Description: "Send DMs", Required: true},
			}},
		discord.ApplicationCommandOptionSubCommand{Name: "expiry", Description: "Set how long new warnings count",
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionString{Name: "duration", Description: "A duration such as 30d or 12w, or 'never'", Required: true},
			}},
		discord.ApplicationCommandOptionSubCommand{Name: "moderator-names", Description: "Whether members see which moderator acted, in DMs and /mywarnings",
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionBool{Name: "show", Description: "Show moderators' names to members", Required: true},
			}},
		retentionOption(),
		manualActionsOption(),
		escalationGroup(),
		limitsGroup(),
		reasonsGroup(),
	}
}

// changeSettings applies change to the guild's current settings and saves
// them, naming the invoker in the audit log, if change reports a change.
// It returns change's message for the user and the settings as they stand.
func (h *handlers) changeSettings(ctx context.Context, mc *modContext, change func(s *storage.GuildSettings) (msg string, changed bool, err error)) (string, storage.GuildSettings, error) {
	mu, _ := h.settingsLocks.LoadOrStore(mc.guild, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	// Read again under the lock: mc.settings may predate another change.
	s, err := h.stores.Settings.Get(ctx, mc.guild)
	if err != nil {
		return "", s, err
	}
	msg, changed, err := change(&s)
	if err != nil || !changed {
		return msg, s, err
	}
	if err := h.stores.Settings.Save(ctx, s, mc.actor.UserID.String(), mc.now); err != nil {
		return "", s, err
	}
	return msg, s, nil
}

func (h *handlers) handleConfigShow(e *event, _ discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	embed := settingsEmbed(mc.settings)
	retention, err := h.retentionField(e.ctx, mc.guild)
	if err != nil {
		return err
	}
	embed.Fields = append(embed.Fields, retention, h.manualActionsField(mc.settings, mc.guildID))
	return e.createMessage(discord.MessageCreate{
		Embeds:          []discord.Embed{embed},
		Flags:           discord.MessageFlagEphemeral,
		AllowedMentions: noMentions(),
	})
}

// settingsEmbed shows a guild's settings, each with the subcommand that
// changes it.
func settingsEmbed(s storage.GuildSettings) discord.Embed {
	modlog := "Off · /config modlog"
	if s.ModlogChannelID != "" {
		modlog = fmt.Sprintf("<#%s> · /config modlog", s.ModlogChannelID)
	}
	roles := "None: only members with Timeout Members moderate · /config modroles"
	if len(s.ModeratorRoleIDs) > 0 {
		mentions := make([]string, len(s.ModeratorRoleIDs))
		for i, id := range s.ModeratorRoleIDs {
			mentions[i] = fmt.Sprintf("<@&%s>", id)
		}
		roles = strings.Join(mentions, ", ") + " · /config modroles"
	}
	names := "Hidden: members see \"a moderator\" · /config moderator-names"
	if s.ShowModeratorNames {
		names = "Shown to members · /config moderator-names"
	}
	e := discord.Embed{
		Title: "Moderation settings",
		Color: kindColor(""),
		Fields: []discord.EmbedField{
			{Name: "Modlog channel", Value: modlog},
			{Name: "DMs to members", Value: onOff(s.DMEnabled) + " · /config dm"},
			{Name: "New warnings expire after", Value: defaultExpiryText(s) + " · /config expiry"},
			{Name: "Moderator roles", Value: roles},
			{Name: "Moderator names", Value: names},
			{Name: "Escalation", Value: escalationText(s.Escalations) + " · /config escalation"},
		},
	}
	if !s.UpdatedAt.IsZero() {
		at := s.UpdatedAt
		e.Timestamp = &at
		e.Footer = &discord.EmbedFooter{Text: "Last changed"}
	}
	return e
}

// escalationText lists the escalation rules, within the 1,024 characters
// of an embed field however many there are.
func escalationText(rules []storage.EscalationRule) string {
	if len(rules) == 0 {
		return "None: warnings never lead to an automatic action."
	}
	var sb strings.Builder
	for i, r := range rules {
		line := fmt.Sprintf("At %s: %s\n", plural(int64(r.Points), "point"), escalationAction(r))
		if sb.Len()+len(line) > 950 {
			fmt.Fprintf(&sb, "…and %d more", len(rules)-i)
			break
		}
		sb.WriteString(line)
	}
	return strings.TrimSpace(sb.String())
}

func escalationAction(r storage.EscalationRule) string {
	switch {
	case r.Action == storage.EscalateTimeout:
		return "time out for " + FormatDuration(r.Duration)
	case r.Action == storage.EscalateBan && r.Duration > 0:
		return "ban for " + FormatDuration(r.Duration)
	}
	return string(r.Action)
}

func defaultExpiryText(s storage.GuildSettings) string {
	if s.WarningExpiry == 0 {
		return "Never"
	}
	return FormatDuration(s.WarningExpiry)
}

func onOff(on bool) string {
	if on {
		return "On"
	}
	return "Off"
}

func (h *handlers) handleConfigDM(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	on := data.Bool("enabled")
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		if s.DMEnabled == on {
			return fmt.Sprintf("DMs to members are already %s; nothing changed.", strings.ToLower(onOff(on))), false, nil
		}
		s.DMEnabled = on
		if on {
			return "DMs are on: members are told by DM when a moderator acts on them.", true, nil
		}
		return "DMs are off: members are no longer told by DM about actions on them.", true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}

func (h *handlers) handleConfigExpiry(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	d, _, err := ParseDuration(data.String("duration"))
	if err != nil {
		return err // a *UserError that says what is accepted
	}
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		switch {
		case s.WarningExpiry == d && d == 0:
			return "New warnings already never expire; nothing changed.", false, nil
		case s.WarningExpiry == d:
			return fmt.Sprintf("New warnings already expire after %s; nothing changed.", FormatDuration(d)), false, nil
		}
		s.WarningExpiry = d
		if d == 0 {
			return "New warnings now never expire. Existing warnings keep their expiry.", true, nil
		}
		return fmt.Sprintf("New warnings now expire after %s. Existing warnings keep their expiry.", FormatDuration(d)), true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}

func (h *handlers) handleConfigModeratorNames(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	show := data.Bool("show")
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		if s.ShowModeratorNames == show {
			if show {
				return "Members already see moderators' names; nothing changed.", false, nil
			}
			return "Moderators are already hidden from members; nothing changed.", false, nil
		}
		s.ShowModeratorNames = show
		if show {
			return "Members now see which moderator acted, in DMs and /mywarnings.", true, nil
		}
		return "Members now see \"a moderator\" instead of a name, in DMs and /mywarnings.", true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}

func (h *handlers) handleConfigModlog(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	ch, set := data.OptChannel("channel")
	if !set {
		msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
			if s.ModlogChannelID == "" {
				return "The modlog is already off; nothing changed.", false, nil
			}
			s.ModlogChannelID = ""
			return "The modlog is off. Cases are still recorded; /case and /warnings show them.", true, nil
		})
		if err != nil {
			return err
		}
		return e.reply(msg, true)
	}
	if ch.Type != discord.ChannelTypeGuildText && ch.Type != discord.ChannelTypeGuildNews {
		return &UserError{"The modlog must be a text or announcement channel."}
	}
	// The test post below is a REST call that a rate limit can hold up.
	if err := e.deferEphemeral(); err != nil {
		return err
	}
	log := h.interactionLog(e, "config modlog")
	id := ch.ID.String()
	msg, s, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		if s.ModlogChannelID == id {
			return fmt.Sprintf("<#%s> is already the modlog channel.", id), false, nil
		}
		s.ModlogChannelID = id
		return fmt.Sprintf("Cases will be posted in <#%s>.", id), true, nil
	})
	if err != nil {
		// Shown in the deferred reply, as deferred does: showError would
		// first try a second callback, which Discord refuses.
		return e.editReply(h.failureText(e, log, err))
	}
	// Posting at once proves the bot can write there, while the admin is
	// still looking, rather than at the next case.
	note := h.discord.postModlog(e.ctx, log, s, discord.Embed{
		Title:       "Modlog channel",
		Description: fmt.Sprintf("<@%s> chose this channel for the moderation log: cases will be posted here.", mc.actor.UserID),
		Color:       kindColor(""),
	})
	if note == "" {
		note = "I posted a test message there."
	}
	return e.editReply(msg + " " + note)
}

func (h *handlers) handleConfigModroles(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	role := data.Role("role")
	id := role.ID.String()
	add := data.String("action") == "add"
	if add && role.ID == mc.guildID {
		return &UserError{"@everyone can't be a moderator role: every member would be a moderator."}
	}
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		has := slices.Contains(s.ModeratorRoleIDs, id)
		switch {
		case add && has:
			return fmt.Sprintf("<@&%s> is already a moderator role; nothing changed.", id), false, nil
		case !add && !has:
			return fmt.Sprintf("<@&%s> is not a moderator role; nothing changed.", id), false, nil
		case add && len(s.ModeratorRoleIDs) >= maxModeratorRoles:
			return "", false, userErrorf("This server already has %d moderator roles, the most I keep. Remove one first.", maxModeratorRoles)
		case add:
			s.ModeratorRoleIDs = append(s.ModeratorRoleIDs, id)
			return fmt.Sprintf("Members with <@&%s> now count as moderators: they can use the moderation commands, within the role hierarchy.", id), true, nil
		}
		s.ModeratorRoleIDs = slices.DeleteFunc(s.ModeratorRoleIDs, func(r string) bool { return r == id })
		return fmt.Sprintf("<@&%s> is no longer a moderator role. Its members keep moderating only if they have Timeout Members.", id), true, nil
	})
	if err != nil {
		return err
	}
	return e.reply(msg, true)
}
