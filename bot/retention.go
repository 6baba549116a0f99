package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// sweepEvery is how often the retention sweep runs; the first runs at
// start.
const sweepEvery = 24 * time.Hour

// RetentionStore is what the bot needs of retention. *storage.Retention
// implements it.
type RetentionStore interface {
	GuildPeriod(ctx context.Context, guildID string) (time.Duration, error)
	SetGuildPeriod(ctx context.Context, guildID string, d time.Duration, actorID string, at time.Time) error
	SweepBatch(ctx context.Context, operator time.Duration, now time.Time, after int64, limit int) (storage.SweepResult, error)
	RecordDeparture(ctx context.Context, guildID string, leftAt, deleteAt time.Time) error
	CancelDeparture(ctx context.Context, guildID string, at time.Time) (bool, error)
	Departures(ctx context.Context) ([]storage.Departure, error)
	DeleteGuildBatch(ctx context.Context, guildID string, now time.Time, limit int) (bool, error)
	PruneManualEntries(ctx context.Context, before time.Time) (int, error)
}

// operatorRetention holds the operator's retention settings. A reload
// changes them while the sweep, the departures and the commands read
// them, so each is an atomic; a nil *operatorRetention (handlers built
// for one test) keeps everything.
type operatorRetention struct {
	casesNS      atomic.Int64 // retention.cases; 0: none
	afterLeaveNS atomic.Int64 // retention.after_leave; 0: keep
}

// newOperatorRetention returns the settings holding cases and afterLeave.
func newOperatorRetention(cases, afterLeave time.Duration) *operatorRetention {
	r := &operatorRetention{}
	r.set(cases, afterLeave)
	return r
}

// set replaces both settings. A reader may see one new and one old
// setting for a moment; each is used on its own, so no pair is torn.
func (r *operatorRetention) set(cases, afterLeave time.Duration) {
	r.casesNS.Store(int64(cases))
	r.afterLeaveNS.Store(int64(afterLeave))
}

// cases is how long a case is kept once it no longer counts; 0: forever.
func (r *operatorRetention) cases() time.Duration {
	if r == nil {
		return 0
	}
	return time.Duration(r.casesNS.Load())
}

// afterLeave is how long a guild's records are kept after the bot left
// it; 0: kept.
func (r *operatorRetention) afterLeave() time.Duration {
	if r == nil {
		return 0
	}
	return time.Duration(r.afterLeaveNS.Load())
}

// guildChange is a guild the bot is in (present) or has left.
type guildChange struct {
	guildID string
	present bool
}

// retainer deletes what the bot no longer keeps: cases past their
// retention, swept at start and daily, and the records of guilds the bot
// left, once their time is up. It also records those departures, and
// cancels them when the bot is back, in the order the gateway reported
// them: a guild left and rejoined at once must end up kept. Every deletion
// goes in batches, each its own transaction, so commands wait behind one
// batch at most.
type retainer struct {
	store    RetentionStore
	now      func() time.Time
	log      *slog.Logger
	periods  *operatorRetention
	interval time.Duration // how often due departures are looked for
	wake     chan struct{}
	// forget drops what the bot caches of a guild whose records were
	// deleted, so a guild that adds the bot again starts afresh; nil:
	// nothing is cached.
	forget func(guildID string)

	mu        sync.Mutex
	changes   []guildChange
	cancel    context.CancelFunc
	done      chan struct{}
	lastSweep time.Time // by now(); zero: not yet in this run
}

// guildChanged queues what the gateway said about a guild; it runs on the
// gateway's reader, so the work is left to the loop.
func (r *retainer) guildChanged(id snowflake.ID, present bool) {
	r.mu.Lock()
	r.changes = append(r.changes, guildChange{guildID: id.String(), present: present})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// start runs the retainer in the background until stop.
func (r *retainer) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.cancel, r.done = cancel, done
	go func() {
		defer close(done)
		r.loop(ctx)
	}()
}

