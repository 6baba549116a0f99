package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/storage"
)

// handlers answer the interactions of the routes table (routes.go). They
// hold what they use: the stores, Discord's REST API and cache, the clock
// and the logger. The connection and the bot's life cycle stay in Bot.
type handlers struct {
	stores  Stores
	discord *discordAPI
	now     func() time.Time
	log     *slog.Logger
	version string
	started time.Time // set by Run before the first interaction
	nudge   func()    // wakes the scheduler after an action is added
	// retention holds the operator's retention.cases (0: none), the
	// longest a guild may choose.
	retention *operatorRetention
	// erased, if set, records each erasure before it commits
	// (Options.Erased).
	erased func(ctx context.Context, erased []storage.Erasure) error
	// exports limits how often a member may ask for their data.
	exports *exportLimiter
	// exportLimit is the largest export file in bytes; 0: maxExportFile.
	exportLimit int
	// limits holds the command limits and the raid brake.
	limits *limiter
	// auditEntries: the connection delivers audit-log entries, which
	// become the cases of manual actions (manual_actions.go).
	auditEntries bool
	// manualPosts takes the modlog posts of manual actions one at a time
	// (manual_actions.go).
	manualPosts sync.Mutex
	// backfills takes the guilds of a new gateway session one at a time
	// (manual_backfill.go): a bot in many guilds would otherwise read all
	// their audit logs at once, against Discord's global rate limit.
	backfills sync.Mutex

	// settingsLocks holds a *sync.Mutex per guild ID. A settings change
	// reads, edits and saves the whole settings row; without the lock two
	// admins adding moderator roles at once would each save a list missing
	// the other's role. One process serves a database (storage locks the
	// data directory), so a lock in memory is enough.
	settingsLocks sync.Map
	// clears holds the /clearwarnings confirmations waiting for a press.
	clears pendingConfirms
	// erasures holds the /privacy erase confirmations waiting for a press.
	erasures pendingConfirms
}

// deferredHandler does a command's work after the deferral and returns what
// replaces the "thinking…" message. Any error is shown in its place.
type deferredHandler func(ctx context.Context, data discord.SlashCommandInteractionData, e *event, log *slog.Logger) (string, []discord.Embed, error)

// deferred answers at once with an ephemeral deferral, then runs h and puts
// its answer, or its error, in the deferred reply. command names the
// command in the log.
//
// Errors are shown here rather than by showError: after a deferral a second
// callback is refused by Discord (40060), so the reply must be edited.
func (h *handlers) deferred(command string, f deferredHandler) slashHandler {
	return func(e *event, data discord.SlashCommandInteractionData) error {
		if err := e.deferEphemeral(); err != nil {
			return fmt.Errorf("defer /%s: %w", command, err)
		}
		log := h.interactionLog(e, command)
		content, embeds, err := f(e.ctx, data, e, log)
		if err != nil {
			content, embeds = h.failureText(e, log, err), []discord.Embed{}
		}
		if err := e.editReply(content, embeds...); err != nil {
			log.Warn("could not fill in the deferred reply", errAttr(err))
		}
		return nil
	}
}

// interactionLog returns the logger for one interaction: each line carries
// the guild, the command and the interaction ID, so a moderator's report
// can be matched to the log.
func (h *handlers) interactionLog(e *event, command string) *slog.Logger {
	guild := ""
	if id := e.GuildID(); id != nil {
		guild = id.String()
	}
	return h.log.With(slog.String("guild", guild), slog.String("command", command), slog.String("interaction", e.ID().String()))
}

// failureText is what the user sees for err: a *UserError's message, or an
// error ID that matches the logged details. It records err as the outcome
// of e, the interaction it answers (nil when the error is not its outcome).
func (h *handlers) failureText(e *event, log *slog.Logger, err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		e.failed(err, "")
		return ue.Msg
	}
	id := newErrorID()
	e.failed(err, id)
	log.Error("interaction failed", slog.String("error_id", id), errAttr(err))
	if errors.Is(err, storage.ErrDiskFull) {
		return fmt.Sprintf("The bot could not save this: its disk is full (or failing), so nothing was recorded. "+
			"Tell the bot's owner; try again once they have freed space (error ID %s).", id)
	}
	return fmt.Sprintf(somethingWentWrong, id)
}
