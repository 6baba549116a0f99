package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// SetLimits puts lim in force while the bot runs; its zero fields take
// DefaultLimits, as at start. Commands already admitted finish under the
// limits they were admitted with; members' allowances keep what they have
// spent (see limiter.set for the in-flight cap).
func (b *Bot) SetLimits(lim Limits) { b.limits.set(lim) }

// SetRetention puts the operator's retention.cases and
// retention.after_leave in force while the bot runs. A changed cases
// period is swept by at once rather than at the next daily sweep, so a
// shorter one deletes what it no longer keeps without waiting a day.
// Departures already recorded keep the deletion time they were given; a
// new after_leave applies to the servers the bot leaves from now on.
func (b *Bot) SetRetention(cases, afterLeave time.Duration) {
	changed := b.retention.cases() != cases
	b.retention.set(cases, afterLeave)
	if changed && b.retain != nil {
		b.retain.sweepSoon()
	}
}

// SetGuildIDs changes the guilds the commands are registered to, without
// touching the gateway, the way Run registers them at start: to each of
// ids, or globally when ids is empty. Guilds dropped from the list have
// their commands removed, so that they neither keep a stale set nor, once
// the commands are global, show each command twice. Global commands are
// left in place when a list is set, as at start.
//
// Before Run has registered the commands, SetGuildIDs only changes where
// Run will register them. If a registration fails, the previous list stays
// the one in force, so that calling SetGuildIDs again with the same ids
// retries the whole change.
func (b *Bot) SetGuildIDs(ctx context.Context, ids []snowflake.ID) error {
	ids = slices.Clone(ids)
	b.regMu.Lock()
	defer b.regMu.Unlock()
	if !b.synced {
		b.guildIDs = ids
		return nil
	}
	if err := b.registerCommands(ctx, ids); err != nil {
		return fmt.Errorf("register slash commands: %w", err)
	}
	var errs []error
	app := b.conn.ApplicationID()
	for _, g := range b.guildIDs {
		if slices.Contains(ids, g) {
			continue
		}
		if _, err := b.conn.Rest().SetGuildCommands(app, g, []discord.ApplicationCommandCreate{}, rest.WithCtx(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("remove the slash commands of guild %s: %w", g, err))
			continue
		}
		b.log.Info("removed the slash commands of a guild no longer in discord.guild_ids", slog.String("guild", g.String()))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.guildIDs = ids
	return nil
}
