package demo

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/discordtest"
	"github.com/modbot/bot/internal/atomicfile"
)

// ControlEnv names the variable that holds the URL of a served Discord's
// control endpoint, which Invoke talks to. It is outside BOT_*, which the
// bot's configuration reads and checks.
const ControlEnv = "DISCORDTEST_CONTROL_URL"

// Discord's option types, as the registered commands carry them.
const (
	optString  = 3
	optInteger = 4
	optBoolean = 5
	optUser    = 6
	optChannel = 7
	optRole    = 8
	optMention = 9
	optNumber  = 10
)

// ServeOptions are the choices of Serve.
type ServeOptions struct {
	// EnvFile, when set, also receives the variables Serve prints, one
	// NAME=value a line (mode 0600), so that a script can start the bot
	// against the served Discord whenever it likes.
	EnvFile string
}

// InvokeRequest is one slash command for a served Discord to play.
type InvokeRequest struct {
	// As is who types it: "owner", "admin", "moderator", "member", or a
	// username of the served guild.
	As string `json:"as"`
	// Command is the command with any subcommand: "warn", "case view".
	Command string `json:"command"`
	// Options are the option values as typed: "@name" for a member or
	// role, "#name" for a channel, anything else as the option's type
	// reads it.
	Options map[string]string `json:"options"`
}

// Serve runs the demo's local Discord on 127.0.0.1 until ctx ends, with
// the demo's server and people and an administrator besides, and no bot:
// the bot to develop connects to it with the variables Serve writes to w.
// A control endpoint beside it plays slash commands as those people
// (Invoke), so that a bot restarted by a file watcher keeps the same
// Discord, its messages and its members.
func Serve(ctx context.Context, w io.Writer, o ServeOptions) error {
	d := newDemo(io.Discard)
	defer d.srv.Close()
	admins := d.guild.AddRole("Admins", discord.PermissionAdministrator, 6)
	adam := d.guild.AddMember(discordtest.MemberOptions{Username: "adam", Roles: []*discordtest.Role{admins}})
	d.people = append(d.people, adam)
	d.names[adam.ID] = adam.Username

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the control endpoint: %w", err)
	}
	c := &control{d: d, roles: map[string]*discordtest.Member{"owner": d.owner, "admin": adam, "moderator": d.alice, "member": d.bob}}
	hs := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	vars := []string{
		"BOT_DISCORD_TOKEN=" + d.srv.Token(),
		"BOT_DISCORD_API_URL=" + d.srv.APIURL(),
		"BOT_DISCORD_GATEWAY_URL=" + d.srv.GatewayURL(),
		"BOT_DISCORD_GUILD_IDS=" + d.guild.ID.String(),
		ControlEnv + "=http://" + ln.Addr().String(),
	}
	if o.EnvFile != "" {
		if err := atomicfile.Write(o.EnvFile, []byte(strings.Join(vars, "\n")+"\n"), 0o600); err != nil {
			return fmt.Errorf("write the variables: %w", err)
		}
	}
	fmt.Fprintf(w, "A local Discord is serving %q on 127.0.0.1 until interrupted.\n", d.guild.Name)
	fmt.Fprintf(w, "People: olivia (owner), adam (admin), alice (moderator), bob, carol and dave (members).\n\n")
	fmt.Fprintf(w, "Point the bot at it with these variables (it needs its own data directory):\n\n")
	for _, v := range vars {
		fmt.Fprintf(w, "  export %s\n", v)
	}
	fmt.Fprintf(w, "  bot run\n\nThen, with the same variables, type commands as someone in the server:\n\n")
	fmt.Fprintf(w, "  bot demo invoke --as moderator /warn user:@bob reason:\"spamming invites\"\n")
	fmt.Fprintf(w, "  bot demo invoke --as bob /mywarnings\n")
	if o.EnvFile != "" {
		fmt.Fprintf(w, "\nThe variables are also in %s.\n", o.EnvFile)
	}
	<-ctx.Done()
	return nil
}

// control is the endpoint that plays slash commands on a served Discord.
type control struct {
	// mu keeps one command at a time, so that each answer shows only the
	// messages and DMs that command caused.
	mu    sync.Mutex
	d     *demo
	roles map[string]*discordtest.Member
}

