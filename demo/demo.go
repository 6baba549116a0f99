// Package demo plays a short, scripted moderation session against the
// real bot, its embedded database and its encryption, with a local
// stand-in for Discord (discordtest) in the same process: a moderator, a
// member, and someone without rights act in turn, and the session is
// written out as people would see it. It needs no token and no network.
//
// 'bot demo' and 'make demo' run it; its output is the quickest way to see
// what the bot does.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/discordtest"
)

// Options are the choices of one demo session.
type Options struct {
	// RunBot runs the bot on cfg until ctx ends, as 'bot run' does after
	// loading its configuration; the demo drives it through a local Discord.
	RunBot func(ctx context.Context, cfg *config.Config, log *slog.Logger) error
	// Log receives the bot's log as it runs when set; the log is kept
	// either way, and written to Stderr if the session fails.
	Log io.Writer
	// Stderr receives the bot's log when the session fails; nil discards it.
	Stderr io.Writer
}

// Run starts the bot with opts.RunBot against an in-process discordtest
// server, with its data in a temporary directory that it removes at the
// end, and plays the scripted session, writing what each person did and
// everything the bot answered, posted and sent by DM to w. It fails if a
// step fails, or if the local Discord recorded a protocol violation or a
// ping.
func Run(ctx context.Context, w io.Writer, opts Options) error {
	d, err := start(ctx, w, opts)
	if err != nil {
		return err
	}
	defer d.close()
	if err := d.play(ctx); err != nil {
		if opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "\nThe bot's log:\n%s", d.logs.String())
		}
		return err
	}
	return nil
}

