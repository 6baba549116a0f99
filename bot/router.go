package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

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
	// menuHandler answers a context-menu entry (Apps → on a member or a
	// message).
	menuHandler func(e *event, data discord.ApplicationCommandInteractionData) error
	// modalHandler answers the submit of a modal the bot opened; args are
	// the segments of its custom ID after the route, and data holds the
	// fields as the user filled them in.
	modalHandler func(e *event, args []string, data discord.ModalSubmitInteractionData) error
)

// route is one row of the routes table: a path and its handler. Slash
// command paths are the command and its subcommands ("/config/escalation/add");
// button paths are the first segment of the custom ID ("/warnings-page").
type route struct {
	path string
	// segments is how many segments a button's custom ID has after its
	// path; the router refuses any other count, so a route is never
	// reached by a prefix of its pattern.
	segments     int
	slash        slashHandler
	button       buttonHandler
	autocomplete autocompleteHandler
	menu         menuHandler
	modal        modalHandler
}

// slash routes a slash command to a handler that answers it itself.
func slash(path string, h slashHandler) route { return route{path: path, slash: h} }

// button routes the buttons whose custom IDs have path as first segment
// and exactly segments more after it.
func button(path string, segments int, h buttonHandler) route {
	return route{path: path, segments: segments, button: h}
}

// autocomplete routes the autocomplete of a slash command's options.
func autocomplete(path string, h autocompleteHandler) route {
	return route{path: path, autocomplete: h}
}

// userMenu routes the user context-menu entry name.
func userMenu(name string, h menuHandler) route {
	return route{path: menuPath(discord.ApplicationCommandTypeUser, name), menu: h}
}

// messageMenu routes the message context-menu entry name.
func messageMenu(name string, h menuHandler) route {
	return route{path: menuPath(discord.ApplicationCommandTypeMessage, name), menu: h}
}

// modal routes the submits of the modals whose custom IDs have path as
// first segment and exactly segments more after it, as button does.
func modal(path string, segments int, h modalHandler) route {
	return route{path: path, segments: segments, modal: h}
}

// menuPath keys a context-menu entry: entries of both kinds, and slash
// commands, may share a name.
func menuPath(t discord.ApplicationCommandType, name string) string {
	return fmt.Sprintf("menu:%d:%s", t, name)
}

// router finds the handler of an interaction. Unlike a pattern matcher, it
// never indexes into a custom ID: a forged or cut-short one reaches its
// handler as fewer args, which the handler refuses.
type router struct {
	h            *handlers
	slash        map[string]slashHandler
	button       map[string]route
	autocomplete map[string]autocompleteHandler
	menu         map[string]menuHandler
	modal        map[string]route
	// shapes is what the command definitions allow; a slash command that
	// does not fit them never reaches its handler.
	shapes commandShapes
	// autoDefer is how long a handler may take before the router defers
	// its interaction for it: well inside Discord's 3 seconds, with room
	// for the deferral's own round trip.
	autoDefer time.Duration
	// commands holds the top-level slash commands ("/config"), the
	// labels an interaction is reported under; anything else is
	// reported as unknownRoute, so a forged name adds no series.
	commands map[string]bool
	// obs is told of each interaction when it is done.
	obs Observer
}

// autoDeferAfter is the router's autoDefer.
const autoDeferAfter = 1500 * time.Millisecond

func newRouter(routes []route, h *handlers) *router {
	r := &router{h: h, slash: map[string]slashHandler{}, button: map[string]route{}, autocomplete: map[string]autocompleteHandler{},
		menu: map[string]menuHandler{}, modal: map[string]route{},
		shapes: newCommandShapes(Definitions()), autoDefer: autoDeferAfter,
		commands: map[string]bool{}, obs: noObserver{}}
	for _, rt := range routes {
		switch {
		case rt.slash != nil:
			r.slash[rt.path] = rt.slash
			top, _ := splitCustomID(rt.path)
			r.commands[top] = true
		case rt.button != nil:
			r.button[rt.path] = rt
		case rt.autocomplete != nil:
			r.autocomplete[rt.path] = rt.autocomplete
		case rt.menu != nil:
			r.menu[rt.path] = rt.menu
		case rt.modal != nil:
			r.modal[rt.path] = rt
		}
	}
	return r
}

