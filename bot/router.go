package bot

import (
	"log/slog"
	"strings"

	"github.com/disgoorg/disgo/discord"
)

// The handler types of the routes table.
type (
	// slashHandler answers a slash command itself.
	slashHandler func(e *event, data discord.SlashCommandInteractionData) error
	// buttonHandler answers a button; args are the segments of its custom
	// ID after the route, which the handler checks.
	buttonHandler func(e *event, args []string) error
	// autocompleteHandler offers choices for the focused option.
	autocompleteHandler func(e *event, data discord.AutocompleteInteractionData) error
)

// route is one row of the routes table: a path and its handler. Slash
// command paths are the command and its subcommands ("/config/escalation/add");
// button paths are the first segment of the custom ID ("/warnings-page").
type route struct {
	path         string
	slash        slashHandler
	button       buttonHandler
	autocomplete autocompleteHandler
}

// slash routes a slash command to a handler that answers it itself.
func slash(path string, h slashHandler) route { return route{path: path, slash: h} }

// button routes the buttons whose custom IDs have path as first segment.
func button(path string, h buttonHandler) route { return route{path: path, button: h} }

// autocomplete routes the autocomplete of a slash command's options.
func autocomplete(path string, h autocompleteHandler) route {
	return route{path: path, autocomplete: h}
}

// router finds the handler of an interaction. Unlike a pattern matcher, it
// never indexes into a custom ID: a forged or cut-short one reaches its
// handler as fewer args, which the handler refuses.
type router struct {
	h            *handlers
	slash        map[string]slashHandler
	button       map[string]buttonHandler
	autocomplete map[string]autocompleteHandler
}

func newRouter(routes []route, h *handlers) *router {
	r := &router{h: h, slash: map[string]slashHandler{}, button: map[string]buttonHandler{}, autocomplete: map[string]autocompleteHandler{}}
	for _, rt := range routes {
		switch {
		case rt.slash != nil:
			r.slash[rt.path] = rt.slash
		case rt.button != nil:
			r.button[rt.path] = rt.button
		case rt.autocomplete != nil:
			r.autocomplete[rt.path] = rt.autocomplete
		}
	}
	return r
}

// dispatch runs the handler of e. A handler's error is shown to the user
// (see handlers.showError); an interaction with no route is told so.
func (r *router) dispatch(e *event) {
	var err error
	switch i := e.Interaction.(type) {
	case discord.ApplicationCommandInteraction:
		data, ok := i.Data.(discord.SlashCommandInteractionData)
		if !ok {
			err = errNoRoute
			break
		}
		if h := r.slash[data.CommandPath()]; h != nil {
			err = h(e, data)
		} else {
			err = errNoRoute
		}
	case discord.AutocompleteInteraction:
		if h := r.autocomplete[i.Data.CommandPath()]; h != nil {
			err = h(e, i.Data)
		} else {
			err = e.autocompleteResult([]discord.AutocompleteChoice{})
		}
	case discord.ComponentInteraction:
		path, args := splitCustomID(i.Data.CustomID())
		if h := r.button[path]; h != nil && i.Data.Type() == discord.ComponentTypeButton {
			err = h(e, args)
		} else {
			err = errNoRoute
		}
	case discord.ModalSubmitInteraction:
		err = errNoRoute // the bot opens no modals
	default:
		r.h.log.Debug("ignored an interaction of an unhandled type", slog.Int("type", int(e.Type())))
		return
	}
	if err != nil {
		r.h.showError(e, err)
	}
}

// errNoRoute answers an interaction the bot has no handler for: a command
// registered by another version, or a forged custom ID.
var errNoRoute = &UserError{"This command is not available in this version of the bot."}

// splitCustomID splits "/warnings-page/1/2/3/1" into its route,
// "/warnings-page", and the segments after it.
func splitCustomID(id string) (string, []string) {
	rest, ok := strings.CutPrefix(id, "/")
	if !ok {
		return "", nil
	}
	parts := strings.Split(rest, "/")
	return "/" + parts[0], parts[1:]
}
