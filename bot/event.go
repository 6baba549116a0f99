package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// event is one interaction being answered: what Discord sent, the context
// its work runs in (cancelled when a shutdown runs out of time), and the
// REST calls that answer it. Every message it sends pings no one.
//
// It remembers how far the interaction has been answered, so that an answer
// given after a deferral becomes the edit Discord expects instead of a
// second callback, which Discord refuses.
type event struct {
	discord.Interaction
	ctx  context.Context
	rest responder
	// received is when the bot got the interaction; Discord's 3 s to
	// acknowledge it run from about then, whatever waited before dispatch.
	received time.Time

	// mu orders the answers: the handler's and the automatic deferral
	// (deferIfSilent) must not both make the first callback.
	mu    sync.Mutex
	state answerState
	// deferType is the callback type of the deferral, when state is
	// deferred.
	deferType discord.InteractionResponseType

	// failure and errorID are how the interaction failed, if it did, and
	// the error ID the user was shown: the router's log line and the
	// Observer report them. Only the interaction's own goroutine sets and
	// reads them.
	failure error
	errorID string
}

// failed records that the interaction ended with err, shown to the user
// as error ID id ("" for a refusal, which shows its own message).
func (e *event) failed(err error, id string) {
	if e != nil {
		e.failure, e.errorID = err, id
	}
}

// answerState is how far an interaction has been answered.
type answerState int

const (
	// unanswered: Discord has had no callback yet.
	unanswered answerState = iota
	// deferred: Discord shows "thinking…" (or, for a button, nothing yet);
	// the answer is an edit or a follow-up.
	deferred
	// answered: the user has seen an answer.
	answered
)

// responder is the part of the REST API that answers interactions.
type responder interface {
	CreateInteractionResponse(interactionID snowflake.ID, interactionToken string, response discord.InteractionResponse, opts ...rest.RequestOpt) error
	UpdateInteractionResponse(applicationID snowflake.ID, interactionToken string, update discord.MessageUpdate, opts ...rest.RequestOpt) (*discord.Message, error)
	CreateFollowupMessage(applicationID snowflake.ID, interactionToken string, msg discord.MessageCreate, opts ...rest.RequestOpt) (*discord.Message, error)
}

// respond makes the first callback, or, once the interaction is deferred,
// gives the same answer the way Discord then accepts it (see answerLate).
func (e *event) respond(t discord.InteractionResponseType, data discord.InteractionResponseData) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state == deferred {
		return e.answerLateLocked(t, data)
	}
	err := e.rest.CreateInteractionResponse(e.ID(), e.Token(), discord.InteractionResponse{Type: t, Data: data}, rest.WithCtx(e.ctx))
	if err != nil {
		return err
	}
	switch t {
	case discord.InteractionResponseTypeDeferredCreateMessage, discord.InteractionResponseTypeDeferredUpdateMessage:
		e.state, e.deferType = deferred, t
	default:
		e.state = answered
	}
	return nil
}

// errCannotAnswerLate is a callback that has no equivalent after a
// deferral, such as a modal.
var errCannotAnswerLate = errors.New("this answer cannot follow a deferral")

// answerLateLocked turns a first-callback answer into what Discord accepts
// after a deferral: a deferral becomes a no-op, a message fills in the
// "thinking…" message (or, on a button, is sent as a follow-up, leaving
// the button's message alone), and a message update edits the message.
func (e *event) answerLateLocked(t discord.InteractionResponseType, data discord.InteractionResponseData) error {
	switch t {
	case discord.InteractionResponseTypeDeferredCreateMessage, discord.InteractionResponseTypeDeferredUpdateMessage:
		return nil
	case discord.InteractionResponseTypeCreateMessage:
		msg, _ := data.(discord.MessageCreate)
		if e.deferType == discord.InteractionResponseTypeDeferredUpdateMessage {
			return e.followupLocked(msg)
		}
		upd := discord.MessageUpdate{Content: &msg.Content, Embeds: &msg.Embeds, Components: &msg.Components, AllowedMentions: msg.AllowedMentions}
		if msg.Embeds == nil {
			upd.Embeds = &[]discord.Embed{}
		}
		if msg.Components == nil {
			upd.Components = &[]discord.ContainerComponent{}
		}
		if len(msg.Files) > 0 {
			upd.Files = msg.Files
		}
		return e.updateResponseLocked(upd)
	case discord.InteractionResponseTypeUpdateMessage:
		upd, _ := data.(discord.MessageUpdate)
		return e.updateResponseLocked(upd)
	}
	return errCannotAnswerLate
}

