package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// Application command types of context-menu entries.
const (
	commandUser    = 2
	commandMessage = 3
)

// Limits Discord sets on a modal (interaction response type 9) and its
// text inputs.
const (
	maxModalTitle      = 45
	maxModalCustomID   = 100
	maxModalRows       = 5
	maxTextInputLabel  = 45
	maxTextInputLength = 4000
	maxTextPlaceholder = 100
	componentActionRow = 1
	componentTextInput = 4
	textInputShort     = 1
	textInputParagraph = 2
)

// PostMemberMessage has member author post content in channel ch, as a
// message the bot did not send, and returns it: the target of a message
// context-menu entry.
func (s *Server) PostMemberMessage(ch *Channel, author *Member, content string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{ID: s.newID(), ChannelID: ch.ID, GuildID: ch.GuildID, AuthorID: author.ID, Content: content, CreatedAt: time.Now()}
	s.messages[ch.ID] = append(s.messages[ch.ID], m)
	s.bumpLocked()
	return *m
}

// InvokeUserCommand has member m use the user context-menu entry name
// (Apps → on a member) on target, in the guild's first text channel.
// target need not be a member of g any more: then only its user is
// resolved, as Discord does.
func (s *Server) InvokeUserCommand(ctx context.Context, g *Guild, m *Member, name string, target *Member) (*Interaction, error) {
	if target == nil {
		return nil, errors.New("discordtest: InvokeUserCommand needs a target")
	}
	return s.invokeMenu(ctx, g, m, nil, commandUser, name, func(cmd command) (obj, error) {
		if s.users[target.ID] == nil {
			return nil, fmt.Errorf("discordtest: unknown user %s", target.ID)
		}
		resolved := obj{"users": obj{target.ID.String(): s.userJSONLocked(target.ID)}}
		if cur := g.members[target.ID]; cur != nil {
			mj := s.memberJSONLocked(cur, false)
			mj["permissions"] = permString(g.permissionsLocked(cur))
			resolved["members"] = obj{target.ID.String(): mj}
		}
		return obj{"id": cmd.ID.String(), "name": cmd.Name, "type": commandUser, "guild_id": g.ID.String(),
			"target_id": target.ID.String(), "resolved": resolved}, nil
	})
}

// InvokeMessageCommand has member m use the message context-menu entry
// name on msg, in msg's channel.
func (s *Server) InvokeMessageCommand(ctx context.Context, g *Guild, m *Member, name string, msg Message) (*Interaction, error) {
	s.mu.Lock()
	ch := s.channels[msg.ChannelID]
	s.mu.Unlock()
	if ch == nil || ch.GuildID != g.ID {
		return nil, fmt.Errorf("discordtest: message %s is not in a channel of %s", msg.ID, g.Name)
	}
	return s.invokeMenu(ctx, g, m, ch, commandMessage, name, func(cmd command) (obj, error) {
		stored := s.findMessageLocked(msg.ID)
		if stored == nil || stored.Deleted {
			return nil, fmt.Errorf("discordtest: no message %s", msg.ID)
		}
		mj := s.messageJSONLocked(stored)
		return obj{"id": cmd.ID.String(), "name": cmd.Name, "type": commandMessage, "guild_id": g.ID.String(),
			"target_id": msg.ID.String(), "resolved": obj{"messages": obj{msg.ID.String(): mj}}}, nil
	})
}

// invokeMenu waits for the context-menu entry to be registered, then
// dispatches the command interaction data builds.
func (s *Server) invokeMenu(ctx context.Context, g *Guild, m *Member, ch *Channel, typ int, name string, data func(command) (obj, error)) (*Interaction, error) {
	if g == nil || m == nil {
		return nil, errors.New("discordtest: a context-menu entry needs a guild and a member")
	}
	var cmd command
	err := s.waitUntil(ctx, func() bool {
		var ok bool
		cmd, ok = s.findMenuLocked(g.ID, typ, name)
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("discordtest: context-menu entry %q (type %d) is not registered: %w", name, typ, err)
	}
	if err := s.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("discordtest: no gateway session: %w", err)
	}
	s.mu.Lock()
	d, err := data(cmd)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	in, payload, err := s.newInteractionLocked(interactionCommand, g, m, ch, d, nil, "")
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in, payload)
}

// findMenuLocked finds a registered context-menu entry, for the guild or
// global. Unlike slash command names, these names are matched exactly, as
// Discord shows them.
func (s *Server) findMenuLocked(guildID snowflake.ID, typ int, name string) (command, bool) {
	for _, scope := range []snowflake.ID{guildID, 0} {
		for _, c := range s.commands[scope] {
			if c.Type == typ && c.Name == name {
				return c, true
			}
		}
	}
	return command{}, false
}

