package discordtest

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Interaction types beyond those Invoke sends, for InvokeRaw.
const (
	// InteractionCommand is an application command (2).
	InteractionCommand = interactionCommand
	// InteractionComponent is a button or select menu (3).
	InteractionComponent = interactionComponent
	// InteractionAutocomplete is an autocomplete request (4).
	InteractionAutocomplete = interactionAutocomplete
)

// InvokeRaw dispatches an interaction of any type with data exactly as
// given, by member m in guild g's first text channel, and waits for the
// outcome as Invoke does. Unlike Invoke it checks nothing against the
// registered commands, so tests can send what a modified client or a
// changed Discord might: unknown commands, options of the wrong type,
// options without their resolved data, oversized values. A bot that
// ignores the interaction makes it return ErrNoResponse after the
// interaction deadline, or ctx's error if ctx ends first.
func (s *Server) InvokeRaw(ctx context.Context, g *Guild, m *Member, kind int, data map[string]any) (*Interaction, error) {
	if g == nil || m == nil {
		return nil, errors.New("discordtest: InvokeRaw needs a guild and a member")
	}
	if err := s.WaitReady(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	in, payload, err := s.newInteractionLocked(kind, g, m, nil, obj(data), nil, "")
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in, payload)
}

// AckDelay returns how long after its INTERACTION_CREATE the interaction
// with this token got its first callback that Discord accepted, and false
// if it has had none.
func (s *Server) AckDelay(token string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[token]
	if in == nil {
		return 0, false
	}
	for _, r := range s.requests[min(in.firstReq, len(s.requests)):] {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/"+token+"/callback") && r.Status < 300 {
			return r.Time.Sub(in.created), true
		}
	}
	return 0, false
}
