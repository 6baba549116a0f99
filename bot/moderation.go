package bot

import (
	"context"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// modContext is what a command knows after the common checks: the guild,
// its settings, who is asking, and the facts the permission rules need.
type modContext struct {
	guildID  snowflake.ID
	guild    string // guildID as stored
	settings storage.GuildSettings
	actor    Actor
	facts    GuildFacts
	now      time.Time
}

// guildContext gathers the guild, its settings and the invoking member. It
// refuses interactions outside a server.
func (b *Bot) guildContext(ctx context.Context, e *handler.CommandEvent) (*modContext, error) {
	return b.memberContext(ctx, e.GuildID(), e.Member())
}

// memberContext is guildContext for any interaction that carries a guild
// and a member: a command, a button or an autocomplete.
func (b *Bot) memberContext(ctx context.Context, gid *snowflake.ID, m *discord.ResolvedMember) (*modContext, error) {
	if gid == nil || m == nil {
		return nil, &UserError{"This command works only in a server."}
	}
	s, err := b.opts.Stores.Settings.Get(ctx, gid.String())
	if err != nil {
		return nil, err
	}
	facts, err := b.guildFacts(ctx, *gid, s)
	if err != nil {
		return nil, err
	}
	return &modContext{
		guildID:  *gid,
		guild:    gid.String(),
		settings: s,
		actor:    actorFrom(*m),
		facts:    facts,
		now:      b.opts.Now(),
	}, nil
}

// moderatorContext is guildContext for moderator-only commands.
func (b *Bot) moderatorContext(ctx context.Context, e *handler.CommandEvent, command string) (*modContext, error) {
	mc, err := b.guildContext(ctx, e)
	if err != nil {
		return nil, err
	}
	if !IsModerator(mc.actor, mc.facts) {
		return nil, notModerator(command)
	}
	return mc, nil
}

// notModerator refuses a member who is not a moderator.
func notModerator(command string) error {
	return userErrorf("Only moderators can use /%s: it needs the Timeout Members permission or one of this server's moderator roles.", command)
}

// managerContext is guildContext for commands that change the server's settings.
func (b *Bot) managerContext(ctx context.Context, e *handler.CommandEvent, command string) (*modContext, error) {
	mc, err := b.guildContext(ctx, e)
	if err != nil {
		return nil, err
	}
	if !CanManageGuild(mc.actor) {
		return nil, userErrorf("Only members with the Manage Server permission can use /%s.", command)
	}
	return mc, nil
}

// deferEphemeral answers at once with "thinking…", visible only to the
// invoker, so slow work never misses Discord's 3-second limit; finish with
// editReply.
func (b *Bot) deferEphemeral(e *handler.CommandEvent) error {
	return e.DeferCreateMessage(true, rest.WithCtx(withoutDeadline(b.baseCtx)))
}

// editReply replaces a deferred answer. It pings no one.
func (b *Bot) editReply(e *handler.CommandEvent, content string, embeds ...discord.Embed) error {
	upd := discord.MessageUpdate{Content: &content, AllowedMentions: noMentions()}
	if embeds != nil {
		upd.Embeds = &embeds
	}
	_, err := e.UpdateInteractionResponse(upd, rest.WithCtx(withoutDeadline(b.baseCtx)))
	return err
}
