package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/internal/resterr"
	"github.com/modbot/bot/storage"
)

const (
	// claimBatch is how many due actions one claim takes; a backlog after a
	// long stop is worked through batch by batch.
	claimBatch = 10
	// retryBase and retryMax bound the wait before retrying an action that
	// failed for a passing reason (a rate limit, Discord being down); the
	// wait doubles with each attempt.
	retryBase = 30 * time.Second
	retryMax  = time.Hour
	// maxAttempts ends the retries: by then (about half a day) a person
	// should look, and the modlog says so.
	maxAttempts = 15
)

// allStale is the claimedBefore that requeues every running action. One
// process serves a data directory (storage.Lock), so an action still
// running when the scheduler starts belongs to a process that died.
var allStale = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// scheduler carries out scheduled actions, the ends of temporary bans, when
// they fall due. It polls every interval and is woken when
// an action is added. The store's ClaimDue hands each action to one runner
// only, so none runs twice; an action cut short by a crash or a shutdown is
// requeued at the next start, so none is lost, and running it again is
// harmless (an unban of someone not banned changes nothing and records
// nothing).
type scheduler struct {
	stores   Stores
	discord  *discordAPI
	now      func() time.Time
	log      *slog.Logger
	interval time.Duration
	wake     chan struct{}
	// hold reports whether due actions must wait (see held); nil: never.
	hold      func() bool
	heldSince time.Time // when held began holding; zero: not holding

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs the scheduler in the background until stop.
func (s *scheduler) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.cancel, s.done = cancel, done
	go func() {
		defer close(done)
		s.loop(ctx)
	}()
}

// stop ends the scheduler and waits for it; it does nothing if the
// scheduler never started.
func (s *scheduler) stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// nudge wakes the scheduler to look for due actions now.
func (s *scheduler) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) loop(ctx context.Context) {
	safely(s.log, "scheduler", func() { s.requeue(ctx) })
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		safely(s.log, "scheduler", func() { s.runDue(ctx) })
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// requeue makes the actions an earlier run left running due again.
func (s *scheduler) requeue(ctx context.Context) {
	n, err := s.stores.Schedule.RequeueStale(ctx, allStale, s.now())
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopped during start-up: the next start requeues them.
	case err != nil:
		s.log.Error("could not requeue scheduled actions left running by an earlier run", errAttr(err))
	case n > 0:
		s.log.Info("requeued scheduled actions left running by an earlier run", slog.Int("count", n))
	}
}

// maxHold bounds how long held keeps due actions waiting: a guild that
// never arrives, or an audit log that cannot be read, must not stop them.
const maxHold = 2 * time.Minute

// held reports whether due actions wait for now: while a new gateway
// session's guilds arrive and their audit logs are read for actions taken
// outside the bot while it was away. An unban that came due meanwhile
// would otherwise run before a ban a moderator made by hand since is
// recorded, and lift it. Only the scheduler's goroutine calls it.
func (s *scheduler) held() bool {
	if s.hold == nil || !s.hold() {
		s.heldSince = time.Time{}
		return false
	}
	now := time.Now()
	if s.heldSince.IsZero() {
		s.heldSince = now
		s.log.Info("scheduled actions wait until the audit log of each server is read")
	}
	return now.Sub(s.heldSince) < maxHold
}

// runDue carries out every action due now, a batch at a time.
func (s *scheduler) runDue(ctx context.Context) {
	if s.held() {
		return
	}
	for ctx.Err() == nil {
		actions, err := s.stores.Schedule.ClaimDue(ctx, s.now(), claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("could not claim due scheduled actions", errAttr(err))
			}
			return
		}
		for _, a := range actions {
			s.carryOut(ctx, a)
		}
		if len(actions) < claimBatch {
			return
		}
	}
}