// Modal is a modal the bot opened, as sent.
type Modal struct {
	CustomID   string      `json:"custom_id"`
	Title      string      `json:"title"`
	Components []modalRow  `json:"components"`
	Inputs     []TextInput `json:"-"`
}

type modalRow struct {
	Type       int         `json:"type"`
	Components []TextInput `json:"components"`
}

// TextInput is a text input of a modal.
type TextInput struct {
	Type        int    `json:"type"`
	CustomID    string `json:"custom_id"`
	Style       int    `json:"style"`
	Label       string `json:"label"`
	MinLength   *int   `json:"min_length"`
	MaxLength   *int   `json:"max_length"`
	Required    *bool  `json:"required"`
	Placeholder string `json:"placeholder"`
	Value       string `json:"value"`
}

// required is Discord's default: a text input is required unless it says
// otherwise.
func (t TextInput) required() bool { return t.Required == nil || *t.Required }

// ParseModal reads the modal of an interaction the bot answered with one
// (type 9).
func ParseModal(in *Interaction) (Modal, error) {
	if in == nil || in.Type != discord.InteractionResponseTypeModal || len(in.Modal) == 0 {
		return Modal{}, errors.New("discordtest: the bot did not answer with a modal")
	}
	var m Modal
	if err := json.Unmarshal(in.Modal, &m); err != nil {
		return Modal{}, fmt.Errorf("discordtest: the modal does not decode: %w", err)
	}
	for _, r := range m.Components {
		m.Inputs = append(m.Inputs, r.Components...)
	}
	return m, nil
}

// checkModal returns what is wrong with a modal's data as Discord checks
// it, or "".
func checkModal(raw json.RawMessage) string {
	var m Modal
	if err := json.Unmarshal(raw, &m); err != nil {
		return "modal: " + err.Error()
	}
	switch n := utf8.RuneCountInString(m.Title); {
	case n == 0:
		return "modal title: empty"
	case n > maxModalTitle:
		return fmt.Sprintf("modal title: %d characters, more than %d", n, maxModalTitle)
	}
	if n := len(m.CustomID); n == 0 || n > maxModalCustomID {
		return fmt.Sprintf("modal custom_id: %d characters, want 1 to %d", n, maxModalCustomID)
	}
	if n := len(m.Components); n == 0 || n > maxModalRows {
		return fmt.Sprintf("modal components: %d action rows, want 1 to %d", n, maxModalRows)
	}
	seen := map[string]bool{}
	for i, r := range m.Components {
		if r.Type != componentActionRow {
			return fmt.Sprintf("modal components[%d]: type %d, want an action row", i, r.Type)
		}
		if len(r.Components) != 1 {
			return fmt.Sprintf("modal components[%d]: %d components, want one text input", i, len(r.Components))
		}
		if p := checkTextInput(r.Components[0]); p != "" {
			return fmt.Sprintf("modal components[%d]: %s", i, p)
		}
		id := r.Components[0].CustomID
		if seen[id] {
			return fmt.Sprintf("modal components[%d]: duplicate custom_id %q", i, id)
		}
		seen[id] = true
	}
	return ""
}

func checkTextInput(t TextInput) string {
	switch {
	case t.Type != componentTextInput:
		return fmt.Sprintf("type %d, want a text input", t.Type)
	case len(t.CustomID) == 0 || len(t.CustomID) > maxModalCustomID:
		return fmt.Sprintf("custom_id of %d characters, want 1 to %d", len(t.CustomID), maxModalCustomID)
	case t.Style != textInputShort && t.Style != textInputParagraph:
		return fmt.Sprintf("style %d, want 1 or 2", t.Style)
	case t.Label == "" || utf8.RuneCountInString(t.Label) > maxTextInputLabel:
		return fmt.Sprintf("label of %d characters, want 1 to %d", utf8.RuneCountInString(t.Label), maxTextInputLabel)
	case utf8.RuneCountInString(t.Placeholder) > maxTextPlaceholder:
		return fmt.Sprintf("placeholder over %d characters", maxTextPlaceholder)
	case utf8.RuneCountInString(t.Value) > maxTextInputLength:
		return fmt.Sprintf("value over %d characters", maxTextInputLength)
	}
	if t.MinLength != nil && (*t.MinLength < 0 || *t.MinLength > maxTextInputLength) {
		return fmt.Sprintf("min_length %d, want 0 to %d", *t.MinLength, maxTextInputLength)
	}
	if t.MaxLength != nil && (*t.MaxLength < 1 || *t.MaxLength > maxTextInputLength) {
		return fmt.Sprintf("max_length %d, want 1 to %d", *t.MaxLength, maxTextInputLength)
	}
	if t.MinLength != nil && t.MaxLength != nil && *t.MinLength > *t.MaxLength {
		return "min_length above max_length"
	}
	return ""
}

