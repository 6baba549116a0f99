package bot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
)

// The context-menu entries (Apps → on a member or a message).
const (
	menuWarn        = "Warn…"
	menuWarnings    = "Warnings"
	menuWarnMessage = "Warn for this message…"
)

// contextMenuCommands defines the context-menu entries. Like /warn and
// /warnings they set no default member permissions, so that members who
// moderate through one of the server's moderator roles see them; the
// handlers check, with the same code as the slash commands. They work only
// in servers.
func contextMenuCommands() []Command {
	guildOnly := []discord.InteractionContextType{discord.InteractionContextTypeGuild}
	warnPerms := discord.PermissionSendMessages | discord.PermissionEmbedLinks
	return []Command{
		{Def: discord.UserCommandCreate{Name: menuWarn, Contexts: guildOnly}, BotPermissions: warnPerms},
		{Def: discord.UserCommandCreate{Name: menuWarnings, Contexts: guildOnly}},
		{Def: discord.MessageCommandCreate{Name: menuWarnMessage, Contexts: guildOnly}, BotPermissions: warnPerms},
	}
}

// handleWarnMenu answers Warn… on a member with the warning modal. The
// checks that can be made now are made before the modal opens, so that a
// moderator does not write a reason only to be refused; the submit makes
// them all again (see handleWarnModal), as the member's roles may change
// meanwhile and the submit's custom ID may be forged.
func (h *handlers) handleWarnMenu(e *event, data discord.ApplicationCommandInteractionData) error {
	ud, ok := data.(discord.UserCommandInteractionData)
	if !ok || ud.TargetID() == 0 {
		return errDamagedCommand
	}
	mc, err := h.moderatorContext(e.ctx, e, "warn")
	if err != nil {
		return err
	}
	var member *discord.ResolvedMember
	if m, ok := ud.Resolved.Members[ud.TargetID()]; ok {
		member = &m
	}
	if err := checkWarnable(mc, targetFrom(ud.TargetID(), member)); err != nil {
		return err
	}
	id := warnModalID{guild: mc.guildID, target: ud.TargetID()}
	return e.openModal(warnModal(id, ud.TargetUser().Username))
}

// handleWarnMessageMenu answers Warn for this message… with the warning
// modal about the message's author. Only the message's place is kept,
// never its content.
func (h *handlers) handleWarnMessageMenu(e *event, data discord.ApplicationCommandInteractionData) error {
	md, ok := data.(discord.MessageCommandInteractionData)
	if !ok || md.TargetID() == 0 {
		return errDamagedCommand
	}
	mc, err := h.moderatorContext(e.ctx, e, "warn")
	if err != nil {
		return err
	}
	msg := md.TargetMessage()
	if msg.ID == 0 || msg.ChannelID == 0 || msg.Author.ID == 0 {
		return errDamagedCommand
	}
	if msg.WebhookID != nil {
		return &UserError{"A webhook sent this message, not a member, so there is no one to warn."}
	}
	target, known := h.menuTarget(e, mc.guildID, msg.Author.ID)
	if known {
		if err := checkWarnable(mc, target); err != nil {
			return err
		}
	} else if err := CheckTarget(mc.actor, target, mc.facts, "warn"); err != nil {
		return err
	}
	id := warnModalID{guild: mc.guildID, target: msg.Author.ID, channel: msg.ChannelID, message: msg.ID}
	return e.openModal(warnModal(id, msg.Author.Username))
}

// menuTargetWait is how long after an interaction arrives a menu may wait
// for the member it is about: the modal must be the first answer, and must
// come before the router's automatic deferral (autoDeferAfter), after
// which Discord takes no modal.
const menuTargetWait = time.Second

// menuTarget finds the member a menu is about for the checks made before
// the modal opens, from the cache or else from Discord, waiting no later
// than menuTargetWait after the interaction arrived. When Discord is slower
// than that, known is false and target holds only the user ID: the checks
// that need no roles are made now and all of them at the submit. The fetch
// itself is never cut short, since a REST call cancelled while its
// rate-limit bucket is locked leaves the bucket locked; it finishes on its
// own.
func (h *handlers) menuTarget(e *event, guildID, userID snowflake.ID) (target Target, known bool) {
	if m, ok := h.discord.cache.Member(guildID, userID); ok {
		return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs}, true
	}
	type fetched struct {
		t   Target
		err error
	}
	done := make(chan fetched, 1)
	go func() {
		t, err := h.discord.memberTarget(e.ctx, guildID, userID)
		done <- fetched{t, err}
	}()
	wait := menuTargetWait
	if !e.received.IsZero() {
		wait = max(0, wait-time.Since(e.received))
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case f := <-done:
		if f.err != nil {
			h.interactionLog(e, "warn").Warn("could not fetch the member a menu is about; the submit checks them", errAttr(f.err))
			return Target{UserID: userID}, false
		}
		return f.t, true
	case <-timer.C:
		return Target{UserID: userID}, false
	}
}

// checkWarnable refuses, before the modal opens, a warning that /warn
// would refuse: the same rules, in the same order.
func checkWarnable(mc *modContext, t Target) error {
	if err := CheckTarget(mc.actor, t, mc.facts, "warn"); err != nil {
		return err
	}
	if !t.IsMember {
		return &UserError{"They are not a member of this server. To keep a record anyway, use /note."}
	}
	return nil
}

// handleWarningsMenu answers Warnings on a member as /warnings does.
func (h *handlers) handleWarningsMenu(e *event, data discord.ApplicationCommandInteractionData) error {
	ud, ok := data.(discord.UserCommandInteractionData)
	if !ok || ud.TargetID() == 0 {
		return errDamagedCommand
	}
	mc, err := h.moderatorContext(e.ctx, e, "warnings")
	if err != nil {
		return err
	}
	return h.showWarnings(e, mc, ud.TargetID(), false)
}

// warnTarget fetches the member a modal's warning is about, afresh: the
// submit carries no resolved data, and the member's roles decide the
// hierarchy check. A user who is not a member comes back with a nil
// member, which warn refuses.
func (d *discordAPI) warnTarget(ctx context.Context, guildID, userID snowflake.ID) (discord.User, *discord.ResolvedMember, error) {
	m, err := d.rest.GetMember(guildID, userID, rest.WithCtx(ctx))
	switch {
	case err == nil:
	case resterr.Code(err) == codeUnknownMember || resterr.Code(err) == codeUnknownUser:
		return discord.User{ID: userID}, nil, nil
	default:
		return discord.User{}, nil, fmt.Errorf("fetch the member to warn: %w", err)
	}
	return m.User, &discord.ResolvedMember{Member: *m, Permissions: d.memberPermissions(guildID, *m)}, nil
}

// memberPermissions works out a member's guild-wide permissions from the
// cached roles, as Discord does for the resolved members of a command: the
// escalation's timeout must know whether the member is an administrator.
func (d *discordAPI) memberPermissions(guildID snowflake.ID, m discord.Member) discord.Permissions {
	var p discord.Permissions
	d.cache.RolesForEach(guildID, func(r discord.Role) {
		if r.ID == guildID || slices.Contains(m.RoleIDs, r.ID) {
			p = p.Add(r.Permissions)
		}
	})
	if p.Has(discord.PermissionAdministrator) {
		return discord.PermissionsAll
	}
	return p
}