// stop ends the retainer and waits for it. Guild changes still queued are
// recorded first, so that a departure reported just before a shutdown is
// not lost.
func (r *retainer) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	ctx, end := context.WithTimeout(context.Background(), 5*time.Second)
	defer end()
	r.applyChanges(ctx)
}

func (r *retainer) loop(ctx context.Context) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		safely(r.log, "retention", func() { r.pass(ctx) })
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// pass records guild changes, deletes the records of departed guilds that
// are due, and sweeps if a day has passed since the last sweep.
func (r *retainer) pass(ctx context.Context) {
	r.applyChanges(ctx)
	r.deleteDeparted(ctx)
	r.mu.Lock()
	due := r.lastSweep.IsZero() || r.now().Sub(r.lastSweep) >= sweepEvery
	r.mu.Unlock()
	if due {
		r.sweep(ctx)
	}
}

// applyChanges records each queued departure and cancels each returned
// guild's, in order.
func (r *retainer) applyChanges(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		if len(r.changes) == 0 {
			r.mu.Unlock()
			return
		}
		c := r.changes[0]
		r.changes = r.changes[1:]
		r.mu.Unlock()
		log := r.log.With(slog.String("guild", c.guildID))
		now := r.now()
		afterLeave := r.periods.afterLeave()
		switch {
		case c.present:
			if cancelled, err := r.store.CancelDeparture(ctx, c.guildID, now); err != nil {
				log.Error("the bot is back in a server, but its pending deletion could not be cancelled", errAttr(err))
			} else if cancelled {
				log.Info("the bot is back in a server; its records are kept")
			}
		case afterLeave <= 0:
			log.Info("the bot left a server; its records are kept (retention.after_leave is 0)")
		default:
			at := now.Add(afterLeave)
			if err := r.store.RecordDeparture(ctx, c.guildID, now, at); err != nil {
				log.Error("the bot left a server, but its deletion could not be scheduled", errAttr(err))
			} else {
				log.Info("the bot left a server; its records will be deleted unless it is added back", slog.Time("delete_at", at))
			}
		}
	}
}

// deleteDeparted deletes, batch by batch, the records of every guild
// whose departure is due.
func (r *retainer) deleteDeparted(ctx context.Context) {
	deps, err := r.store.Departures(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("could not list the servers the bot left", errAttr(err))
		}
		return
	}
	for _, d := range deps {
		if d.DeleteAt.After(r.now()) {
			continue
		}
		log := r.log.With(slog.String("guild", d.GuildID))
		for done := false; !done; {
			// A guild rejoined meanwhile is seen here, and by the store's
			// own check of the departure in each batch.
			r.applyChanges(ctx)
			if ctx.Err() != nil {
				return
			}
			if done, err = r.store.DeleteGuildBatch(ctx, d.GuildID, r.now(), storage.RetentionBatch); err != nil {
				if ctx.Err() == nil {
					log.Error("could not delete the records of a server the bot left", errAttr(err))
				}
				break
			}
		}
		if r.forget != nil {
			r.forget(d.GuildID)
		}
		if err == nil {
			log.Info("deleted the records of a server the bot left", slog.Time("left_at", d.LeftAt))
		}
	}
}

// sweep deletes the cases past their retention, a batch at a time, and
// notes when it finished.
func (r *retainer) sweep(ctx context.Context) {
	now := r.now()
	// One period for the whole sweep: a reload meanwhile applies from the
	// next one, so no batch deletes by a period the others did not use.
	operator := r.periods.cases()
	if _, err := r.store.PruneManualEntries(ctx, now.Add(-storage.ManualEntryKeep)); err != nil && ctx.Err() == nil {
		// Only the replay guard's old records: the sweep goes on.
		r.log.Warn("could not prune the records of manual actions' audit-log entries; the next sweep tries again", errAttr(err))
	}
	total, after := 0, int64(0)
	for {
		r.applyChanges(ctx)
		res, err := r.store.SweepBatch(ctx, operator, now, after, storage.RetentionBatch)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("the retention sweep stopped; it runs again tomorrow", errAttr(err))
				r.mu.Lock()
				r.lastSweep = now
				r.mu.Unlock()
			}
			return
		}
		total += res.Deleted
		if !res.More {
			break
		}
		after = res.Next
	}
	r.mu.Lock()
	r.lastSweep = now
	r.mu.Unlock()
	if total > 0 {
		r.log.Info("deleted cases past their retention", slog.Int("count", total))
	}
}