// demo is a bot running against an in-process discordtest server.
type demo struct {
	w   io.Writer
	srv *discordtest.Server
	dir string

	guild        *discordtest.Guild
	modlog       *discordtest.Channel
	owner        *discordtest.Member
	alice, bob   *discordtest.Member   // a moderator and a member
	carol        *discordtest.Member   // a member without rights
	dave         *discordtest.Member   // a spammer
	people       []*discordtest.Member // everyone, including those kicked or banned later
	names        map[snowflake.ID]string
	seenMessages map[snowflake.ID][]snowflake.ID // channel -> the messages shown in it, still there
	seenDMs      map[snowflake.ID]int
	cancel       context.CancelFunc
	done         chan error
	logs         syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the bot's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newDemo starts the local Discord with the demo's server, its people and
// its modlog channel, and no bot yet.
func newDemo(w io.Writer) *demo {
	var opts []discordtest.Option
	// In a source checkout, check every request against Discord's OpenAPI
	// description too; a release binary has no copy of it.
	if p := discordtest.SpecPath(); p != "" {
		if _, err := os.Stat(p); err == nil {
			opts = append(opts, discordtest.WithSpec(p))
		}
	}
	d := &demo{w: w, srv: discordtest.NewServer(opts...), seenMessages: map[snowflake.ID][]snowflake.ID{}, seenDMs: map[snowflake.ID]int{}}
	d.guild = d.srv.AddGuild(discordtest.GuildOptions{Name: "Demo Server", OwnerName: "olivia"})
	d.owner = d.guild.Owner()
	mods := d.guild.AddRole("Moderators", discord.PermissionModerateMembers|discord.PermissionKickMembers|discord.PermissionBanMembers, 5)
	members := d.guild.AddRole("Members", 0, 1)
	d.alice = d.guild.AddMember(discordtest.MemberOptions{Username: "alice", Roles: []*discordtest.Role{mods}})
	d.bob = d.guild.AddMember(discordtest.MemberOptions{Username: "bob", Roles: []*discordtest.Role{members}})
	d.carol = d.guild.AddMember(discordtest.MemberOptions{Username: "carol", Roles: []*discordtest.Role{members}})
	d.dave = d.guild.AddMember(discordtest.MemberOptions{Username: "dave", Roles: []*discordtest.Role{members}})
	d.modlog = d.guild.AddTextChannel("modlog")
	d.names = map[snowflake.ID]string{d.srv.BotUserID(): "bot"}
	d.people = d.guild.Members()
	for _, m := range d.people {
		d.names[m.ID] = m.Username
	}
	return d
}

func start(ctx context.Context, w io.Writer, o Options) (*demo, error) {
	d := newDemo(w)
	dir, err := os.MkdirTemp("", "bot-demo-")
	if err != nil {
		d.srv.Close()
		return nil, err
	}
	d.dir = dir
	environ := []string{
		"BOT_DISCORD_TOKEN=" + d.srv.Token(),
		"BOT_DISCORD_API_URL=" + d.srv.APIURL(),
		"BOT_DISCORD_GATEWAY_URL=" + d.srv.GatewayURL(),
		"BOT_DISCORD_GUILD_IDS=" + d.guild.ID.String(),
		"BOT_STORAGE_DATA_DIR=" + filepath.Join(dir, "data"),
		"BOT_HTTP_LISTEN=",
		// The script sends a moderator's commands back to back, faster
		// than anyone types; the default allowance would answer "slow
		// down" halfway through the session.
		"BOT_LIMITS_MODERATOR_BURST=100",
	}
	cfg, _, err := config.Load(config.Source{Environ: environ, WorkDir: dir})
	if err != nil {
		d.close()
		return nil, err
	}
	if err := os.MkdirAll(cfg.Storage.DataDir, 0o700); err != nil {
		d.close()
		return nil, err
	}
	if _, err := datadir.Init(ctx, cfg); err != nil {
		d.close()
		return nil, fmt.Errorf("set up the demo's data: %w", err)
	}
	var logOut io.Writer = &d.logs
	if o.Log != nil {
		logOut = io.MultiWriter(&d.logs, o.Log)
	}
	log := slog.New(config.NewRedactingHandler(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}), cfg.Secrets()...))

	runCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	d.done = make(chan error, 1)
	go func() { d.done <- o.RunBot(runCtx, cfg, log) }()
	waitCtx, stop := context.WithTimeout(ctx, 15*time.Second)
	defer stop()
	for len(d.srv.Commands(d.guild.ID)) == 0 || !strings.Contains(d.logs.String(), "bot is ready") {
		select {
		case err := <-d.done:
			d.done <- err
			d.close()
			return nil, fmt.Errorf("the bot stopped during start-up: %v\n%s", err, d.logs.String())
		case <-waitCtx.Done():
			d.close()
			return nil, fmt.Errorf("the bot did not start within 15s:\n%s", d.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return d, nil
}

func (d *demo) close() {
	if d.cancel != nil {
		d.cancel()
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
		}
		d.cancel = nil
	}
	d.srv.Close()
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// step is one action of the scripted session.
type step struct {
	who     *discordtest.Member
	command string
	options discordtest.Options
	note    string // what the step shows, printed before it
	// click, when set, is the label of a button on the bot's answer that
	// the same person then clicks.
	click string
	// manual, when set, is done instead of a command: an action taken in
	// Discord's own menus, not through the bot. It says what it did.
	manual func() string
	// setup, when set, prepares the server for the step (what people do in
	// Discord itself) and says what it did.
	setup func(w io.Writer)
}

func (d *demo) play(ctx context.Context) error {
	w := d.w
	fmt.Fprintf(w, "A moderation session on %q, run by the real bot against a local Discord.\n", d.guild.Name)
	fmt.Fprintf(w, "People: olivia (owner), alice (moderator), bob, carol and dave (members).\n")
	for _, s := range d.script() {
		if err := d.run(ctx, s); err != nil {
			return err
		}
	}

	// Context menus and modals (demo/contextmenu.go).
	if err := d.contextMenuScene(ctx); err != nil {
		return err
	}
	// End of context menus and modals.

	fmt.Fprintf(w, "\nEverything above was stored encrypted in a SQLite database in %s,\nwhich is removed now. Run 'bot init' and 'bot run' to use the bot for real.\n", d.dir)
	if v := d.srv.Violations(); len(v) > 0 {
		return fmt.Errorf("the local Discord recorded %d protocol violations, the first: %+v", len(v), v[0])
	}
	if p := d.srv.Pings(); len(p) > 0 {
		return fmt.Errorf("a bot message pinged someone: %+v", p[0])
	}
	return nil
}

// script is the session, in the order people act. Each command the bot
// serves appears at least once.
func (d *demo) script() []step {
	return append([]step{
		{who: d.bob, command: "ping", note: "Anyone can check the bot is alive."},
		{who: d.owner, command: "config modlog", options: discordtest.Options{"channel": d.modlog}, note: "The owner picks the modlog channel."},
		{who: d.owner, command: "config escalation add", options: discordtest.Options{"points": 3, "action": "timeout", "duration": "1h"}, note: "The owner adds an escalation rule: 3 active warning points time a member out for an hour."},
		{who: d.alice, command: "warn", options: discordtest.Options{"user": d.bob, "reason": "spamming invites in #general @everyone", "points": 2}, note: "A moderator warns bob. The reason mentions @everyone, which pings nobody."},
		{who: d.carol, command: "warn", options: discordtest.Options{"user": d.bob, "reason": "I don't like him"}, note: "carol has no moderator rights, so she is refused."},
		{who: d.alice, command: "note", options: discordtest.Options{"user": d.bob, "text": "Said sorry in DMs; keep an eye on him."}, note: "A private note: never DMed, never counted."},
		{who: d.alice, command: "warnings", options: discordtest.Options{"user": d.bob}, note: "The moderator lists bob's warnings."},
		{who: d.bob, command: "mywarnings", note: "bob sees his own active warnings, moderators anonymous."},
		{who: d.alice, command: "case reason", options: discordtest.Options{"number": 1, "reason": "spamming invite links in #general"}, note: "The moderator corrects the reason; the old one stays in the history."},
		{who: d.alice, command: "case view", options: discordtest.Options{"number": 1}, note: "One case in full, with its history."},
		{who: d.alice, command: "warn", options: discordtest.Options{"user": d.bob, "reason": "posted the invite again"}, note: "A second warning takes bob to 3 points: the rule times him out at once, as a case by the bot."},
		{who: d.alice, command: "untimeout", options: discordtest.Options{"user": d.bob, "reason": "apologised in #general"}, note: "The moderator lifts the timeout early."},
		{who: d.alice, command: "unwarn", options: discordtest.Options{"case": 1, "reason": "appeal accepted"}, note: "The warning is revoked, kept in history."},
		{who: d.alice, command: "timeout", options: discordtest.Options{"user": d.carol, "duration": "10m", "reason": "arguing with everyone"}, note: "A timeout by hand; Discord lifts it by itself."},
		{who: d.alice, command: "ban", options: discordtest.Options{"user": d.dave, "reason": "crypto scam links", "delete_messages": "1d", "duration": "7d"}, note: "A temporary ban: dave is DMed first, his last day of messages goes, and the bot lifts the ban in 7 days."},
		{who: d.alice, command: "unban", options: discordtest.Options{"user": d.dave.ID.String(), "reason": "account was hacked; he is back in control"}, note: "Lifted early by ID, since dave is no longer in the server; the scheduled end is cancelled."},
		{who: d.alice, command: "kick", options: discordtest.Options{"user": d.carol, "reason": "kept arguing after the timeout"}, note: "A kick: carol is DMed before she leaves."},
		{who: d.bob, command: "privacy export", note: "bob asks what the server's records hold about him: a file only he sees, moderators anonymous."},
		{who: d.owner, command: "privacy erase", options: discordtest.Options{"user": d.bob}, click: "Erase",
			note: "bob asks the owner to erase his records: a preview first, then the confirm button. The modlog posts about him are deleted, and the modlog says only that a member's records were erased."},
		{who: d.owner, command: "config show", note: "The owner reviews the server's settings."},

		// ── Reason presets and /clearwarnings ──
		{who: d.owner, command: "config reasons add", options: discordtest.Options{"name": "invites", "text": "Posting server invites without asking", "points": 2},
			note: "The owner adds a preset reason worth 2 points. Every reason option now offers it as the moderator types."},
		{who: d.alice, command: "warn", options: discordtest.Options{"user": d.bob, "reason": "invites"},
			note: "The moderator types the preset's name as the reason: it stands for its text, and the warning gets its 2 points."},
		{who: d.alice, command: "clearwarnings", options: discordtest.Options{"user": d.bob, "reason": "a clean slate after his appeal"}, click: "Revoke all",
			note: "The moderator clears bob's active warnings at once: a count first, then the confirm button. Each stays in his history, marked revoked."},

		// ---- Purge and the server overview ----
		{who: d.owner, command: "purge", options: discordtest.Options{"count": 10, "bots-only": true}, setup: d.spamRaid,
			note: "A spam bot floods #general. The owner purges the bots' messages; the one from three weeks ago is too old for Discord's bulk delete, and the reply says so. No message text is stored."},
		{who: d.alice, command: "modstats", note: "A moderator looks at the last 30 days: cases by kind, who has active points, and each moderator's cases."},
	}, d.manualActionsScene()...)
}

// ---- Actions taken outside the bot become cases ----

// manualActionsScene: a moderator bans a member from Discord's own member
// menu; the bot reads the audit log, records the ban as a case with her
// reason and posts it to the modlog, and the member's history shows it.
func (d *demo) manualActionsScene() []step {
	erin := d.guild.AddMember(discordtest.MemberOptions{Username: "erin"})
	d.names[erin.ID] = erin.Username
	d.people = append(d.people, erin)
	return []step{
		{who: d.alice, note: "alice bans erin from Discord's own member menu, not through the bot. The bot reads the server's audit log and records the ban as a case, with her reason; erin gets no DM from the bot.",
			manual: func() string {
				d.guild.BanAs(d.alice, erin.ID, "raiding with alt accounts")
				return `bans erin (Discord's member menu, reason "raiding with alt accounts")`
			}},
		{who: d.alice, command: "warnings", options: discordtest.Options{"user": erin, "all": true}, note: "The ban is in erin's history like any other case."},
	}
}

// runManual does a step's action outside the bot and waits for the modlog
// post the bot makes of it.
func (d *demo) runManual(ctx context.Context, s step) error {
	before := len(d.srv.Messages(d.modlog.ID))
	fmt.Fprintf(d.w, "%s %s\n", s.who.Username, s.manual())
	for len(d.srv.Messages(d.modlog.ID)) == before {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the bot posted no case of %s's action outside it: %w", s.who.Username, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.printNew(d.w)
	return nil
}

// spamRaid gives the bot Manage Messages, which /purge needs, and has a
// spam bot post in #general: four messages now and one three weeks ago.
func (d *demo) spamRaid(w io.Writer) {
	d.guild.BotRole().SetPermissions(d.guild.BotRole().Permissions() | discord.PermissionManageMessages)
	spam := d.guild.AddMember(discordtest.MemberOptions{Username: "nitrofree", Bot: true})
	d.names[spam.ID] = spam.Username
	general := d.guild.Channels()[0]
	d.srv.PostMessage(general, spam.ID, "free nitro at this link", time.Now().Add(-21*24*time.Hour))
	for range 4 {
		d.srv.PostMessage(general, spam.ID, "FREE NITRO click here", time.Time{})
	}
	d.srv.PostMessage(general, d.carol.ID, "is anyone else seeing this?", time.Time{})
	for _, m := range d.srv.Messages(general.ID) {
		if !slices.Contains(d.seenMessages[general.ID], m.ID) {
			d.seenMessages[general.ID] = append(d.seenMessages[general.ID], m.ID)
		}
	}
	fmt.Fprintf(w, "(the owner gives the bot's role Manage Messages; nitrofree, a bot, posts 5 messages in #%s, one of them 3 weeks ago, and carol asks what is going on)\n", general.Name)
}

// run performs one step and prints what happened.
func (d *demo) run(ctx context.Context, s step) error {
	w := d.w
	if s.note != "" {
		fmt.Fprintf(w, "\n— %s\n", s.note)
	}
	if s.setup != nil {
		s.setup(w)
	}
	stepCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if s.manual != nil {
		return d.runManual(stepCtx, s)
	}
	fmt.Fprintf(w, "%s: /%s%s\n", s.who.Username, s.command, d.formatOptions(s.options))
	in, err := d.srv.InvokeSlash(stepCtx, d.guild, s.who, s.command, s.options)
	if err != nil {
		return fmt.Errorf("/%s by %s: %w", s.command, s.who.Username, err)
	}
	audience := "everyone sees"
	if in.Ephemeral {
		audience = "only " + s.who.Username + " sees"
	}
	fmt.Fprintf(w, "  bot (%s): %s\n", audience, d.render(in.Content, in.Embeds, "    "))
	d.printFiles(w, in)
	if s.click != "" {
		if in, err = d.clickButton(stepCtx, s.who, in, s.click); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s clicks %q\n  bot (%s): %s\n", s.who.Username, s.click, audience, d.render(in.Content, in.Embeds, "    "))
	}
	d.printNew(w)
	return nil
}

// clickButton has m click the button labelled label on the bot's answer.
func (d *demo) clickButton(ctx context.Context, m *discordtest.Member, in *discordtest.Interaction, label string) (*discordtest.Interaction, error) {
	if in.Message != nil {
		for _, row := range in.Components {
			for _, c := range row.Components() {
				if b, ok := c.(discord.ButtonComponent); ok && b.Label == label {
					return d.srv.ClickButton(ctx, d.guild, m, *in.Message, b.CustomID)
				}
			}
		}
	}
	return nil, fmt.Errorf("the bot's answer has no %q button", label)
}

// printFiles names the files attached to the bot's answer, with the first
// lines of each, as a member would see them on opening it.
func (d *demo) printFiles(w io.Writer, in *discordtest.Interaction) {
	if in.Message == nil {
		return
	}
	for _, f := range in.Message.Files {
		fmt.Fprintf(w, "  attached: %s (%d bytes)\n", f.Name, len(f.Data))
		lines := strings.Split(string(f.Data), "\n")
		for _, l := range lines[:min(len(lines), 8)] {
			fmt.Fprintf(w, "    %s\n", l)
		}
		if len(lines) > 8 {
			fmt.Fprintf(w, "    …\n")
		}
	}
}

// printNew prints the modlog posts and DMs the bot sent since the last call.
func (d *demo) printNew(w io.Writer) {
	for _, ch := range d.guild.Channels() {
		msgs := d.srv.Messages(ch.ID)
		// Messages are told apart by ID, not by count: an erasure deletes
		// earlier posts in the same step as it posts a new one.
		now := make([]snowflake.ID, 0, len(msgs))
		for _, m := range msgs {
			now = append(now, m.ID)
		}
		gone := 0
		for _, id := range d.seenMessages[ch.ID] {
			if !slices.Contains(now, id) {
				gone++
			}
		}
		if gone > 0 {
			fmt.Fprintf(w, "  bot deleted %d messages in #%s\n", gone, ch.Name)
		}
		for _, m := range msgs {
			if !slices.Contains(d.seenMessages[ch.ID], m.ID) {
				fmt.Fprintf(w, "  bot posted in #%s: %s\n", ch.Name, d.render(m.Content, m.Embeds, "    "))
			}
		}
		d.seenMessages[ch.ID] = now
	}
	// d.people, not the guild's members: a kicked or banned member was
	// DMed just before leaving.
	for _, m := range d.people {
		dms := d.srv.DMs(m.ID)
		for _, msg := range dms[min(d.seenDMs[m.ID], len(dms)):] {
			fmt.Fprintf(w, "  bot sent %s a DM: %s\n", m.Username, d.render(msg.Content, msg.Embeds, "    "))
		}
		d.seenDMs[m.ID] = len(dms)
	}
}

func (d *demo) formatOptions(o discordtest.Options) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		var v string
		switch x := o[k].(type) {
		case *discordtest.Member:
			v = "@" + x.Username
		case *discordtest.Channel:
			v = "#" + x.Name
		case *discordtest.Role:
			v = "@" + x.Name
		case string:
			v = fmt.Sprintf("%q", x)
		default:
			v = fmt.Sprint(x)
		}
		fmt.Fprintf(&b, " %s:%s", k, v)
	}
	return b.String()
}

var (
	userMention    = regexp.MustCompile(`<@!?(\d+)>`)
	channelMention = regexp.MustCompile(`<#(\d+)>`)
	timestampTag   = regexp.MustCompile(`<t:(\d+)(:[a-zA-Z])?>`)
)

// render turns a message into readable text: mentions become names and
// Discord timestamps become dates.
func (d *demo) render(content string, embeds []discord.Embed, indent string) string {
	var parts []string
	if content != "" {
		parts = append(parts, content)
	}
	for _, e := range embeds {
		var b strings.Builder
		if e.Title != "" {
			fmt.Fprintf(&b, "[%s]", e.Title)
		}
		if e.Description != "" {
			fmt.Fprintf(&b, "\n%s%s", indent, strings.ReplaceAll(e.Description, "\n", "\n"+indent))
		}
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "\n%s%s: %s", indent, f.Name, strings.ReplaceAll(f.Value, "\n", "\n"+indent+"  "))
		}
		footer := ""
		if e.Footer != nil {
			footer = e.Footer.Text
		}
		if e.Timestamp != nil {
			footer = strings.TrimSpace(footer + " " + e.Timestamp.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if footer != "" {
			fmt.Fprintf(&b, "\n%s(%s)", indent, footer)
		}
		parts = append(parts, b.String())
	}
	out := strings.Join(parts, "\n"+indent)
	out = strings.ReplaceAll(out, "**", "")
	out = strings.ReplaceAll(out, "\n", "\n"+indent)
	out = strings.ReplaceAll(out, "\n"+indent+indent, "\n"+indent)
	out = userMention.ReplaceAllStringFunc(out, func(m string) string {
		id, err := snowflake.Parse(userMention.FindStringSubmatch(m)[1])
		if name, ok := d.names[id]; err == nil && ok {
			return "@" + name
		}
		return m
	})
	out = channelMention.ReplaceAllStringFunc(out, func(m string) string {
		id, err := snowflake.Parse(channelMention.FindStringSubmatch(m)[1])
		for _, ch := range d.guild.Channels() {
			if err == nil && ch.ID == id {
				return "#" + ch.Name
			}
		}
		return m
	})
	out = timestampTag.ReplaceAllStringFunc(out, func(m string) string {
		var sec int64
		fmt.Sscan(timestampTag.FindStringSubmatch(m)[1], &sec)
		return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04 UTC")
	})
	if out == "" {
		return "(nothing)"
	}
	return out
}
