package discordtest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
)

// menuCommands are the context-menu entries of the modal tests.
var menuCommands = []discord.ApplicationCommandCreate{
	discord.UserCommandCreate{Name: "Warn"},
	discord.MessageCommandCreate{Name: "Report"},
	discord.UserCommandCreate{Name: "Bad"},
}

func form(customID, title string, rows ...discord.ContainerComponent) discord.ModalCreate {
	return discord.ModalCreate{CustomID: customID, Title: title, Components: rows}
}

func input(id string, required bool, maxLen int) discord.ContainerComponent {
	return discord.ActionRowComponent{discord.TextInputComponent{CustomID: id, Style: discord.TextInputStyleShort,
		Label: "Field " + id, Required: required, MaxLength: maxLen}}
}

func TestContextMenusAndModals(t *testing.T) {
	srv := newServer(t)
	g := srv.AddGuild(GuildOptions{})
	mod := g.AddMember(MemberOptions{Username: "mod"})
	target := g.AddMember(MemberOptions{Username: "target"})
	none := &discord.AllowedMentions{}
	mux := handler.New()
	mux.UserCommand("/Warn", func(d discord.UserCommandInteractionData, e *handler.CommandEvent) error {
		if d.TargetUser().Username != "target" || d.TargetMember().User.ID != d.TargetID() {
			return e.CreateMessage(discord.MessageCreate{Content: "no resolved target", AllowedMentions: none})
		}
		return e.Modal(form("/m/"+d.TargetID().String(), "Warn "+d.TargetUser().Username,
			input("reason", true, 20), input("points", false, 3)))
	})
	mux.MessageCommand("/Report", func(d discord.MessageCommandInteractionData, e *handler.CommandEvent) error {
		m := d.TargetMessage()
		return e.CreateMessage(discord.MessageCreate{Content: "reported " + m.Author.Username + ": " + m.Content,
			Flags: discord.MessageFlagEphemeral, AllowedMentions: none})
	})
	mux.UserCommand("/Bad", func(d discord.UserCommandInteractionData, e *handler.CommandEvent) error {
		// Discord's OpenAPI description cannot say that custom IDs are
		// unique in a modal; the fake checks it as Discord does.
		return e.Modal(form("/m/1", "Bad", input("reason", true, 20), input("reason", false, 20)))
	})
	mux.Modal("/m/{id}", func(e *handler.ModalEvent) error {
		if e.Vars["id"] == "again" {
			// A modal cannot answer a modal.
			return e.Client().Rest().CreateInteractionResponse(e.ID(), e.Token(), discord.InteractionResponse{
				Type: discord.InteractionResponseTypeModal, Data: form("/m/x", "Again", input("reason", true, 20))})
		}
		return e.CreateMessage(discord.MessageCreate{Content: "warned " + e.Vars["id"] + " for " + e.Data.Text("reason") +
			" (" + e.Data.Text("points") + ")", AllowedMentions: none})
	})
	client := newBot(t, srv, mux)
	if err := handler.SyncCommands(client, append(append([]discord.ApplicationCommandCreate{}, testCommands...), menuCommands...), nil); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)

	opened, err := srv.InvokeUserCommand(ctx, g, mod, "Warn", target)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseModal(opened)
	if err != nil {
		t.Fatalf("%v (content %q)", err, opened.Content)
	}
	if m.Title != "Warn target" || len(m.Inputs) != 2 {
		t.Fatalf("modal got %s", m)
	}

	t.Run("SubmitChecksFields", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			values map[string]string
			want   string
		}{
			{"RequiredEmpty", map[string]string{"points": "1"}, `field "reason" is required`},
			{"TooLong", map[string]string{"reason": strings.Repeat("y", 21)}, "at most 20 characters"},
			{"UnknownField", map[string]string{"reason": "x", "other": "y"}, `no field "other"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := srv.SubmitModal(ctx, g, mod, opened, tc.values); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want an error containing %q", err, tc.want)
				}
			})
		}
	})

	t.Run("Submit", func(t *testing.T) {
		in, err := srv.SubmitModal(ctx, g, mod, opened, map[string]string{"reason": "spam", "points": "2"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "warned " + target.ID.String() + " for spam (2)"; in.Content != want {
			t.Errorf("got %q, want %q", in.Content, want)
		}
	})

	t.Run("MessageCommand", func(t *testing.T) {
		msg := srv.PostMemberMessage(g.Channels()[0], target, "buy followers")
		in, err := srv.InvokeMessageCommand(ctx, g, mod, "Report", msg)
		if err != nil {
			t.Fatal(err)
		}
		if in.Content != "reported target: buy followers" || !in.Ephemeral {
			t.Errorf("got %q ephemeral=%v", in.Content, in.Ephemeral)
		}
	})
	expectNoViolations(t, srv)

	t.Run("ModalOverLimits", func(t *testing.T) {
		in, err := srv.InvokeUserCommand(ctx, g, mod, "Bad", target)
		if err == nil || in.Type != 0 {
			t.Errorf("a modal with two fields of one custom ID got type %d, %v; want it refused", in.Type, err)
		}
		v := srv.Violations()
		if len(v) != 1 || v[0].Kind != ViolationLimits || !strings.Contains(v[0].Detail, "duplicate custom_id") {
			t.Errorf("violations got %+v, want one for the duplicate", v)
		}
	})

	t.Run("ModalForModal", func(t *testing.T) {
		before := len(srv.Violations())
		_, _ = srv.SubmitForgedModal(ctx, g, mod, "/m/again", map[string]string{"reason": "x"})
		v := srv.Violations()
		if len(v) != before+1 || v[len(v)-1].Kind != ViolationResponseType {
			t.Errorf("violations got %+v, want a response type violation", v[before:])
		}
	})
}

func TestCheckModal(t *testing.T) {
	row := func(ti map[string]any) map[string]any {
		base := map[string]any{"type": 4, "custom_id": "f", "style": 1, "label": "Field"}
		for k, v := range ti {
			base[k] = v
		}
		return map[string]any{"type": 1, "components": []any{base}}
	}
	modal := func(title, id string, rows ...any) string {
		b, _ := json.Marshal(map[string]any{"title": title, "custom_id": id, "components": rows})
		return string(b)
	}
	ok := row(nil)
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"OK", modal("Title", "/x", ok), ""},
		{"NoTitle", modal("", "/x", ok), "title: empty"},
		{"LongTitle", modal(strings.Repeat("é", 46), "/x", ok), "title: 46 characters"},
		{"LongCustomID", modal("T", strings.Repeat("1", 101), ok), "custom_id: 101"},
		{"NoRows", modal("T", "/x"), "0 action rows"},
		{"SixRows", modal("T", "/x", row(map[string]any{"custom_id": "a"}), row(map[string]any{"custom_id": "b"}),
			row(map[string]any{"custom_id": "c"}), row(map[string]any{"custom_id": "d"}), row(map[string]any{"custom_id": "e"}),
			row(map[string]any{"custom_id": "f"})), "6 action rows"},
		{"Duplicate", modal("T", "/x", ok, ok), "duplicate custom_id"},
		{"NotTextInput", modal("T", "/x", row(map[string]any{"type": 2})), "want a text input"},
		{"BadStyle", modal("T", "/x", row(map[string]any{"style": 3})), "style 3"},
		{"LongLabel", modal("T", "/x", row(map[string]any{"label": strings.Repeat("l", 46)})), "label of 46"},
		{"MaxTooHigh", modal("T", "/x", row(map[string]any{"max_length": 4001})), "max_length 4001"},
		{"MinAboveMax", modal("T", "/x", row(map[string]any{"min_length": 5, "max_length": 4})), "min_length above max_length"},
		{"LongPlaceholder", modal("T", "/x", row(map[string]any{"placeholder": strings.Repeat("p", 101)})), "placeholder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkModal(json.RawMessage(tc.raw))
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