// retentionOption is /config retention's one option.
func retentionOption() discord.ApplicationCommandOption {
	return discord.ApplicationCommandOptionSubCommand{Name: "retention",
		Description: "Set how long cases are kept once they stop counting",
		Options: []discord.ApplicationCommandOption{
			discord.ApplicationCommandOptionString{Name: "period", Required: true,
				Description: "A period such as 90d or 1y, or 'off' to use the bot's own"},
		}}
}

// handleConfigRetention sets the guild's retention period: no longer than
// the operator's, whose period applies with 'off'.
func (h *handlers) handleConfigRetention(e *event, data discord.SlashCommandInteractionData) error {
	mc, err := h.managerContext(e.ctx, e, "config")
	if err != nil {
		return err
	}
	if h.stores.Retention == nil {
		return &UserError{"This bot keeps no retention settings. Ask its operator to upgrade it."}
	}
	operator := h.retention.cases()
	typed := strings.ToLower(strings.TrimSpace(data.String("period")))
	var d time.Duration
	if typed != "off" {
		var never bool
		if d, never, err = ParseDuration(typed); err != nil {
			return userErrorf("%s Or type 'off' to use the bot's own retention.", err.Error())
		}
		if never {
			d = 0
			if operator > 0 {
				return userErrorf("This bot deletes cases %s after they stop counting at the latest, so they can't be kept forever. Choose %s or less, or 'off'.",
					FormatDuration(operator), FormatDuration(operator))
			}
		}
	}
	if operator > 0 && d > operator {
		return userErrorf("This bot keeps cases at most %s after they stop counting; its operator set that. Choose %s or less, or 'off' to use it.",
			FormatDuration(operator), FormatDuration(operator))
	}
	if err := h.stores.Retention.SetGuildPeriod(e.ctx, mc.guild, d, mc.actor.UserID.String(), mc.now); err != nil {
		return err
	}
	return e.reply(retentionText(operator, d)+".", true)
}

// retentionText says what happens to cases that no longer count, given the
// operator's and the guild's periods (0: none).
func retentionText(operator, guild time.Duration) string {
	const what = "Cases that no longer count (revoked or expired warnings, finished actions, notes)"
	switch {
	case guild > 0 && (operator == 0 || guild < operator):
		return fmt.Sprintf("%s are deleted %s after they stop counting, as this server chose", what, FormatDuration(guild))
	case operator > 0:
		return fmt.Sprintf("%s are deleted %s after they stop counting, the bot's own retention", what, FormatDuration(operator))
	}
	return what + " are kept until a member's records are erased"
}

// retentionField is /config show's line on retention.
func (h *handlers) retentionField(ctx context.Context, guildID string) (discord.EmbedField, error) {
	var guild time.Duration
	if h.stores.Retention != nil {
		var err error
		if guild, err = h.stores.Retention.GuildPeriod(ctx, guildID); err != nil {
			return discord.EmbedField{}, err
		}
	}
	return discord.EmbedField{Name: "Retention", Value: retentionText(h.retention.cases(), guild) + " · /config retention"}, nil
}

// sweepSoon has the retainer sweep at its next pass, rather than a day
// after the last sweep.
func (r *retainer) sweepSoon() {
	r.mu.Lock()
	r.lastSweep = time.Time{}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
