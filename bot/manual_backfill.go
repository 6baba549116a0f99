package bot

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

// Discord delivers an audit-log entry as an event only to the gateway
// session open when it is made, and replays it only to a RESUME of that
// session. Entries made while the bot had no session (it was down longer
// than Discord keeps one, or the session could not be resumed) would never
// become cases. So when a guild arrives after the READY of a new session,
// the bot reads the guild's recent audit log over REST and records each
// entry through the same path as a live one: entries recorded before are
// skipped (the gateway delivered them, or an earlier start read them), and
// so are the bot's own. A RESUME sends no guild, and Discord replays the
// missed events itself.

// backfillTypes are the audit-log action types that can record a case
// (manualActionOf), each read on its own so that the log's other entries
// (messages deleted, roles changed) do not use up the cap.
var backfillTypes = []discord.AuditLogEvent{
	discord.AuditLogEventMemberBanAdd,
	discord.AuditLogEventMemberBanRemove,
	discord.AuditLogEventMemberKick,
	discord.AuditLogEventMemberUpdate,
}

const (
	// backfillPage is how many entries one request asks for: Discord's
	// most.
	backfillPage = 100
	// backfillCap bounds the entries of each action type read per guild
	// at a connect: a raid banned by another bot while the bot was down
	// can fill the log, and past this the connect would be spent reading
	// it.
	backfillCap = 500
)

// backfillWindow is how far back the audit log is read. The record that
// an entry became a case is kept storage.ManualEntryKeep and then pruned:
// an older entry, read again, would be recorded twice. A day less than
// that, so that a prune that runs while the log is read (the retention
// sweep runs at start) cannot reach an entry the read returns.
const backfillWindow = storage.ManualEntryKeep - 24*time.Hour

// handleGuildReady is called on the gateway's reader for each guild of a
// new session: it reads the guild's missed entries in its own goroutine,
// tracked for a graceful shutdown.
func (b *Bot) handleGuildReady(guildID snowflake.ID) {
	if b.closing.Load() {
		b.backfillCut.Store(true)
		return
	}
	b.inflight.Add(1)
	// Counted here, on the reader, so that the scheduler holds back from
	// the moment the guild arrives.
	b.backfillsPending.Add(1)
	go func() {
		defer b.inflight.Done()
		defer func() {
			if b.backfillsPending.Add(-1) == 0 {
				b.sched.nudge()
			}
		}()
		defer func() {
			if v := recover(); v != nil {
				logPanic(b.log, "audit-log backfill", v)
			}
		}()
		b.handlers.backfills.Lock()
		defer b.handlers.backfills.Unlock()
		if b.closing.Load() || b.handlers.backfillManualActions(b.baseCtx, guildID, b.closing.Load) {
			b.backfillCut.Store(true)
		}
	}()
}

// Settled reports whether every guild of the gateway session has arrived
// and had its audit log read for actions taken outside the bot while it
// was away. Until then the session must not be saved for a restart to
// resume: a resumed session gets no guild again, so what was not read
// would never be. After a read cut short by a shutdown it stays false.
func (b *Bot) Settled() bool {
	return !b.backfillCut.Load() && !b.backfilling()
}

// backfilling reports whether guilds of a new session are still to arrive
// or to have their audit logs read.
func (b *Bot) backfilling() bool {
	return b.backfillsPending.Load() > 0 || len(b.handlers.discord.cache.UnreadyGuildIDs()) > 0
}

// backfillManualActions records the entries of guildID's audit log of the
// last backfillWindow that are not recorded yet, oldest first, so that
// case numbers follow the order in which moderators acted. Once stopping
// reports true (a shutdown) it records no more and reports the read cut
// short: the next start that connects afresh reads them again.
func (h *handlers) backfillManualActions(ctx context.Context, guildID snowflake.ID, stopping func() bool) (cut bool) {
	log := h.log.With(slog.String("guild", guildID.String()))
	settings, err := h.stores.Settings.Get(ctx, guildID.String())
	if err != nil {
		log.Error("could not read the settings to look for actions taken outside the bot while it was away", errAttr(err))
		return
	}
	if settings.IgnoreManualActions {
		return
	}
	if problem := h.manualActionsProblem(guildID); problem != "" {
		log.Warn("actions taken outside the bot while it was away are not read from the audit log: " + problem)
		return
	}
	since := snowflake.New(h.now().Add(-backfillWindow))
	entries, users, err := h.missedEntries(ctx, guildID, since)
	if err != nil {
		switch resterr.Code(err) {
		case codeMissingPerms, codeMissingAccess:
			log.Warn("actions taken outside the bot while it was away are not read from the audit log: " +
				"I lack the View Audit Log permission: give it to my role in Server Settings → Roles (or invite me again with 'bot invite')")
		default:
			log.Warn("could not read the audit log for actions taken outside the bot while it was away", errAttr(err))
		}
		// What was read is recorded all the same.
	}
	recorded := 0
	for _, e := range entries {
		if stopping() || ctx.Err() != nil {
			cut = true
			log.Info("stopped reading the audit log for a shutdown; the next start that connects afresh reads the rest",
				slog.Int("recorded", recorded), slog.Int("read", len(entries)))
			return cut
		}
		if h.recordManualActionWith(ctx, guildID, e, entrySource{online: true, backfill: true, users: users}) {
			recorded++
		}
	}
	if recorded > 0 {
		log.Info("recorded actions taken outside the bot while it was away, from the audit log",
			slog.Int("recorded", recorded), slog.Int("read", len(entries)))
	}
	return false
}

// missedEntries reads the entries of guildID's audit log newer than since
// that can record a case, newest first and a page at a time, until one is
// older or backfillCap of a type were read, and returns them oldest first
// with the users the answers named. On an error it returns what it read
// before.
func (h *handlers) missedEntries(ctx context.Context, guildID, since snowflake.ID) ([]discord.AuditLogEntry, map[snowflake.ID]discord.User, error) {
	var out []discord.AuditLogEntry
	users := map[snowflake.ID]discord.User{}
	var err error
	for _, t := range backfillTypes {
		if err = h.missedOfType(ctx, guildID, t, since, &out, users); err != nil {
			break
		}
	}
	slices.SortFunc(out, func(a, b discord.AuditLogEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out, users, err
}

// missedOfType is missedEntries for one action type.
func (h *handlers) missedOfType(ctx context.Context, guildID snowflake.ID, t discord.AuditLogEvent, since snowflake.ID,
	out *[]discord.AuditLogEntry, users map[snowflake.ID]discord.User) error {
	var before snowflake.ID // 0: from the newest
	for read := 0; read < backfillCap; {
		limit := min(backfillPage, backfillCap-read)
		page, err := h.discord.rest.GetAuditLog(guildID, 0, t, before, 0, limit, rest.WithCtx(ctx))
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			users[u.ID] = u
		}
		done := len(page.AuditLogEntries) < limit
		for _, e := range page.AuditLogEntries {
			read++
			if e.ID <= since {
				done = true
				continue
			}
			*out = append(*out, e)
			if before == 0 || e.ID < before {
				before = e.ID
			}
		}
		if done || len(page.AuditLogEntries) == 0 {
			return nil
		}
	}
	return nil
}
