package discordtest

import (
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/bot"
	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/events"
	"github.com/disgoorg/disgo/handler"
)

func pingMux() *handler.Mux {
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		return e.CreateMessage(discord.MessageCreate{Content: "pong", Flags: discord.MessageFlagEphemeral, AllowedMentions: &discord.AllowedMentions{}})
	})
	return mux
}

func TestConnect(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{Name: "Alpha"})
	srv.AddGuild(GuildOptions{Name: "Beta"})
	guildReady := make(chan discord.Guild, 2)
	client := newBotToken(t, srv, srv.Token(), nil, false)
	client.AddEventListeners(bot.NewListenerFunc(func(e *events.GuildReady) { guildReady <- e.Guild }))
	if err := client.OpenGateway(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for range 2 {
		select {
		case gr := <-guildReady:
			names[gr.Name] = true
		case <-time.After(5 * time.Second):
			t.Fatal("no GuildReady")
		}
	}
	if !names["Alpha"] || !names["Beta"] {
		t.Fatalf("got=%v, want Alpha and Beta", names)
	}
	if got := client.ApplicationID(); got != srv.ApplicationID() {
		t.Errorf("ApplicationID got=%v, want %v", got, srv.ApplicationID())
	}
	if err := srv.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	self, err := client.Rest().GetCurrentUser("")
	if err != nil || self.ID != srv.BotUserID() {
		t.Fatalf("GetCurrentUser got=%v %v, want %v", self, err, srv.BotUserID())
	}
	rg, err := client.Rest().GetGuild(g.ID, true)
	if err != nil || rg.Name != "Alpha" || rg.OwnerID != g.OwnerID() {
		t.Fatalf("GetGuild got=%+v %v", rg, err)
	}
	expectNoViolations(t, srv)
}

func TestSlashCommand(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	newBot(t, srv, pingMux())
	r, err := srv.InvokeSlash(ctxT(t), g, mod, "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != discord.InteractionResponseTypeCreateMessage || r.Content != "pong" || !r.Ephemeral {
		t.Fatalf("got=%+v, want an ephemeral pong", r)
	}
	expectNoViolations(t, srv)
	if p := srv.Pings(); len(p) != 0 {
		t.Fatalf("pings got=%v, want none", p)
	}
}

