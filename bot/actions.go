package bot

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/json"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// actionCommand is one row of the actions table: a command that acts on a
// member in Discord (time out, lift a timeout, kick, ban, unban) and records
// the action as a case. Everything that differs between the five commands
// is here; what they share is handleAction and enforce.
type actionCommand struct {
	kind storage.CaseKind
	def  discord.SlashCommandCreate
	// verb completes "You can't … the server owner"; past is the verb of
	// a reply ("I banned them").
	verb, past string
	// perm is what Discord requires of the bot for the action.
	perm discord.Permissions
	// invokerPerm, when set, is required of the invoker in person: a
	// moderator role is not enough to remove someone from the server.
	// Otherwise any moderator may use the command.
	invokerPerm discord.Permissions
	// byID takes the target as a typed ID: a banned user is not in the
	// server, so Discord's user picker cannot offer them.
	byID bool
	// notMember refuses a target who is not a member, with this message;
	// "" allows acting on anyone.
	notMember string
	// options reads the options particular to the command into a.
	options func(data discord.SlashCommandInteractionData, a *actionRequest) error
	// optionsFirst reads them before the reason, where the command lists
	// them first: with two mistakes, the first one shown is the first
	// option the moderator filled in.
	optionsFirst bool
	// check refuses an action that would change nothing.
	check func(m *discord.ResolvedMember, now time.Time) error
	// dmFirst sends the DM before the action: a kicked or banned member may
	// share no server with the bot afterwards, and Discord then refuses DMs.
	dmFirst bool
	// noDM: the member is not told (an unbanned user is not in the server).
	noDM bool
	// dmTitle is the DM's title, given the server's name.
	dmTitle func(guild string) string
	// apply makes the REST call; the reason goes to Discord's audit log.
	apply func(r REST, a actionRequest, until time.Time, opts ...rest.RequestOpt) error
}

// Descriptions of the reason option.
const (
	reasonMemberSees = "Why; the member sees this"
)

