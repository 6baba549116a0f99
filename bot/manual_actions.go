package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// Bans, unbans, kicks and timeouts that a moderator takes outside the bot
// (Discord's own member menu, another bot) reach the bot as entries of the
// guild's audit log, with the GUILD_MODERATION intent and View Audit Log.
// Each becomes a case with the entry's moderator and reason, posted to the
// modlog like the bot's own, so the member's history is complete. The
// member gets no DM (the moderator acted, and told them or not, outside the
// bot), escalation does not run, and nothing is done in Discord.

// auditLogSource is a Connection that delivers audit-log entries, and
// tells of the guilds of each new gateway session, whose missed entries
// are read from the audit log (manual_backfill.go); *conn.Client is one.
type auditLogSource interface {
	OnAuditLogEntry(func(guildID snowflake.ID, entry discord.AuditLogEntry))
	OnGuildReady(func(guildID snowflake.ID))
}

// manualActionPermission is what Discord requires of the bot before it
// sends a guild's audit-log entries.
const manualActionPermission = discord.PermissionViewAuditLog

// unnamedModerator names the moderator of an entry whose user_id is null.
const unnamedModerator = "unknown (Discord's audit log names no one)"

// moderatorMention mentions the moderator of a case, or says that no one
// is named: a manual action's entry without a user_id leaves the case's
// moderator 0.
func moderatorMention(id string) string {
	if id == "" || id == "0" {
		return unnamedModerator
	}
	return "<@" + id + ">"
}

// manualAction is what an audit-log entry did, as a case.
type manualAction struct {
	kind     storage.CaseKind
	duration time.Duration // a timeout's length; 0 otherwise
}

// manualActionOf reads the action an entry records, if it is one the bot
// records, at now.
func manualActionOf(e discord.AuditLogEntry, now time.Time) (manualAction, bool) {
	switch e.ActionType {
	case discord.AuditLogEventMemberBanAdd:
		// A ban another bot made for a while ends at a time the entry does
		// not give: recorded as permanent.
		return manualAction{kind: storage.CaseBan}, true
	case discord.AuditLogEventMemberBanRemove:
		return manualAction{kind: storage.CaseUnban}, true
	case discord.AuditLogEventMemberKick:
		return manualAction{kind: storage.CaseKick}, true
	case discord.AuditLogEventMemberUpdate:
		for _, c := range e.Changes {
			if c.Key != discord.AuditLogChangeKeyCommunicationDisabledUntil {
				continue
			}
			until, set := changeTime(c.NewValue)
			if set && until.After(now) {
				return manualAction{kind: storage.CaseTimeout, duration: until.Sub(now).Round(time.Second)}, true
			}
			if before, was := changeTime(c.OldValue); was && before.After(now) {
				return manualAction{kind: storage.CaseUntimeout}, true
			}
		}
	}
	return manualAction{}, false
}

// changeTime reads a timestamp value of an audit-log change; null or
// absent is no time.
func changeTime(raw json.RawMessage) (time.Time, bool) {
	var t *time.Time
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil || t == nil {
		return time.Time{}, false
	}
	return *t, true
}

// closingEntryTimeout bounds the recording of an entry that arrives during
// a shutdown, which holds up the gateway's reader.
const closingEntryTimeout = 5 * time.Second

// handleAuditLogEntry is called on the gateway's reader: it records the
// entry in its own goroutine, tracked for a graceful shutdown.
func (b *Bot) handleAuditLogEntry(guildID snowflake.ID, e discord.AuditLogEntry) {
	if b.closing.Load() {
		// The session a restart resumes counts this entry as delivered,
		// so Discord will not send it again: it is recorded here, before
		// the connection closes, from the cache alone and without a
		// modlog post, since the shutdown waits on no REST call.
		safely(b.log, "audit-log entry", func() {
			ctx, cancel := context.WithTimeout(b.baseCtx, closingEntryTimeout)
			defer cancel()
			b.handlers.recordManualActionWith(ctx, guildID, e, entrySource{})
		})
		return
	}
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		defer func() {
			if v := recover(); v != nil {
				logPanic(b.log, "audit-log entry", v)
			}
		}()
		b.handlers.recordManualAction(b.baseCtx, guildID, e)
	}()
}

// recordManualAction turns an audit-log entry into a case, unless the bot
// itself made it (its own command already recorded it), the guild turned
// manual actions off, or the entry was recorded before (a replay).
func (h *handlers) recordManualAction(ctx context.Context, guildID snowflake.ID, e discord.AuditLogEntry) {
	h.recordManualActionWith(ctx, guildID, e, entrySource{online: true})
}

// entrySource is how an audit-log entry reached the bot, which changes how
// it is recorded.
type entrySource struct {
	// online: names may come from REST and the case is posted to the
	// modlog. Without it, during a shutdown, names come from the gateway
	// cache alone and nothing is posted.
	online bool
	// backfill: the entry was read from the audit log on connecting, where
	// most entries were recorded before: skipping one is no news.
	backfill bool
	// users are the users the audit log's answer named beside its
	// entries, so that naming them costs no REST call each.
	users map[snowflake.ID]discord.User
}

