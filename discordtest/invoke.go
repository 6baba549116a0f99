package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// Errors returned by the invoking methods, besides context errors.
var (
	// ErrNoResponse: the bot did not answer within the interaction deadline.
	ErrNoResponse = errors.New("discordtest: interaction not answered within the deadline")
	// ErrNoEdit: the bot deferred (type 5, or 6 for a component) but did
	// not fill in the response in time (see WithDeferTimeout).
	ErrNoEdit = errors.New("discordtest: deferred interaction not edited in time")
)

// Options are the values of a command's options by name. A value may be a
// string, bool, any integer or float type, *Member or snowflake.ID (user),
// *Role (role), *Channel (channel); the registered command decides the type
// Discord sends.
type Options map[string]any

// Invocation describes a slash command or autocomplete request in full.
// InvokeSlash and Autocomplete fill it for the common case.
type Invocation struct {
	Guild  *Guild
	Member *Member
	// Channel defaults to the guild's first text channel.
	Channel *Channel
	// Command is the command name with any subcommand group and subcommand:
	// "warn", "case view", "config escalation add".
	Command string
	Options Options
	// Focused names the option being typed, for Autocomplete.
	Focused string
	// Locale defaults to "en-US".
	Locale string
}

// Choice is one autocomplete choice the bot returned.
type Choice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Interaction is what the bot did with an interaction.
type Interaction struct {
	ID    snowflake.ID
	Token string
	// Type is the first callback type: 4 message, 5 deferred message,
	// 6 deferred update, 7 update, 8 autocomplete result, 9 modal.
	Type discord.InteractionResponseType
	// Content, Embeds, Components and Flags are those of the response
	// message as it stands when the Interaction is returned (after the edit
	// of a deferred response).
	Content    string
	Embeds     []discord.Embed
	Components []discord.ContainerComponent
	Flags      discord.MessageFlags
	Ephemeral  bool
	// Message is the response message; nil for autocomplete and modals.
	Message *Message
	// Followups are the follow-up messages sent so far.
	Followups []Message
	// Choices are the autocomplete choices (type 8).
	Choices []Choice
	// Modal is the modal's data as sent (type 9).
	Modal json.RawMessage
	// Requests are all REST requests the server received between the
	// dispatch and the return, for this interaction or not.
	Requests []Request
}

// InvokeSlash has member m run a slash command in guild g, as if typed in
// the guild's first text channel: command is "name", "name sub" or
// "name group sub". The command must be registered (globally or for g); the
// call waits for that. It dispatches INTERACTION_CREATE, waits for the
// callback and, after a deferral (type 5), for the response to be filled in.
// ClickButton likewise waits, after a deferred update (type 6), for the
// edit of the button's message.
func (s *Server) InvokeSlash(ctx context.Context, g *Guild, m *Member, command string, opts Options) (*Interaction, error) {
	return s.Invoke(ctx, Invocation{Guild: g, Member: m, Command: command, Options: opts})
}

// Autocomplete sends an autocomplete interaction (type 4) for the focused
// option, whose value is the partial text typed so far, and returns the
// choices.
func (s *Server) Autocomplete(ctx context.Context, g *Guild, m *Member, command string, opts Options, focused string) (*Interaction, error) {
	return s.Invoke(ctx, Invocation{Guild: g, Member: m, Command: command, Options: opts, Focused: focused})
}

// Invoke runs a slash command or, when inv.Focused is set, an autocomplete
// request. See InvokeSlash.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (*Interaction, error) {
	if inv.Guild == nil || inv.Member == nil {
		return nil, errors.New("discordtest: Invoke needs a guild and a member")
	}
	parts := strings.Fields(inv.Command)
	if len(parts) == 0 {
		return nil, errors.New("discordtest: empty command")
	}
	var cmd command
	err := s.waitUntil(ctx, func() bool {
		var ok bool
		cmd, ok = s.findSlashLocked(inv.Guild.ID, parts[0])
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("discordtest: command /%s is not registered: %w", parts[0], err)
	}
	if err := s.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("discordtest: no gateway session: %w", err)
	}

	s.mu.Lock()
	data, err := s.commandDataLocked(inv, cmd, parts)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	kind := interactionCommand
	if inv.Focused != "" {
		kind = interactionAutocomplete
	}
	in, payload, err := s.newInteractionLocked(kind, inv.Guild, inv.Member, inv.Channel, data, nil, inv.Locale)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in, payload)
}

// ClickButton has member m click the button with customID on a message the
// bot sent, dispatching a component interaction (type 3).
func (s *Server) ClickButton(ctx context.Context, g *Guild, m *Member, msg Message, customID string) (*Interaction, error) {
	return s.useComponent(ctx, g, m, msg, customID, nil)
}