func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The Discord token of the fake doubles as the endpoint's password, so
	// that only whoever was given the variables plays commands.
	want := "Bearer " + c.d.srv.Token()
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
		http.Error(w, "wrong or missing BOT_DISCORD_TOKEN", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/invoke" {
		http.Error(w, "POST /invoke only", http.StatusNotFound)
		return
	}
	var req InvokeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out bytes.Buffer
	if err := c.invoke(r.Context(), &out, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(out.Bytes())
}

func (c *control) invoke(ctx context.Context, out io.Writer, req InvokeRequest) error {
	who := c.roles[strings.ToLower(req.As)]
	if who == nil {
		who = c.member(strings.TrimPrefix(req.As, "@"))
	}
	if who == nil {
		return fmt.Errorf("no one called %q: use owner, admin, moderator, member or a username", req.As)
	}
	command := strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(req.Command), "/")), " ")
	defs, err := c.optionTypes(command)
	if err != nil {
		return err
	}
	opts := discordtest.Options{}
	for name, raw := range req.Options {
		typ, ok := defs[name]
		if !ok {
			return fmt.Errorf("/%s has no option %q", command, name)
		}
		v, err := c.value(typ, raw)
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
		opts[name] = v
	}
	c.d.w = out
	return c.d.run(ctx, step{who: who, command: command, options: opts})
}

// member finds a person of the served guild by username, including one
// kicked or banned since.
func (c *control) member(name string) *discordtest.Member {
	for _, m := range c.d.people {
		if strings.EqualFold(m.Username, name) {
			return m
		}
	}
	return nil
}

// optionDef is an option of a registered command, as Discord lists it.
type optionDef struct {
	Name    string      `json:"name"`
	Type    int         `json:"type"`
	Options []optionDef `json:"options"`
}

// optionTypes returns the types of the options of command ("case view")
// as the bot registered it.
func (c *control) optionTypes(command string) (map[string]int, error) {
	words := strings.Fields(command)
	if len(words) == 0 {
		return nil, errors.New("no command given")
	}
	for _, raw := range c.d.srv.Commands(c.d.guild.ID) {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, err
		}
		var def optionDef
		if err := json.Unmarshal(b, &def); err != nil {
			return nil, err
		}
		if def.Name != words[0] {
			continue
		}
		for _, w := range words[1:] {
			var next *optionDef
			for i := range def.Options {
				if def.Options[i].Name == w {
					next = &def.Options[i]
				}
			}
			if next == nil {
				return nil, fmt.Errorf("/%s has no subcommand %q", def.Name, w)
			}
			def = *next
		}
		types := map[string]int{}
		for _, o := range def.Options {
			types[o.Name] = o.Type
		}
		return types, nil
	}
	return nil, fmt.Errorf("the bot has not registered /%s (is it running?)", words[0])
}

// value reads raw as an option of type typ.
func (c *control) value(typ int, raw string) (any, error) {
	switch typ {
	case optString:
		return raw, nil
	case optInteger:
		return strconv.ParseInt(raw, 10, 64)
	case optNumber:
		return strconv.ParseFloat(raw, 64)
	case optBoolean:
		return strconv.ParseBool(raw)
	case optUser, optMention, optRole:
		name, isName := strings.CutPrefix(raw, "@")
		if !isName {
			return snowflake.Parse(raw)
		}
		if typ != optUser {
			for _, r := range c.d.guild.Roles() {
				if strings.EqualFold(r.Name, name) {
					return r, nil
				}
			}
		}
		if m := c.member(name); m != nil {
			return m, nil
		}
		return nil, fmt.Errorf("no one called %q", name)
	case optChannel:
		name := strings.TrimPrefix(raw, "#")
		for _, ch := range c.d.guild.Channels() {
			if strings.EqualFold(ch.Name, name) {
				return ch, nil
			}
		}
		return nil, fmt.Errorf("no channel #%s", name)
	}
	return nil, fmt.Errorf("options of type %d cannot be typed here", typ)
}

// Invoke plays one slash command on the served Discord whose control
// endpoint is at controlURL, authenticated with the fake's token, and
// writes what the bot answered, posted and sent by DM to w.
func Invoke(ctx context.Context, w io.Writer, controlURL, token string, req InvokeRequest) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(controlURL, "/")+"/invoke", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("reach the served Discord (is 'bot demo --serve' running?): %w", err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(strings.TrimSpace(string(text)))
	}
	_, err = w.Write(text)
	return err
}