// recordManualActionWith is recordManualAction, for an entry from src. It
// reports whether the entry became a case.
func (h *handlers) recordManualActionWith(ctx context.Context, guildID snowflake.ID, e discord.AuditLogEntry, src entrySource) bool {
	online := src.online
	// The entry's ID carries when the moderator acted; an entry replayed
	// after a restart is dated by it, not by its arrival.
	now := h.now()
	if at := e.ID.Time(); e.ID != 0 && at.Before(now) {
		now = at
	}
	log := h.log.With(slog.String("guild", guildID.String()), slog.String("audit_log_entry", e.ID.String()))
	act, ok := manualActionOf(e, now)
	if !ok || e.TargetID == nil {
		return false
	}
	self := h.discord.botID()
	if self == 0 && online {
		// Right after a RESUME the cache lacks the bot's own user while
		// Discord replays what it missed, perhaps the entry of the bot's
		// own last ban: its ID comes from REST then.
		var u discord.User
		if err := h.discord.rest.Do(rest.GetCurrentUser.Compile(nil), nil, &u, rest.WithCtx(ctx)); err == nil {
			self = u.ID
		}
	}
	if self == 0 {
		log.Error("an audit-log entry is not recorded: the bot does not know its own ID yet, so it cannot tell whether it made the entry itself")
		return false
	}
	if e.UserID == self {
		return false
	}
	settings, err := h.stores.Settings.Get(ctx, guildID.String())
	if err != nil {
		log.Error("could not read the settings for a manual action", errAttr(err))
		return false
	}
	if settings.IgnoreManualActions {
		return false
	}
	target := h.discord.memberUser(ctx, log, guildID, *e.TargetID, src)
	// A null user_id (Discord itself acted, or the account is gone) names
	// no one to look up.
	mod := discord.User{ID: e.UserID, Username: unnamedModerator}
	if e.UserID != 0 {
		mod = h.discord.memberUser(ctx, log, guildID, e.UserID, src)
	}
	reason := "(no reason given in Discord)"
	if e.Reason != nil {
		// Another bot's reason is free text no slash command checked:
		// cleaned as a typed one is, then cut to the length one may have.
		if r, _ := CleanText(*e.Reason, "reason", 0, math.MaxInt); r != "" {
			reason = clipRunes(r, maxReason)
		}
	}
	c, recorded, err := h.stores.Cases.CreateManual(ctx, storage.NewCase{
		GuildID:       guildID.String(),
		Kind:          act.kind,
		TargetID:      target.ID.String(),
		TargetName:    target.Username,
		ModeratorID:   mod.ID.String(),
		ModeratorName: mod.Username,
		Reason:        reason,
		Duration:      act.duration,
		CreatedAt:     now,
	}, e.ID.String())
	switch {
	case err != nil:
		log.Error("could not record an action taken outside the bot", slog.String("kind", string(act.kind)), errAttr(err))
		return false
	case !recorded:
		level := slog.LevelInfo
		if src.backfill {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "audit-log entry not recorded: recorded before (a replay?), or from before the member's erasure")
		return false
	}
	log.Info("recorded an action taken outside the bot", slog.String("kind", string(act.kind)), slog.Int64("case", c.Number))
	if act.kind == storage.CaseUnban {
		// A pending end of a temporary ban would act on a later ban; one
		// made after this unban (handled late) is that later ban's own.
		if _, err := h.stores.Schedule.CancelCreatedBefore(ctx, c.GuildID, c.TargetID, storage.ActionUnban, now, h.now()); err != nil {
			log.Error("could not cancel a scheduled unban after a manual unban", errAttr(err))
		}
	}
	if !online {
		return true
	}
	embed := caseEmbed(c)
	embed.Footer = &discord.EmbedFooter{Text: "Taken outside the bot, in Discord's own menus or by another bot"}
	if act.kind == storage.CaseTimeout {
		embed.Fields = append(embed.Fields, discord.EmbedField{Name: "Ends", Value: discordTime(now.Add(act.duration)), Inline: boolPtr(true)})
	}
	// Another bot banning a raid sends a burst of entries, and the modlog
	// channel takes a few posts a second: posted all at once, most would
	// run out of their time waiting behind the others and be lost. One at
	// a time, each post's time starts when its turn comes.
	h.manualPosts.Lock()
	defer h.manualPosts.Unlock()
	h.discord.postCaseModlog(ctx, log, settings, c.Number, embed)
	return true
}

// memberUser returns a user as the case names them: from the gateway
// cache, else as the audit log named them beside the entry, else from
// REST (when online), else by ID alone.
func (d *discordAPI) memberUser(ctx context.Context, log *slog.Logger, guildID, id snowflake.ID, src entrySource) discord.User {
	if m, ok := d.cache.Member(guildID, id); ok && m.User.Username != "" {
		return m.User
	}
	if u, ok := src.users[id]; ok && u.Username != "" {
		return u
	}
	if !src.online {
		return discord.User{ID: id, Username: fmt.Sprintf("user %s", id)}
	}
	u, err := d.userByID(ctx, log, id)
	if err != nil {
		return discord.User{ID: id, Username: fmt.Sprintf("user %s", id)}
	}
	return u
}

