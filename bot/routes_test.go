package bot

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/disgoorg/disgo/discord"
)

// definedPaths returns the route path of every command and subcommand the
// bot registers, and those whose options autocomplete.
func definedPaths() (slash, auto []string) {
	var walk func(path string, opts []discord.ApplicationCommandOption)
	walk = func(path string, opts []discord.ApplicationCommandOption) {
		leaf, hasAuto := true, false
		for _, o := range opts {
			switch o := o.(type) {
			case discord.ApplicationCommandOptionSubCommandGroup:
				leaf = false
				for _, sub := range o.Options {
					walk(path+"/"+o.Name+"/"+sub.Name, sub.Options)
				}
			case discord.ApplicationCommandOptionSubCommand:
				leaf = false
				walk(path+"/"+o.Name, o.Options)
			case discord.ApplicationCommandOptionString:
				hasAuto = hasAuto || o.Autocomplete
			case discord.ApplicationCommandOptionInt:
				hasAuto = hasAuto || o.Autocomplete
			}
		}
		if leaf {
			slash = append(slash, path)
		}
		if hasAuto {
			auto = append(auto, path)
		}
	}
	for _, c := range Definitions() {
		if def, ok := c.Slash(); ok {
			walk("/"+c.Name(), def.Options)
		}
	}
	return slash, auto
}

// TestRoutesCoverDefinitions: every command and subcommand the bot
// registers has a handler, every autocomplete option a handler, every
// button the bot makes a handler, and no handler waits for a route that
// nothing produces.
func TestRoutesCoverDefinitions(t *testing.T) {
	h := &handlers{}
	r := newRouter(h.routes(), h)
	slash, auto := definedPaths()
	for _, p := range slash {
		if r.slash[p] == nil {
			t.Errorf("%s is registered with Discord but has no handler", p)
		}
	}
	for p := range r.slash {
		if !slices.Contains(slash, p) {
			t.Errorf("%s has a handler but no command definition", p)
		}
	}
	for _, p := range auto {
		if r.autocomplete[p] == nil {
			t.Errorf("%s has an autocomplete option but no autocomplete handler", p)
		}
	}
	for p := range r.autocomplete {
		if !slices.Contains(auto, p) {
			t.Errorf("%s has an autocomplete handler but no autocomplete option", p)
		}
	}
	// The custom IDs the bot puts on buttons.
	made := []string{
		warningsPage{invoker: 1, target: 2, page: 3, all: true}.customID(),
		confirmButton{route: privacyEraseRoute, invoker: 1, target: 2, issued: time.Unix(3, 0), key: "0123456789abcdef", confirm: true}.customID(),
		confirmButton{route: clearWarningsRoute, invoker: 1, target: 2, issued: time.Unix(3, 0), key: "0123456789abcdef", confirm: true}.customID(),
	}
	var madePaths []string
	for _, id := range made {
		p, args := splitCustomID(id)
		madePaths = append(madePaths, p)
		rt, ok := r.button[p]
		if !ok {
			t.Errorf("buttons with custom ID %s have no handler", id)
		} else if rt.segments != len(args) {
			t.Errorf("button route %s takes %d segments, but the bot makes %s", p, rt.segments, id)
		}
	}
	for p := range r.button {
		if !slices.Contains(madePaths, p) {
			t.Errorf("button route %s matches no custom ID the bot makes", p)
		}
	}
	slashCommands := 0
	var menus []string
	for _, c := range Definitions() {
		if _, ok := c.Slash(); ok {
			slashCommands++
			continue
		}
		p := menuPath(c.Def.Type(), c.Name())
		menus = append(menus, p)
		if r.menu[p] == nil {
			t.Errorf("context-menu entry %q is registered with Discord but has no handler", c.Name())
		}
	}
	for p := range r.menu {
		if !slices.Contains(menus, p) {
			t.Errorf("%s has a handler but no context-menu definition", p)
		}
	}
	if len(slash) < slashCommands {
		t.Errorf("found %d command paths for %d commands", len(slash), slashCommands)
	}
	// The custom IDs the bot puts on modals.
	for _, id := range []string{
		warnModalID{guild: 1, target: 2}.customID(),
		warnModalID{guild: 1, target: 2, channel: 3, message: 4}.customID(),
	} {
		p, args := splitCustomID(id)
		rt, ok := r.modal[p]
		if !ok {
			t.Errorf("modals with custom ID %s have no handler", id)
		} else if rt.segments != len(args) {
			t.Errorf("modal route %s takes %d segments, but the bot makes %s", p, rt.segments, id)
		}
	}
}

// TestActionsTable: each action command is defined once, with a row whose
// kind records a case, and every kind escalation can take has a row.
func TestActionsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range actions {
		if seen[a.def.Name] {
			t.Errorf("/%s appears twice in the actions table", a.def.Name)
		}
		seen[a.def.Name] = true
		if a.apply == nil || a.dmTitle == nil || a.verb == "" || a.past == "" || a.perm == 0 {
			t.Errorf("/%s: incomplete row %+v", a.def.Name, a)
		}
		if got := actionOf(a.kind).def.Name; got != a.def.Name {
			t.Errorf("actionOf(%s) got /%s, want /%s", a.kind, got, a.def.Name)
		}
	}
	for _, kind := range []string{"timeout", "kick", "ban"} {
		if !seen[kind] {
			t.Errorf("no action row for /%s, which escalation uses", kind)
		}
	}
}

func TestSplitCustomID(t *testing.T) {
	tests := []struct {
		id   string
		path string
		args []string
	}{
		{"/warnings-page/1/2/3/1", "/warnings-page", []string{"1", "2", "3", "1"}},
		{"/warnings-page", "/warnings-page", []string{}},
		{"/warnings-page/", "/warnings-page", []string{""}},
		{"warnings-page/1", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		path, args := splitCustomID(tt.id)
		if path != tt.path || strings.Join(args, ",") != strings.Join(tt.args, ",") || len(args) != len(tt.args) {
			t.Errorf("splitCustomID(%q) got=%q %q, want %q %q", tt.id, path, args, tt.path, tt.args)
		}
	}
}

// TestForgedPageButton: a page button whose custom ID is cut short or
// padded is refused as malformed; it never reaches an index out of range.
func TestForgedPageButton(t *testing.T) {
	for _, args := range [][]string{nil, {}, {"1"}, {"1", "2", "3"}, {"1", "2", "3", "1", "x"}, {"a", "b", "c", "d"}} {
		if _, err := parseWarningsPage(args); err == nil {
			t.Errorf("parseWarningsPage(%q) accepted a malformed button", args)
		}
	}
	p, err := parseWarningsPage([]string{"11", "22", "3", "1"})
	if err != nil || p != (warningsPage{invoker: 11, target: 22, page: 3, all: true}) {
		t.Errorf("parseWarningsPage of a good button got=%+v, %v", p, err)
	}
}
