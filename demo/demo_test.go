package demo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/discordtest"
)

// The whole session against the real bot is played by cli's TestDemo,
// which has the code path of 'bot run' to give it.

func TestRunReportsABotThatStops(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), &out, Options{
		RunBot: func(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
			log.Info("opening the data")
			return errors.New("no data directory")
		},
		Stderr: &errOut,
	})
	if err == nil || !strings.Contains(err.Error(), "stopped during start-up: no data directory") || !strings.Contains(err.Error(), "opening the data") {
		t.Errorf("got=%v, want the start-up failure with the bot's log", err)
	}
	if out.Len() != 0 {
		t.Errorf("a session that never started printed %q", out.String())
	}
}

func TestRender(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{Name: "Test"})
	bob := g.AddMember(discordtest.MemberOptions{Username: "bob"})
	modlog := g.AddTextChannel("modlog")
	d := &demo{srv: srv, guild: g, names: map[snowflake.ID]string{bob.ID: "bob"}}
	at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

	tests := []struct {
		name    string
		content string
		embeds  []discord.Embed
		want    string
	}{
		{"Empty", "", nil, "(nothing)"},
		{"Mentions", "**<@" + bob.ID.String() + ">** in <#" + modlog.ID.String() + ">", nil, "@bob in #modlog"},
		{"UnknownMention", "<@1>", nil, "<@1>"},
		{"Timestamp", "until <t:" + strconv.FormatInt(at.Unix(), 10) + ":R>", nil, "until 2026-01-02 03:04 UTC"},
		{"Embed", "", []discord.Embed{{
			Title: "Case #1", Description: "warned", Fields: []discord.EmbedField{{Name: "Reason", Value: "spam"}},
			Footer: &discord.EmbedFooter{Text: "by alice"}, Timestamp: &at,
		}}, "[Case #1]\n  warned\n  Reason: spam\n  (by alice 2026-01-02 03:04 UTC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.render(tt.content, tt.embeds, "  "); got != tt.want {
				t.Errorf("got=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatOptions(t *testing.T) {
	srv := discordtest.NewServer()
	defer srv.Close()
	g := srv.AddGuild(discordtest.GuildOptions{})
	bob := g.AddMember(discordtest.MemberOptions{Username: "bob"})
	modlog := g.AddTextChannel("modlog")
	d := &demo{}
	got := d.formatOptions(discordtest.Options{"user": bob, "reason": "spam", "points": 2, "channel": modlog})
	if want := ` channel:#modlog points:2 reason:"spam" user:@bob`; got != want {
		t.Errorf("got=%q, want %q", got, want)
	}
}