// deferIfSilent defers the interaction if it is still unanswered after
// the given wait, so that a handler held up (by a locked database, a slow
// Discord) never misses Discord's 3-second limit; its answer then becomes
// an edit (see respond). A command's deferral is ephemeral, as every
// command's answer is; a button's leaves its message as it is. The
// returned function cancels the wait.
func (e *event) deferIfSilent(wait time.Duration, log *slog.Logger) (stop func()) {
	t := e.Type()
	if t != discord.InteractionTypeApplicationCommand && t != discord.InteractionTypeComponent && t != discord.InteractionTypeModalSubmit {
		return func() {} // autocompletes cannot be deferred
	}
	timer := time.AfterFunc(wait, func() {
		defer func() {
			if v := recover(); v != nil {
				logPanic(log, "automatic deferral", v)
			}
		}()
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.state != unanswered {
			return
		}
		rt, data := discord.InteractionResponseTypeDeferredCreateMessage, discord.InteractionResponseData(discord.MessageCreate{Flags: discord.MessageFlagEphemeral})
		if t == discord.InteractionTypeComponent {
			rt, data = discord.InteractionResponseTypeDeferredUpdateMessage, nil
		}
		err := e.rest.CreateInteractionResponse(e.ID(), e.Token(), discord.InteractionResponse{Type: rt, Data: data}, rest.WithCtx(e.ctx))
		if err != nil {
			log.Warn("could not defer a slow interaction", errAttr(err), slog.String("interaction", e.ID().String()))
			return
		}
		e.state, e.deferType = deferred, rt
		log.Info("deferred a slow interaction", slog.String("interaction", e.ID().String()), slog.Duration("after", wait))
	})
	return func() { timer.Stop() }
}

// progress reports how far the interaction has been answered.
func (e *event) progress() answerState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// createMessage answers with a message.
func (e *event) createMessage(msg discord.MessageCreate) error {
	msg.AllowedMentions = noMentions()
	return e.respond(discord.InteractionResponseTypeCreateMessage, msg)
}

// reply answers with a plain message.
func (e *event) reply(content string, ephemeral bool) error {
	msg := discord.MessageCreate{Content: content}
	if ephemeral {
		msg.Flags = discord.MessageFlagEphemeral
	}
	return e.createMessage(msg)
}

// deferEphemeral answers at once with "thinking…", visible only to the
// invoker, so slow work never misses Discord's 3-second limit; finish with
// editReply.
func (e *event) deferEphemeral() error {
	return e.respond(discord.InteractionResponseTypeDeferredCreateMessage, discord.MessageCreate{Flags: discord.MessageFlagEphemeral})
}

// deferUpdate answers a button at once without changing its message, so
// slow work never misses Discord's 3-second limit; finish with
// updateResponse, which then edits the message the button is on.
func (e *event) deferUpdate() error {
	return e.respond(discord.InteractionResponseTypeDeferredUpdateMessage, nil)
}

// followup sends a message after the answer; after a deferral the first
// one takes the place of "thinking…". It is the way to send a file once
// the interaction is deferred.
func (e *event) followup(msg discord.MessageCreate) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.followupLocked(msg)
}

func (e *event) followupLocked(msg discord.MessageCreate) error {
	msg.AllowedMentions = noMentions()
	_, err := e.rest.CreateFollowupMessage(e.ApplicationID(), e.Token(), msg, rest.WithCtx(e.ctx))
	if err == nil {
		e.state = answered
	}
	return err
}

// editReply replaces a deferred answer.
func (e *event) editReply(content string, embeds ...discord.Embed) error {
	upd := discord.MessageUpdate{Content: &content, AllowedMentions: noMentions()}
	if embeds != nil {
		upd.Embeds = &embeds
	}
	return e.updateResponse(upd)
}

// updateResponse edits the answer already given.
func (e *event) updateResponse(upd discord.MessageUpdate) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.updateResponseLocked(upd)
}

func (e *event) updateResponseLocked(upd discord.MessageUpdate) error {
	_, err := e.rest.UpdateInteractionResponse(e.ApplicationID(), e.Token(), upd, rest.WithCtx(e.ctx))
	if err == nil {
		e.state = answered
	}
	return err
}

// updateMessage answers a button by editing the message it sits on.
func (e *event) updateMessage(upd discord.MessageUpdate) error {
	upd.AllowedMentions = noMentions()
	return e.respond(discord.InteractionResponseTypeUpdateMessage, upd)
}

// autocompleteResult answers an autocomplete with choices.
func (e *event) autocompleteResult(choices []discord.AutocompleteChoice) error {
	return e.respond(discord.InteractionResponseTypeAutocompleteResult, discord.AutocompleteResult{Choices: choices})
}