// actions is the actions table, one row per command.
var actions = []actionCommand{
	{
		kind: storage.CaseTimeout,
		// Like /warn it sets no default member permissions: members who
		// moderate through one of the server's moderator roles lack Timeout
		// Members, and Discord would hide the command from them. The
		// handler checks instead. Discord lifts a timeout itself when it
		// ends, so nothing is scheduled.
		def: discord.SlashCommandCreate{
			Name:        "timeout",
			Description: "Time a member out: they can't write, speak or react until it ends",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member to time out", Required: true},
				discord.ApplicationCommandOptionString{Name: "duration", Description: "How long, such as 10m, 12h or 7d (at most 28 days)",
					Required: true, MaxLength: new(40)},
				reasonOption(reasonMemberSees),
			},
		},
		verb: "time out", past: "timed out", perm: discord.PermissionModerateMembers,
		notMember:    "They are not a member of this server, so they can't be timed out.",
		optionsFirst: true,
		options: func(data discord.SlashCommandInteractionData, a *actionRequest) (err error) {
			a.duration, err = ParseTimeout(data.String("duration"))
			return err
		},
		dmTitle: func(g string) string { return "You were timed out in " + g },
		apply: func(r REST, a actionRequest, until time.Time, opts ...rest.RequestOpt) error {
			_, err := r.UpdateMember(a.guildID, a.target.ID, discord.MemberUpdate{CommunicationDisabledUntil: json.NewNullablePtr(until)}, opts...)
			return err
		},
	},
	{
		kind: storage.CaseUntimeout,
		def: discord.SlashCommandCreate{
			Name:        "untimeout",
			Description: "Lift a member's timeout before it ends",
			Contexts:    []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member whose timeout to lift", Required: true},
				reasonOption(reasonMemberSees),
			},
		},
		verb: "lift the timeout of", past: "lifted the timeout of", perm: discord.PermissionModerateMembers,
		notMember: "They are not a member of this server.",
		// The interaction's member says whether a timeout is running;
		// lifting none would record a case for nothing.
		check: func(m *discord.ResolvedMember, now time.Time) error {
			if until := m.CommunicationDisabledUntil; until == nil || !until.After(now) {
				return &UserError{"They are not timed out."}
			}
			return nil
		},
		dmTitle: func(g string) string { return "Your timeout in " + g + " was lifted" },
		apply: func(r REST, a actionRequest, _ time.Time, opts ...rest.RequestOpt) error {
			_, err := r.UpdateMember(a.guildID, a.target.ID, discord.MemberUpdate{CommunicationDisabledUntil: json.NullPtr[time.Time]()}, opts...)
			return err
		},
	},
	{
		kind: storage.CaseKick,
		// The default member permission mirrors Kick Members; the handler
		// checks again, since an admin can change who sees the command.
		def: discord.SlashCommandCreate{
			Name:                     "kick",
			Description:              "Remove a member from the server; they can rejoin with an invite",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionKickMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The member to kick", Required: true},
				reasonOption(reasonMemberSees),
			},
		},
		verb: "kick", past: "kicked", perm: discord.PermissionKickMembers, invokerPerm: discord.PermissionKickMembers,
		notMember: "They are not a member of this server, so there is no one to kick.",
		dmFirst:   true,
		dmTitle:   func(g string) string { return "You were kicked from " + g },
		apply: func(r REST, a actionRequest, _ time.Time, opts ...rest.RequestOpt) error {
			return r.RemoveMember(a.guildID, a.target.ID, opts...)
		},
	},
	{
		kind: storage.CaseBan,
		// A user need not be a member to be banned. With a duration the ban
		// is temporary: the scheduler lifts it when it ends, even across
		// restarts.
		def: discord.SlashCommandCreate{
			Name:                     "ban",
			Description:              "Ban a user from the server, for good or for a while",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionBanMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionUser{Name: "user", Description: "The user to ban", Required: true},
				reasonOption("Why; the user sees this"),
				discord.ApplicationCommandOptionString{Name: "delete_messages", Description: "Delete their messages from the last… (default: none)",
					Choices: banDeleteOptionChoices()},
				discord.ApplicationCommandOptionString{Name: "duration", Description: "Lift the ban after, such as 7d or 2w (default: never)",
					MaxLength: new(40)},
			},
		},
		verb: "ban", past: "banned", perm: discord.PermissionBanMembers, invokerPerm: discord.PermissionBanMembers,
		options: func(data discord.SlashCommandInteractionData, a *actionRequest) (err error) {
			if a.deleteMessages, err = readDeleteMessages(data); err != nil {
				return err
			}
			if s, ok := data.OptString("duration"); ok {
				// "never" is a permanent ban, as leaving the option out is.
				a.duration, _, err = ParseDuration(s)
			}
			return err
		},
		dmFirst: true,
		dmTitle: func(g string) string { return "You were banned from " + g },
		apply: func(r REST, a actionRequest, _ time.Time, opts ...rest.RequestOpt) error {
			return r.AddBan(a.guildID, a.target.ID, a.deleteMessages, opts...)
		},
	},
	{
		kind: storage.CaseUnban,
		// Lifting a ban also cancels the scheduled end of a temporary one.
		def: discord.SlashCommandCreate{
			Name:                     "unban",
			Description:              "Lift a ban",
			Contexts:                 []discord.InteractionContextType{discord.InteractionContextTypeGuild},
			DefaultMemberPermissions: json.NewNullablePtr(discord.PermissionBanMembers),
			Options: []discord.ApplicationCommandOption{
				discord.ApplicationCommandOptionString{Name: "user", Description: "The banned user's ID (or a mention)",
					Required: true, MaxLength: new(40)},
				reasonOption("Why the ban is lifted"),
			},
		},
		verb: "unban", past: "unbanned", perm: discord.PermissionBanMembers, invokerPerm: discord.PermissionBanMembers,
		byID: true, noDM: true,
		dmTitle: func(g string) string { return "You were unbanned from " + g },
		apply: func(r REST, a actionRequest, _ time.Time, opts ...rest.RequestOpt) error {
			return r.DeleteBan(a.guildID, a.target.ID, opts...)
		},
	},
}

// actionOf returns the row of a kind of action. Every kind of case that
// acts in Discord has one; the kinds come from this package's own code.
func actionOf(kind storage.CaseKind) actionCommand {
	for _, a := range actions {
		if a.kind == kind {
			return a
		}
	}
	panic("bot: no action for case kind " + string(kind))
}

// actionCommandOf returns the row of a command by name.
func actionCommandOf(name string) actionCommand {
	for _, a := range actions {
		if a.def.Name == name {
			return a
		}
	}
	panic("bot: no action command /" + name)
}