func TestCommandsStored(t *testing.T) {
	srv := newServer(t)
	srv.AddGuild(GuildOptions{})
	client := newBot(t, srv, nil)
	cmds, err := client.Rest().GetGlobalCommands(srv.ApplicationID(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != len(testCommands) {
		t.Fatalf("got=%d commands, want %d", len(cmds), len(testCommands))
	}
	one, err := client.Rest().GetGlobalCommand(srv.ApplicationID(), cmds[0].ID())
	if err != nil || one.Name() != cmds[0].Name() {
		t.Fatalf("GetGlobalCommand got=%v %v", one, err)
	}
	// Overwriting keeps the IDs of commands with the same name.
	if err := handler.SyncCommands(client, testCommands, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := client.Rest().GetGlobalCommands(srv.ApplicationID(), false)
	if again[0].ID() != cmds[0].ID() {
		t.Errorf("ID got=%v, want %v", again[0].ID(), cmds[0].ID())
	}
	expectNoViolations(t, srv)
}

func TestDeferredThenEdit(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	target := g.AddMember(MemberOptions{Username: "spammer"})
	mux := handler.New()
	mux.SlashCommand("/warn", func(d discord.SlashCommandInteractionData, e *handler.CommandEvent) error {
		if err := e.DeferCreateMessage(false); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		u := d.User("user")
		m, ok := d.OptMember("user")
		if !ok || m.User.ID != u.ID {
			t.Errorf("resolved member missing")
		}
		content := "warned " + u.Username + ": " + d.String("reason")
		_, err := e.UpdateInteractionResponse(discord.MessageUpdate{Content: &content, AllowedMentions: &discord.AllowedMentions{}})
		return err
	})
	newBot(t, srv, mux)
	r, err := srv.InvokeSlash(ctxT(t), g, mod, "warn", Options{"user": target, "reason": "spam @everyone"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != discord.InteractionResponseTypeDeferredCreateMessage || r.Content != "warned spammer: spam @everyone" || r.Ephemeral {
		t.Fatalf("got=%+v", r)
	}
	if len(srv.Messages(r.Message.ChannelID)) != 1 {
		t.Errorf("channel messages got=%d, want 1", len(srv.Messages(r.Message.ChannelID)))
	}
	expectNoViolations(t, srv)
	if p := srv.Pings(); len(p) != 0 {
		t.Fatalf("pings got=%v, want none", p)
	}
}

func TestAnsweredTwice(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	second := make(chan error, 1)
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		_ = e.CreateMessage(discord.MessageCreate{Content: "one", AllowedMentions: &discord.AllowedMentions{}})
		second <- e.CreateMessage(discord.MessageCreate{Content: "two", AllowedMentions: &discord.AllowedMentions{}})
		return nil
	})
	newBot(t, srv, mux)
	r, err := srv.InvokeSlash(ctxT(t), g, mod, "ping", nil)
	if err != nil || r.Content != "one" {
		t.Fatalf("got=%+v %v", r, err)
	}
	if err := <-second; restCode(err) != 40060 {
		t.Fatalf("second answer got=%v, want 40060", err)
	}
	vs := srv.Violations()
	if len(vs) != 1 || vs[0].Kind != ViolationAlreadyAcknowledged {
		t.Fatalf("violations got=%v", vs)
	}
}

func TestAnsweredLate(t *testing.T) {
	srv := newServer(t, WithInteractionDeadline(200*time.Millisecond))
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	late := make(chan error, 1)
	mux := handler.New()
	mux.Command("/ping", func(e *handler.CommandEvent) error {
		time.Sleep(400 * time.Millisecond)
		late <- e.CreateMessage(discord.MessageCreate{Content: "late", AllowedMentions: &discord.AllowedMentions{}})
		return nil
	})
	newBot(t, srv, mux)
	if _, err := srv.InvokeSlash(ctxT(t), g, mod, "ping", nil); err != ErrNoResponse {
		t.Fatalf("got=%v, want ErrNoResponse", err)
	}
	if err := <-late; restCode(err) != 10062 {
		t.Fatalf("late answer got=%v, want 10062", err)
	}
	vs := srv.Violations()
	if len(vs) != 1 || vs[0].Kind != ViolationLate {
		t.Fatalf("violations got=%v", vs)
	}
}

func TestSubcommandsAndOptions(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	role := g.AddRole("muted", 0, 1)
	ch := g.AddTextChannel("modlog")
	mux := handler.New()
	mux.Route("/case", func(r handler.Router) {
		r.SlashCommand("/view", func(d discord.SlashCommandInteractionData, e *handler.CommandEvent) error {
			return e.CreateMessage(discord.MessageCreate{Content: "case " + strings.Repeat("#", d.Int("number")), AllowedMentions: &discord.AllowedMentions{}})
		})
	})
	mux.Route("/config/escalation", func(r handler.Router) {
		r.SlashCommand("/add", func(d discord.SlashCommandInteractionData, e *handler.CommandEvent) error {
			content := d.Role("role").Name + " " + d.Channel("channel").Name
			return e.CreateMessage(discord.MessageCreate{Content: content, AllowedMentions: &discord.AllowedMentions{}})
		})
	})
	newBot(t, srv, mux)
	r, err := srv.InvokeSlash(ctxT(t), g, mod, "case view", Options{"number": 3})
	if err != nil || r.Content != "case ###" {
		t.Fatalf("got=%+v %v", r, err)
	}
	r, err = srv.InvokeSlash(ctxT(t), g, mod, "config escalation add", Options{"warnings": 3, "role": role, "channel": ch})
	if err != nil || r.Content != "muted modlog" {
		t.Fatalf("got=%+v %v", r, err)
	}
	if _, err := srv.InvokeSlash(ctxT(t), g, mod, "case view", nil); err == nil {
		t.Fatal("missing required option: want an error")
	}
	expectNoViolations(t, srv)
}
