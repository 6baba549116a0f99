package discordtest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

func TestAutocomplete(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	mux := handler.New()
	mux.Autocomplete("/case/view", func(e *handler.AutocompleteEvent) error {
		typed := e.Data.String("number")
		return e.AutocompleteResult([]discord.AutocompleteChoice{
			discord.AutocompleteChoiceInt{Name: "Case " + typed + "1", Value: 31},
			discord.AutocompleteChoiceInt{Name: "Case " + typed + "2", Value: 32},
		})
	})
	newBot(t, srv, mux)
	r, err := srv.Autocomplete(ctxT(t), g, mod, "case view", Options{"number": "3"}, "number")
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != discord.InteractionResponseTypeAutocompleteResult || len(r.Choices) != 2 || r.Choices[0].Name != "Case 31" {
		t.Fatalf("got=%+v", r)
	}
	expectNoViolations(t, srv)
}

func TestButtonsAndFollowups(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	none := &discord.AllowedMentions{}
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		if err := e.DeferCreateMessage(true); err != nil {
			return err
		}
		// The first follow-up after a deferral fills the deferred message.
		if _, err := e.CreateFollowupMessage(discord.MessageCreate{
			Content:         "page 1",
			Components:      []discord.ContainerComponent{discord.NewActionRow(discord.NewPrimaryButton("Next", "/page/2"))},
			AllowedMentions: none,
		}); err != nil {
			return err
		}
		_, err := e.CreateFollowupMessage(discord.MessageCreate{Content: "extra", Flags: discord.MessageFlagEphemeral, AllowedMentions: none})
		return err
	})
	mux.ButtonComponent("/page/{n}", func(_ discord.ButtonInteractionData, e *handler.ComponentEvent) error {
		n, _ := strconv.Atoi(e.Vars["n"])
		content := "page " + strconv.Itoa(n)
		return e.UpdateMessage(discord.MessageUpdate{Content: &content, AllowedMentions: none})
	})
	newBot(t, srv, mux)
	ctx := ctxT(t)
	r, err := srv.InvokeSlash(ctx, g, mod, "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Content != "page 1" || !r.Ephemeral || len(r.Message.CustomIDs()) != 1 {
		t.Fatalf("got=%+v", r)
	}
	if _, err := srv.WaitFor(ctx, func(q Request) bool {
		return q.Is("POST", "/webhooks/{webhook_id}/{webhook_token}") && q.Status == 200 && strings.Contains(string(q.Body), `"extra"`)
	}); err != nil {
		t.Fatal(err)
	}
	click, err := srv.ClickButton(ctx, g, mod, *r.Message, "/page/2")
	if err != nil {
		t.Fatal(err)
	}
	if click.Type != discord.InteractionResponseTypeUpdateMessage || click.Content != "page 2" {
		t.Fatalf("click got=%+v", click)
	}
	if _, err := srv.ClickButton(ctx, g, mod, *r.Message, "/nope"); err == nil {
		t.Fatal("unknown custom ID: want an error")
	}
	expectNoViolations(t, srv)
}