// SubmitModal has member m fill in and submit the modal the bot answered
// opened with. values are the fields by custom ID; a field left out is
// submitted empty. As Discord's client does, it refuses (with an error,
// sending nothing) a value the modal does not allow: a required field
// left empty, or one outside its length bounds, or a field it lacks.
func (s *Server) SubmitModal(ctx context.Context, g *Guild, m *Member, opened *Interaction, values map[string]string) (*Interaction, error) {
	modal, err := ParseModal(opened)
	if err != nil {
		return nil, err
	}
	for id := range values {
		if !hasInput(modal, id) {
			return nil, fmt.Errorf("discordtest: the modal has no field %q", id)
		}
	}
	for _, t := range modal.Inputs {
		v := values[t.CustomID]
		n := utf8.RuneCountInString(v)
		if n == 0 && t.required() {
			return nil, fmt.Errorf("discordtest: field %q is required", t.CustomID)
		}
		if n > 0 && t.MinLength != nil && n < *t.MinLength {
			return nil, fmt.Errorf("discordtest: field %q needs at least %d characters", t.CustomID, *t.MinLength)
		}
		limit := maxTextInputLength
		if t.MaxLength != nil {
			limit = *t.MaxLength
		}
		if n > limit {
			return nil, fmt.Errorf("discordtest: field %q takes at most %d characters", t.CustomID, limit)
		}
	}
	fields := make([]string, 0, len(modal.Inputs))
	for _, t := range modal.Inputs {
		fields = append(fields, t.CustomID)
	}
	return s.submit(ctx, g, m, opened, modal.CustomID, fields, values)
}

// SubmitForgedModal sends a modal submit with any custom ID and fields,
// as a modified client can: no modal need have been opened. Tests use it
// to check that the bot refuses custom IDs and values it never offered.
func (s *Server) SubmitForgedModal(ctx context.Context, g *Guild, m *Member, customID string, values map[string]string) (*Interaction, error) {
	fields := make([]string, 0, len(values))
	for id := range values {
		fields = append(fields, id)
	}
	return s.submit(ctx, g, m, nil, customID, fields, values)
}

func hasInput(m Modal, id string) bool {
	for _, t := range m.Inputs {
		if t.CustomID == id {
			return true
		}
	}
	return false
}

// submit dispatches a modal submit interaction (type 5). A modal opened
// from a button is submitted on the button's message.
func (s *Server) submit(ctx context.Context, g *Guild, m *Member, opened *Interaction, customID string, fields []string, values map[string]string) (*Interaction, error) {
	if g == nil || m == nil {
		return nil, errors.New("discordtest: a modal submit needs a guild and a member")
	}
	if err := s.WaitReady(ctx); err != nil {
		return nil, fmt.Errorf("discordtest: no gateway session: %w", err)
	}
	rows := make([]any, 0, len(fields))
	for _, id := range fields {
		rows = append(rows, obj{"type": componentActionRow, "components": []any{
			obj{"type": componentTextInput, "custom_id": id, "value": values[id]},
		}})
	}
	data := obj{"custom_id": customID, "components": rows}
	s.mu.Lock()
	var ch *Channel
	var msg *Message
	if opened != nil {
		if o := s.interactionByIDLocked(opened.ID); o != nil {
			if c := s.channels[o.channelID]; c != nil && c.GuildID == g.ID {
				ch = c
			}
			msg = o.message
		}
	}
	in, payload, err := s.newInteractionLocked(interactionModalSubmit, g, m, ch, data, msg, "")
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in, payload)
}

func (s *Server) interactionByIDLocked(id snowflake.ID) *interaction {
	for _, in := range s.interactions {
		if in.id == id {
			return in
		}
	}
	return nil
}

// Field returns the text input of the modal with customID.
func (m Modal) Field(customID string) (TextInput, bool) {
	for _, t := range m.Inputs {
		if t.CustomID == customID {
			return t, true
		}
	}
	return TextInput{}, false
}

// String names the modal for test failures.
func (m Modal) String() string {
	ids := make([]string, 0, len(m.Inputs))
	for _, t := range m.Inputs {
		ids = append(ids, t.CustomID)
	}
	return fmt.Sprintf("modal %q (%s): %s", m.Title, m.CustomID, strings.Join(ids, ", "))
}