// dispatch runs the handler of e. A handler's error is shown to the user
// (see handlers.showError); an interaction with no route is told so. A
// panic anywhere below is recovered here, at the root, so that no input can
// end the process: the user is told once, and the log has the stack.
func (r *router) dispatch(e *event) {
	defer func() {
		if v := recover(); v != nil {
			r.recovered(e, v)
		}
	}()
	wait := r.autoDefer
	if !e.received.IsZero() {
		wait = max(0, wait-time.Since(e.received))
	}
	stop := e.deferIfSilent(wait, r.h.log)
	defer stop()
	if err := r.route(e); err != nil {
		r.fail(e, err)
	}
}

// route finds and runs the handler of e.
func (r *router) route(e *event) error {
	switch i := e.Interaction.(type) {
	case discord.ApplicationCommandInteraction:
		data, ok := i.Data.(discord.SlashCommandInteractionData)
		if !ok {
			if h := r.menu[menuPath(i.Data.Type(), i.Data.CommandName())]; h != nil {
				return h(e, i.Data)
			}
			return errNoRoute
		}
		// Outside a guild every command is refused by its handler before
		// it reads an option, with a message that says where it works.
		if e.GuildID() != nil {
			if err := r.shapes.check(data); err != nil {
				return err
			}
		}
		if h := r.slash[data.CommandPath()]; h != nil {
			return h(e, data)
		}
		return errNoRoute
	case discord.AutocompleteInteraction:
		if h := r.autocomplete[i.Data.CommandPath()]; h != nil {
			return h(e, i.Data)
		}
		return e.autocompleteResult([]discord.AutocompleteChoice{})
	case discord.ComponentInteraction:
		path, args := splitCustomID(i.Data.CustomID())
		rt, ok := r.button[path]
		if !ok || i.Data.Type() != discord.ComponentTypeButton {
			return errForgedCustomID
		}
		if len(args) != rt.segments {
			return errForgedCustomID
		}
		return rt.button(e, args)
	case discord.ModalSubmitInteraction:
		path, args := splitCustomID(i.Data.CustomID)
		rt, ok := r.modal[path]
		if !ok || len(args) != rt.segments {
			return errForgedModal
		}
		return rt.modal(e, args, i.Data)
	default:
		r.h.log.Debug("ignored an interaction of an unhandled type", slog.Int("type", int(e.Type())))
		return nil
	}
}

// fail tells the user about a handler's error. A forged or damaged custom
// ID, or a slash command that does not fit its definition, is the sender's
// doing, not the bot's, so it is logged at info.
func (r *router) fail(e *event, err error) {
	var dc *damagedCommand
	if errors.As(err, &dc) {
		r.h.interactionLog(e, "").Info("refused a slash command that does not match its definition", slog.String("problem", dc.why))
	}
	if errors.Is(err, errForgedCustomID) || errors.Is(err, errForgedModal) {
		path := ""
		// Only the route: the other segments hold user IDs.
		switch c := e.Interaction.(type) {
		case discord.ComponentInteraction:
			path, _ = splitCustomID(c.Data.CustomID())
		case discord.ModalSubmitInteraction:
			path, _ = splitCustomID(c.Data.CustomID)
		}
		r.h.interactionLog(e, "").Info("refused a malformed or forged custom ID", slog.String("route", path))
	}
	r.h.showError(e, err)
}

// recovered handles a panic in the dispatch of e: it logs the panic with
// its stack and an error ID, and shows the user that ID, unless the user
// has already seen an answer (Discord takes only one). An autocomplete is
// answered with no choices, since Discord shows no message for one.
func (r *router) recovered(e *event, v any) {
	id := logPanic(r.h.interactionLog(e, ""), "interaction", v)
	e.failed(errPanicked, id)
	if e.Type() == discord.InteractionTypeAutocomplete {
		if e.progress() == unanswered {
			_ = e.autocompleteResult([]discord.AutocompleteChoice{})
		}
		return
	}
	if e.progress() == answered {
		return
	}
	if err := e.reply(fmt.Sprintf(somethingWentWrong, id), true); err != nil {
		r.h.log.Warn("could not tell the user about a failure", errAttr(err), slog.String("error_id", id))
	}
}

