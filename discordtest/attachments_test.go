package discordtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// TestFollowupWithFile: after a deferral, a follow-up carrying a file
// (multipart/form-data) fills in the deferred message, and the test reads
// the file's bytes from the result, as a member would download them.
func TestFollowupWithFile(t *testing.T) {
	srv := newServer(t, WithSpec(SpecPath()))
	g := srv.AddGuild(GuildOptions{})
	m := g.AddMember(MemberOptions{Username: "member"})
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		if err := e.DeferCreateMessage(true); err != nil {
			return err
		}
		_, err := e.CreateFollowupMessage(discord.MessageCreate{
			Content:         "your file",
			Files:           []*discord.File{discord.NewFile("export.json", "", bytes.NewReader([]byte(`{"cases":[]}`)))},
			Flags:           discord.MessageFlagEphemeral,
			AllowedMentions: &discord.AllowedMentions{},
		})
		return err
	})
	newBot(t, srv, mux)
	r, err := srv.InvokeSlash(ctxT(t), g, m, "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Content != "your file" || !r.Ephemeral || r.Message == nil {
		t.Fatalf("response got=%+v, want the follow-up's ephemeral content", r)
	}
	if f := r.Message.Files; len(f) != 1 || f[0].Name != "export.json" || string(f[0].Data) != `{"cases":[]}` {
		t.Fatalf("files got=%+v, want export.json with its bytes", f)
	}
	expectNoViolations(t, srv)
}

// TestDeferredUpdateWaitsForEdit: a button answered with a deferred update
// (type 6) returns once the bot has edited the button's message.
func TestDeferredUpdateWaitsForEdit(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	m := g.AddMember(MemberOptions{Username: "member"})
	none := &discord.AllowedMentions{}
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		return e.CreateMessage(discord.MessageCreate{Content: "sure?", AllowedMentions: none, Flags: discord.MessageFlagEphemeral,
			Components: []discord.ContainerComponent{discord.NewActionRow(discord.NewDangerButton("Yes", "/yes"))}})
	})
	mux.ButtonComponent("/yes", func(_ discord.ButtonInteractionData, e *handler.ComponentEvent) error {
		if err := e.DeferUpdateMessage(); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond) // slow work
		done := "done"
		_, err := e.Client().Rest().UpdateInteractionResponse(e.ApplicationID(), e.Token(),
			discord.MessageUpdate{Content: &done, Components: &[]discord.ContainerComponent{}, AllowedMentions: none})
		return err
	})
	newBot(t, srv, mux)
	ctx := ctxT(t)
	r, err := srv.InvokeSlash(ctx, g, m, "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	click, err := srv.ClickButton(ctx, g, m, *r.Message, "/yes")
	if err != nil {
		t.Fatal(err)
	}
	if click.Type != discord.InteractionResponseTypeDeferredUpdateMessage || click.Content != "done" || len(click.Components) != 0 {
		t.Fatalf("click got type=%d content=%q components=%d, want 6, the edit, no buttons", click.Type, click.Content, len(click.Components))
	}
	expectNoViolations(t, srv)
}

// TestDeleteChannelMessage: the bot deletes a message it posted; it is
// gone from the channel, and a second delete is 404 Unknown Message.
func TestDeleteChannelMessage(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	ch := g.AddTextChannel("modlog")
	client := newBot(t, srv, nil)
	msg, err := client.Rest().CreateMessage(ch.ID, discord.MessageCreate{Content: "case #1", AllowedMentions: &discord.AllowedMentions{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Rest().DeleteMessage(ch.ID, msg.ID); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages(ch.ID); len(got) != 0 {
		t.Errorf("messages after the delete got=%d, want 0", len(got))
	}
	if err := client.Rest().DeleteMessage(ch.ID, msg.ID); restCode(err) != codeUnknownMessage {
		t.Errorf("second delete got=%v, want code %d", err, codeUnknownMessage)
	}
	expectNoViolations(t, srv)
}