// ClickForgedButton sends a button interaction with any customID on a
// message the bot sent, as a modified client can: the custom ID need not be
// one of the message's buttons. Tests use it to check that a bot survives
// custom IDs it never made.
func (s *Server) ClickForgedButton(ctx context.Context, g *Guild, m *Member, msg Message, customID string) (*Interaction, error) {
	return s.sendComponent(ctx, g, m, msg, customID, nil, true)
}

// SelectMenu has member m pick values in the select menu with customID on a
// message the bot sent.
func (s *Server) SelectMenu(ctx context.Context, g *Guild, m *Member, msg Message, customID string, values []string) (*Interaction, error) {
	if values == nil {
		values = []string{}
	}
	return s.useComponent(ctx, g, m, msg, customID, values)
}

func (s *Server) useComponent(ctx context.Context, g *Guild, m *Member, msg Message, customID string, values []string) (*Interaction, error) {
	return s.sendComponent(ctx, g, m, msg, customID, values, false)
}

// sendComponent dispatches a component interaction on msg. Unless forged,
// customID must be an enabled component of the message.
func (s *Server) sendComponent(ctx context.Context, g *Guild, m *Member, msg Message, customID string, values []string, forged bool) (*Interaction, error) {
	if g == nil || m == nil {
		return nil, errors.New("discordtest: a component interaction needs a guild and a member")
	}
	if err := s.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("discordtest: no gateway session: %w", err)
	}
	s.mu.Lock()
	stored := s.findMessageLocked(msg.ID)
	if stored == nil || stored.Deleted {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: message %s is not a message the bot sent", msg.ID)
	}
	var comp discord.InteractiveComponent
	for _, row := range stored.Components {
		for _, c := range row.Components() {
			if c.ID() == customID {
				comp = c
			}
		}
	}
	componentType := discord.ComponentTypeButton
	switch {
	case forged:
	case comp == nil:
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: message %s has no component %q", msg.ID, customID)
	default:
		if b, ok := comp.(discord.ButtonComponent); ok && b.Disabled {
			s.mu.Unlock()
			return nil, fmt.Errorf("discordtest: button %q is disabled", customID)
		}
		componentType = comp.Type()
	}
	data := obj{"custom_id": customID, "component_type": int(componentType)}
	if values != nil {
		data["values"] = values
	}
	var ch *Channel
	if c := s.channels[stored.ChannelID]; c != nil && c.Type != discord.ChannelTypeDM {
		ch = c
	}
	in, payload, err := s.newInteractionLocked(interactionComponent, g, m, ch, data, stored, "")
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in, payload)
}

// findMessageLocked finds a bot message in channels or among interaction
// responses (ephemeral ones are only there).
func (s *Server) findMessageLocked(id snowflake.ID) *Message {
	for _, ms := range s.messages {
		for _, m := range ms {
			if m.ID == id {
				return m
			}
		}
	}
	for _, in := range s.interactions {
		if in.original != nil && in.original.ID == id {
			return in.original
		}
		for _, f := range in.followups {
			if f.ID == id {
				return f
			}
		}
	}
	return nil
}

// run dispatches INTERACTION_CREATE and waits for the outcome.
func (s *Server) run(ctx context.Context, in *interaction, payload obj) (*Interaction, error) {
	s.mu.Lock()
	in.created = time.Now()
	in.firstReq = len(s.requests)
	s.interactions[in.token] = in
	s.mu.Unlock()
	s.broadcast("INTERACTION_CREATE", 0, payload)

	answerCtx, cancel := context.WithDeadline(ctx, in.created.Add(s.cfg.deadline+50*time.Millisecond))
	err := s.waitUntil(answerCtx, func() bool { return in.respType != 0 })
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = ErrNoResponse
		}
		return s.result(in), err
	}
	// A deferred update (6) of a button is filled in by an edit of the
	// message too; waiting for it spares tests a poll.
	s.mu.Lock()
	deferred := in.respType == 5 || in.respType == 6
	s.mu.Unlock()
	if deferred {
		editCtx, cancel := context.WithTimeout(ctx, s.cfg.deferTimeout)
		err = s.waitUntil(editCtx, func() bool { return in.edited })
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = ErrNoEdit
		}
	}
	return s.result(in), err
}

// result snapshots an interaction's outcome.
func (s *Server) result(in *interaction) *Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Interaction{ID: in.id, Token: in.token, Type: discord.InteractionResponseType(in.respType), Modal: in.modal}
	if in.original != nil && in.respType != 0 {
		m := *in.original
		r.Message = &m
		r.Content, r.Embeds, r.Components, r.Flags = m.Content, m.Embeds, m.Components, m.Flags
		r.Ephemeral = m.Ephemeral()
	}
	for _, f := range in.followups {
		r.Followups = append(r.Followups, *f)
	}
	if len(in.choices) > 0 {
		_ = json.Unmarshal(in.choices, &r.Choices)
	}
	r.Requests = append([]Request(nil), s.requests[min(in.firstReq, len(s.requests)):]...)
	return r
}
