package bot

import (
	"context"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"
)

// event is one interaction being answered: what Discord sent, the context
// its work runs in (cancelled when a shutdown runs out of time), and the
// REST calls that answer it. Every message it sends pings no one.
type event struct {
	discord.Interaction
	ctx  context.Context
	rest responder
}

// responder is the part of the REST API that answers interactions.
type responder interface {
	CreateInteractionResponse(interactionID snowflake.ID, interactionToken string, response discord.InteractionResponse, opts ...rest.RequestOpt) error
	UpdateInteractionResponse(applicationID snowflake.ID, interactionToken string, update discord.MessageUpdate, opts ...rest.RequestOpt) (*discord.Message, error)
	CreateFollowupMessage(applicationID snowflake.ID, interactionToken string, msg discord.MessageCreate, opts ...rest.RequestOpt) (*discord.Message, error)
}

func (e *event) respond(t discord.InteractionResponseType, data discord.InteractionResponseData) error {
	return e.rest.CreateInteractionResponse(e.ID(), e.Token(), discord.InteractionResponse{Type: t, Data: data}, rest.WithCtx(e.ctx))
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
	msg.AllowedMentions = noMentions()
	_, err := e.rest.CreateFollowupMessage(e.ApplicationID(), e.Token(), msg, rest.WithCtx(e.ctx))
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
	_, err := e.rest.UpdateInteractionResponse(e.ApplicationID(), e.Token(), upd, rest.WithCtx(e.ctx))
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
