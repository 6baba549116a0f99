package bot

import (
	"context"
	"errors"
	"time"

	"github.com/modbot/bot/storage"
)

// Observer is told what the bot does, for metrics. Its methods must return
// at once: they run on the path of every interaction. Labels come from
// small fixed sets (a route, a case kind, a reason), never from a user,
// guild or case.
type Observer interface {
	// InteractionDone is told of each interaction once: its route (see
	// routeLabel), its outcome (OutcomeOK, OutcomeRefused or
	// OutcomeError) and the time from its receipt to its final reply.
	InteractionDone(command, outcome string, d time.Duration)
	// CaseCreated is told of each case recorded, by kind.
	CaseCreated(kind string)
	// DMFailed is told of each DM to a member that did not arrive:
	// DMReasonClosed, DMReasonTimeout or DMReasonError.
	DMFailed(reason string)
}

// The outcomes of an interaction.
const (
	// OutcomeOK: the interaction was answered as asked.
	OutcomeOK = "ok"
	// OutcomeRefused: the user was refused something they can act on
	// (permission, hierarchy, bad input, rate limit): a UserError.
	OutcomeRefused = "refused"
	// OutcomeError: the bot failed; the user saw an error ID.
	OutcomeError = "error"
)

// The reasons a DM did not arrive.
const (
	// DMReasonClosed: the member does not take DMs from the bot.
	DMReasonClosed = "closed"
	// DMReasonTimeout: Discord did not answer in time.
	DMReasonTimeout = "timeout"
	// DMReasonError: any other failure.
	DMReasonError = "error"
)

// noObserver is the Observer of a bot without metrics.
type noObserver struct{}

func (noObserver) InteractionDone(string, string, time.Duration) {}
func (noObserver) CaseCreated(string)                            {}
func (noObserver) DMFailed(string)                               {}

// observedCases is a CaseStore that tells the Observer of each case it
// creates, so that every path that records a case (commands, escalation,
// the scheduler) is counted without each knowing of metrics.
type observedCases struct {
	CaseStore
	obs Observer
}

// Create creates the case and counts it.
func (s observedCases) Create(ctx context.Context, n storage.NewCase) (storage.Case, error) {
	c, err := s.CaseStore.Create(ctx, n)
	if err == nil {
		s.obs.CaseCreated(string(n.Kind))
	}
	return c, err
}

// CreateWithPoints creates the case and counts it.
func (s observedCases) CreateWithPoints(ctx context.Context, n storage.NewCase) (storage.Case, int, error) {
	c, before, err := s.CaseStore.CreateWithPoints(ctx, n)
	if err == nil {
		s.obs.CaseCreated(string(n.Kind))
	}
	return c, before, err
}

// CreateManual creates the case of a manual action and counts it, unless
// its entry was recorded before.
func (s observedCases) CreateManual(ctx context.Context, n storage.NewCase, entryID string) (storage.Case, bool, error) {
	c, recorded, err := s.CaseStore.CreateManual(ctx, n, entryID)
	if err == nil && recorded {
		s.obs.CaseCreated(string(n.Kind))
	}
	return c, recorded, err
}

// outcomeOf is the outcome of an interaction that ended with err.
func outcomeOf(err error) string {
	var ue *UserError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &ue):
		return OutcomeRefused
	default:
		return OutcomeError
	}
}

// dmFailureReason sorts a DM's failure into the Observer's reasons.
func dmFailureReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return DMReasonTimeout
	default:
		return DMReasonError
	}
}

// dmFailed tells the Observer, if any, of a DM that did not arrive.
func (d *discordAPI) dmFailed(reason string) {
	if d.obs != nil {
		d.obs.DMFailed(reason)
	}
}
