package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestGuilds(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	k := newTestKeys(t)
	g := NewGuilds(db, k)
	t.Run("Defaults", func(t *testing.T) {
		got, err := g.Get(ctx, testGuild)
		if err != nil || !reflect.DeepEqual(got, DefaultGuildSettings(testGuild)) {
			t.Errorf("got=%+v, %v; want defaults", got, err)
		}
	})
	t.Run("SaveAndGet", func(t *testing.T) {
		want := GuildSettings{
			GuildID: testGuild, ModlogChannelID: "333", DMEnabled: false, WarningExpiry: 30 * 24 * time.Hour,
			ShowModeratorNames: true, ModeratorRoleIDs: []string{"555", "444"},
			Escalations: []EscalationRule{
				{Points: 5, Action: EscalateBan, Duration: 0},
				{Points: 3, Action: EscalateTimeout, Duration: time.Hour},
			},
		}
		if err := g.Save(ctx, want, bob, t0); err != nil {
			t.Fatal(err)
		}
		got, err := g.Get(ctx, testGuild)
		if err != nil {
			t.Fatal(err)
		}
		// Stored sorted: roles by ID, rules by points.
		want.ModeratorRoleIDs = []string{"444", "555"}
		want.Escalations[0], want.Escalations[1] = want.Escalations[1], want.Escalations[0]
		want.UpdatedAt = t0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got=%+v, want %+v", got, want)
		}
		// Saving again replaces roles and rules rather than adding to them.
		want.ModeratorRoleIDs, want.Escalations = []string{"666"}, nil
		if err := g.Save(ctx, want, bob, t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := g.Get(ctx, testGuild); !reflect.DeepEqual(got, want) {
			t.Errorf("after second save: got=%+v, want %+v", got, want)
		}
		if n, err := NewAudit(db, k).Verify(ctx); err != nil || n != 2 {
			t.Errorf("audit: got=%d, %v; want 2 entries", n, err)
		}
	})
	for _, tt := range []struct {
		name  string
		rules []EscalationRule
	}{
		{"ErrInvalidPoints", []EscalationRule{{Points: 0, Action: EscalateKick}}},
		{"ErrInvalidDuplicate", []EscalationRule{{Points: 2, Action: EscalateKick}, {Points: 2, Action: EscalateBan}}},
		{"ErrInvalidAction", []EscalationRule{{Points: 2, Action: "mute"}}},
		{"ErrInvalidTimeoutDuration", []EscalationRule{{Points: 2, Action: EscalateTimeout}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultGuildSettings(testGuild)
			s.Escalations = tt.rules
			if err := g.Save(ctx, s, bob, t0); !errors.Is(err, ErrInvalid) {
				t.Errorf("got=%v, want ErrInvalid", err)
			}
		})
	}
}

func TestGuildSettingsEscalation(t *testing.T) {
	s := GuildSettings{Escalations: []EscalationRule{
		{Points: 3, Action: EscalateTimeout, Duration: time.Hour},
		{Points: 5, Action: EscalateKick},
		{Points: 7, Action: EscalateBan},
	}}
	for _, tt := range []struct {
		name          string
		before, after int
		want          EscalationAction // "" for none
	}{
		{"BelowAll", 0, 2, ""},
		{"Reaches", 2, 3, EscalateTimeout},
		{"AlreadyPast", 3, 4, ""},
		{"CrossesTwo", 2, 6, EscalateKick},
		{"Beyond", 6, 10, EscalateBan},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := s.Escalation(tt.before, tt.after)
			if got := EscalationAction(""); ok {
				got = r.Action
				if got != tt.want {
					t.Errorf("got=%q, want %q", got, tt.want)
				}
			} else if tt.want != "" {
				t.Errorf("got none, want %q", tt.want)
			}
		})
	}
}