// carryOut runs one claimed action and records how it ended. When ctx ends
// midway the action stays claimed, and the next start requeues it.
func (s *scheduler) carryOut(ctx context.Context, a storage.ScheduledAction) {
	log := s.log.With(slog.String("guild", a.GuildID), slog.Int64("scheduled_action", a.ID), slog.String("kind", string(a.Kind)))
	if a.Kind != storage.ActionUnban {
		s.fail(ctx, log, a, fmt.Sprintf("this version does not carry out %q actions", a.Kind), false)
		return
	}
	guildID, gerr := snowflake.Parse(a.GuildID)
	userID, uerr := snowflake.Parse(a.TargetID)
	if gerr != nil || uerr != nil {
		s.fail(ctx, log, a, "malformed guild or user ID", false)
		return
	}
	settings, err := s.stores.Settings.Get(ctx, a.GuildID)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(ctx, log, a, "read the guild's settings: "+err.Error(), true)
		}
		return
	}
	now := s.now()
	reason := "temporary ban ended"
	if a.CaseNumber != 0 {
		reason = fmt.Sprintf("temporary ban ended (case #%d)", a.CaseNumber)
	}
	req := actionRequest{
		kind: storage.CaseUnban, guildID: guildID, settings: settings,
		target:      discord.User{ID: userID, Username: s.bannedName(ctx, a)},
		moderatorID: s.discord.botID(), moderatorName: s.discord.selfName(),
		reason: reason, linkedCase: a.CaseNumber, automatic: true, now: now,
	}
	err = s.discord.applyAction(ctx, req, time.Time{})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return
	case resterr.Code(err) == codeUnknownBan:
		// Lifted by hand (in Discord, or by /unban before this ran): the
		// work is done, and there is nothing to record.
		log.Info("temporary ban already lifted; nothing to do", slog.Int64("case", a.CaseNumber))
		s.complete(ctx, log, a)
		return
	default:
		retry := transient(err)
		s.fail(ctx, log, a, err.Error(), retry)
		if !retry || a.Attempts >= maxAttempts {
			s.discord.postCaseModlog(ctx, log, settings, a.CaseNumber, unbanFailedEmbed(a, err))
		}
		return
	}

	// The case is stored before the action is marked done: after a crash
	// in between, the rerun finds no ban (10026) and records nothing, so
	// the unban is recorded exactly once.
	c, err := s.stores.Cases.Create(ctx, storage.NewCase{
		GuildID: a.GuildID, Kind: storage.CaseUnban, TargetID: a.TargetID, TargetName: req.target.Username,
		ModeratorID: req.moderatorID.String(), ModeratorName: req.moderatorName,
		Reason: reason, CreatedAt: now, LinkedCase: a.CaseNumber,
	})
	if err != nil {
		log.Error("temporary ban lifted, but its case was not stored", errAttr(err))
	} else {
		log.Info("temporary ban lifted", slog.Int64("case", c.Number))
	}
	s.complete(ctx, log, a)
	if err == nil {
		s.discord.postCaseModlog(ctx, log, settings, c.Number, caseEmbed(c))
	}
}

// bannedName is the name the ban's case recorded, for the unban's case.
func (s *scheduler) bannedName(ctx context.Context, a storage.ScheduledAction) string {
	if a.CaseNumber != 0 {
		if c, err := s.stores.Cases.Get(ctx, a.GuildID, a.CaseNumber); err == nil {
			return c.TargetName
		}
	}
	return "user " + a.TargetID
}

func (s *scheduler) complete(ctx context.Context, log *slog.Logger, a storage.ScheduledAction) {
	if err := s.stores.Schedule.Complete(ctx, a.ID, s.now()); err != nil && ctx.Err() == nil {
		log.Error("could not mark a scheduled action done", errAttr(err))
	}
}

// fail records a failed attempt: with retry, the action is due again after
// a wait that doubles with each attempt, up to maxAttempts; otherwise it is
// failed for good.
func (s *scheduler) fail(ctx context.Context, log *slog.Logger, a storage.ScheduledAction, reason string, retry bool) {
	now := s.now()
	var retryAt time.Time
	if retry && a.Attempts < maxAttempts {
		retryAt = now.Add(retryDelay(a.Attempts))
		log.Warn("scheduled action failed; will retry", slog.Int("attempt", a.Attempts), slog.Time("retry_at", retryAt), slog.String("error", reason))
	} else {
		log.Error("scheduled action failed for good", slog.Int("attempt", a.Attempts), slog.Int64("case", a.CaseNumber), slog.String("error", reason))
	}
	if err := s.stores.Schedule.Fail(ctx, a.ID, reason, retryAt, now); err != nil && ctx.Err() == nil {
		log.Error("could not record a scheduled action's failure", errAttr(err))
	}
}

// retryDelay is the wait before attempt+1: retryBase doubled per attempt,
// at most retryMax.
func retryDelay(attempt int) time.Duration {
	d := retryBase
	for i := 1; i < attempt && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// transient reports whether a REST error may pass by itself: a rate limit,
// a failure on Discord's side, or no answer at all.
func transient(err error) bool {
	status := resterr.Status(err)
	return status == 0 || status == http.StatusTooManyRequests || status >= 500
}

// unbanFailedEmbed tells the modlog that a temporary ban could not be
// lifted, and what to do.
func unbanFailedEmbed(a storage.ScheduledAction, err error) discord.Embed {
	why := "Discord refused (see the bot's log)."
	switch {
	case resterr.Code(err) == codeMissingPerms:
		why = "I lack the Ban Members permission."
	case resterr.Code(err) == codeMissingAccess:
		why = "I can no longer see this server's bans."
	case transient(err):
		why = fmt.Sprintf("Discord kept failing after %d attempts.", a.Attempts)
	}
	return discord.Embed{
		Title: "Temporary ban not lifted",
		Description: fmt.Sprintf("I couldn't lift the temporary ban of <@%s> (case #%d): %s Lift it by hand with /unban.",
			a.TargetID, a.CaseNumber, why),
		Color: kindColor(storage.CaseBan),
	}
}