// handleAction is the one path of the five action commands: check who
// asks, read the target, the reason and the row's own options, apply the
// permission rules, carry the action out, and reply.
func (h *handlers) handleAction(a actionCommand) deferredHandler {
	name := a.def.Name
	return func(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error) {
		var mc *modContext
		var err error
		if a.invokerPerm != 0 {
			mc, err = h.permissionContext(ctx, e, name, a.invokerPerm)
		} else {
			mc, err = h.moderatorContext(ctx, e, name)
		}
		if err != nil {
			return "", nil, err
		}
		var user discord.User
		var member *discord.ResolvedMember
		if a.byID {
			id, err := ParseSnowflake(data.String("user"))
			if err != nil {
				return "", nil, err
			}
			user = discord.User{ID: id}
		} else if user, member, err = userOption(data, "user"); err != nil {
			return "", nil, err
		}
		req := mc.moderatorAction(e, a.kind, user, "")
		req.isMember = member != nil
		readOptions := func() error {
			if a.options == nil {
				return nil
			}
			return a.options(data, &req)
		}
		if a.optionsFirst {
			if err := readOptions(); err != nil {
				return "", nil, err
			}
		}
		if req.reason, err = readReason(data); err != nil {
			return "", nil, err
		}
		if !a.optionsFirst {
			if err := readOptions(); err != nil {
				return "", nil, err
			}
		}
		if err := h.checkAction(ctx, e, mc, targetFrom(user.ID, member), a.kind); err != nil {
			return "", nil, err
		}
		if member == nil && a.notMember != "" {
			return "", nil, &UserError{a.notMember}
		}
		if a.check != nil {
			if err := a.check(member, mc.now); err != nil {
				return "", nil, err
			}
		}
		if a.byID {
			if req.target, err = h.discord.userByID(ctx, log, user.ID); err != nil {
				return "", nil, err
			}
		}
		done, err := h.raidBrake(ctx, log, mc, a.kind)
		if err != nil {
			return "", nil, err
		}
		res, err := h.enforce(ctx, log, req)
		done(err)
		if a.kind == storage.CaseUnban {
			return h.afterUnban(ctx, log, mc, user.ID, res, err)
		}
		if err != nil {
			return "", nil, err
		}
		return actionReply(a.kind, res), nil, nil
	}
}

// afterUnban cancels the scheduled end of a temporary ban, whether the ban
// was lifted now or by hand before: a pending timed unban would act on a
// later ban. When the ban still stands (err is not errNotBanned), its
// scheduled end stays.
func (h *handlers) afterUnban(ctx context.Context, log *slog.Logger, mc *modContext, id snowflake.ID, res actionResult, err error) (string, []discord.Embed, error) {
	if err != nil && !errors.Is(err, errNotBanned) {
		return "", nil, err
	}
	cancelled, cerr := h.stores.Schedule.Cancel(ctx, mc.guild, id.String(), storage.ActionUnban, mc.now)
	if cerr != nil {
		log.Error("could not cancel a scheduled unban", errAttr(cerr))
	}
	if err != nil {
		return "", nil, err
	}
	reply := actionReply(storage.CaseUnban, res)
	switch {
	case cerr != nil:
		reply = joinLines(reply, "I couldn't cancel the scheduled end of their temporary ban; it will do nothing unless they are banned again.")
	case cancelled > 0:
		reply = joinLines(reply, "Their temporary ban's scheduled end is cancelled.")
	}
	return reply, nil, nil
}

// banDeleteChoices are the choices of /ban's delete_messages option: how
// much of the user's recent message history Discord deletes with the ban.
// Discord allows at most 7 days.
var banDeleteChoices = []struct {
	name, value string
	d           time.Duration
}{
	{"none", "none", 0},
	{"1 hour", "1h", time.Hour},
	{"1 day", "1d", 24 * time.Hour},
	{"7 days", "7d", 7 * 24 * time.Hour},
}

func banDeleteOptionChoices() []discord.ApplicationCommandOptionChoiceString {
	choices := make([]discord.ApplicationCommandOptionChoiceString, len(banDeleteChoices))
	for i, c := range banDeleteChoices {
		choices[i] = discord.ApplicationCommandOptionChoiceString{Name: c.name, Value: c.value}
	}
	return choices
}

// readDeleteMessages reads /ban's delete_messages choice. Discord enforces
// the choices, but a client may send anything.
func readDeleteMessages(data discord.SlashCommandInteractionData) (time.Duration, error) {
	v, ok := data.OptString("delete_messages")
	if !ok {
		return 0, nil
	}
	for _, c := range banDeleteChoices {
		if c.value == v {
			return c.d, nil
		}
	}
	return 0, &UserError{"Choose how much of their messages to delete: none, 1 hour, 1 day or 7 days."}
}