// somethingWentWrong is what a user sees of an internal failure; the error
// ID leads the bot's owner to the log line with the details.
const somethingWentWrong = "Sorry, something went wrong (error ID %s). The bot's owner can find the details in its log."

// safely runs f, recovering a panic in it (see logPanic), so that a bug in
// one pass of a background loop costs that pass, not the bot.
func safely(log *slog.Logger, what string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(log, what, v)
		}
	}()
	f()
}

// logPanic logs a recovered panic at error, with its stack and a new error
// ID, which it returns. what names the work that panicked.
func logPanic(log *slog.Logger, what string, v any) string {
	id := newErrorID()
	log.Error("recovered from a panic; the bot keeps running", slog.String("in", what),
		slog.String("error_id", id), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
	return id
}

// errNoRoute answers an interaction the bot has no handler for: a command
// registered by another version, or a forged custom ID.
var errNoRoute = &UserError{"This command is not available in this version of the bot."}

// errForgedCustomID answers a button whose custom ID the bot did not make
// as it stands: cut short, padded, or with values out of place.
var errForgedCustomID = &UserError{"This button is damaged or out of date. Run the command again to get working buttons."}

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

// errPanicked is the outcome of an interaction whose handler panicked.
var errPanicked = errors.New("the handler panicked")

// unknownRoute labels an interaction that matches no route.
const unknownRoute = "unknown"

// finish reports the interaction e once it is done, however it ended: to
// the Observer, and in one log line at info with its route, guild,
// latency and, when it failed, the error ID the user was shown, so that an
// ID a moderator reports finds the line with grep. The line holds no user
// data.
func (r *router) finish(e *event) {
	took := time.Since(e.received)
	command := r.routeLabel(e)
	outcome := outcomeOf(e.failure)
	r.obs.InteractionDone(command, outcome, took)
	attrs := []any{slog.String("outcome", outcome), slog.Int64("latency_ms", took.Milliseconds())}
	if e.errorID != "" {
		attrs = append(attrs, slog.String("error_id", e.errorID))
	}
	r.h.interactionLog(e, command).Info("interaction done", attrs...)
}

// routeLabel names the route of e for metrics and the log: the top-level
// slash command ("config"), the button's route ("warnings-page"), the
// autocomplete's command ("unwarn autocomplete") or the context menu
// ("Warn…"); unknownRoute for anything the routes table does not hold,
// whatever it claims to be. Labels are names, as a moderator types them
// and as the other log lines give them, not the router's paths.
func (r *router) routeLabel(e *event) string {
	return strings.TrimPrefix(r.routePath(e), "/")
}

// routePath is the router's path of the route that answers e: "/warn",
// "/warnings-page", "/unwarn autocomplete", or a context menu's name.
func (r *router) routePath(e *event) string {
	switch i := e.Interaction.(type) {
	case discord.ApplicationCommandInteraction:
		if _, slash := i.Data.(discord.SlashCommandInteractionData); !slash {
			if r.menu[menuPath(i.Data.Type(), i.Data.CommandName())] != nil {
				return i.Data.CommandName()
			}
			break
		}
		if top := "/" + i.Data.CommandName(); r.commands[top] {
			return top
		}
	case discord.AutocompleteInteraction:
		if p := i.Data.CommandPath(); r.autocomplete[p] != nil {
			return p + " autocomplete"
		}
	case discord.ComponentInteraction:
		if p, _ := splitCustomID(i.Data.CustomID()); r.button[p].button != nil {
			return p
		}
	case discord.ModalSubmitInteraction:
		if p, _ := splitCustomID(i.Data.CustomID); r.modal[p].modal != nil {
			return p
		}
	}
	return unknownRoute
}