// manualActionsProblem says why the bot cannot see a guild's manual
// actions, and what to grant; "" when it can or cannot tell.
func (h *handlers) manualActionsProblem(guildID snowflake.ID) string {
	if !h.auditEntries {
		return "this connection to Discord does not deliver audit-log entries (the GUILD_MODERATION intent)"
	}
	perms, known := h.discord.guildPermissions(guildID)
	if known && !perms.Has(manualActionPermission) {
		return "I lack the View Audit Log permission: give it to my role in Server Settings → Roles (or invite me again with 'bot invite')"
	}
	return ""
}

// guildPermissions computes the bot's server-wide permissions in a guild
// from the gateway cache, and false when the cache lacks what it needs.
func (d *discordAPI) guildPermissions(guildID snowflake.ID) (discord.Permissions, bool) {
	g, ok := d.cache.Guild(guildID)
	if !ok {
		return 0, false
	}
	self, ok := d.cache.SelfMember(guildID)
	if !ok {
		return 0, false
	}
	if g.OwnerID == self.User.ID && self.User.ID != 0 {
		return discord.PermissionsAll, true
	}
	mine := map[snowflake.ID]bool{guildID: true} // @everyone has the guild's ID
	for _, r := range self.RoleIDs {
		mine[r] = true
	}
	var perms discord.Permissions
	found := false
	d.cache.RolesForEach(guildID, func(r discord.Role) {
		if mine[r.ID] {
			perms |= r.Permissions
			found = true
		}
	})
	if !found {
		return 0, false
	}
	if perms.Has(discord.PermissionAdministrator) {
		return discord.PermissionsAll, true
	}
	return perms, true
}

// ManualActionWarnings lists the guilds (by name) where manual actions are
// on but the bot cannot see them, each with what to grant: 'bot health'
// shows them.
func (b *Bot) ManualActionWarnings(ctx context.Context) []string {
	type guildLister interface {
		GuildsForEach(func(discord.Guild))
	}
	gl, ok := b.conn.Caches().(guildLister)
	if !ok {
		return nil
	}
	var guilds []discord.Guild
	gl.GuildsForEach(func(g discord.Guild) { guilds = append(guilds, g) })
	var out []string
	for _, g := range guilds {
		problem := b.handlers.manualActionsProblem(g.ID)
		if problem == "" {
			continue
		}
		if s, err := b.opts.Stores.Settings.Get(ctx, g.ID.String()); err == nil && s.IgnoreManualActions {
			continue
		}
		out = append(out, fmt.Sprintf("server %q (%s): actions taken outside the bot are not recorded: %s", g.Name, g.ID, problem))
	}
	return out
}

// manualActionsOption is /config manual-actions.
func manualActionsOption() discord.ApplicationCommandOption {
	return discord.ApplicationCommandOptionSubCommand{Name: "manual-actions",
		Description: "Record bans, kicks and timeouts made outside the bot (Discord's menus, other bots) as cases",
		Options: []discord.ApplicationCommandOption{
			discord.ApplicationCommandOptionString{Name: "state", Description: "on (the default) or off", Required: true,
				Choices: []discord.ApplicationCommandOptionChoiceString{{Name: "on", Value: "on"}, {Name: "off", Value: "off"}}},
		}}
}

func (h *handlers) handleConfigManualActions(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	var on bool
	switch data.String("state") {
	case "on":
		on = true
	case "off":
	default:
		return &UserError{"Choose on or off."}
	}
	msg, _, err := h.changeSettings(e.ctx, mc, func(s *storage.GuildSettings) (string, bool, error) {
		if !s.IgnoreManualActions == on {
			return fmt.Sprintf("Recording actions taken outside the bot is already %s; nothing changed.", strings.ToLower(onOff(on))), false, nil
		}
		s.IgnoreManualActions = !on
		if on {
			return "Bans, unbans, kicks and timeouts made outside the bot are now recorded as cases and posted to the modlog.", true, nil
		}
		return "Actions taken outside the bot are no longer recorded; the cases already recorded stay.", true, nil
	})
	if err != nil {
		return err
	}
	if problem := h.manualActionsProblem(mc.guildID); on && problem != "" {
		msg = joinLines(msg, "But "+problem+".")
	}
	return e.reply(msg, true)
}

// manualActionsField is /config show's line about manual actions, with
// what to grant when the bot cannot see them.
func (h *handlers) manualActionsField(s storage.GuildSettings, guildID snowflake.ID) discord.EmbedField {
	v := "On: bans, kicks and timeouts made outside the bot become cases · /config manual-actions"
	if s.IgnoreManualActions {
		v = "Off · /config manual-actions"
	} else if problem := h.manualActionsProblem(guildID); problem != "" {
		v = "On, but not working: " + problem + " · /config manual-actions"
	}
	return discord.EmbedField{Name: "Actions taken outside the bot", Value: v}
}

// Warnings is what /readyz reports beside "ready" for 'bot health': the
// servers where actions taken outside the bot go unrecorded.
func (b *Bot) Warnings(ctx context.Context) []string { return b.ManualActionWarnings(ctx) }
