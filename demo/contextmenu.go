package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/modbot/bot/discordtest"
)

// contextMenuScene shows the context-menu entries: Warn… opens a form,
// whose submit does what /warn does; Warn for this message… keeps a link
// to the message, never its content; Warnings lists a member's warnings.
func (d *demo) contextMenuScene(ctx context.Context) error {
	w := d.w
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()

	fmt.Fprintf(w, "\n— A moderator can also warn from Discord's own menus. Apps → Warn… on bob opens a form; sending it does what /warn does.\n")
	fmt.Fprintf(w, "%s: Apps → Warn… on @%s\n", d.alice.Username, d.bob.Username)
	opened, err := d.srv.InvokeUserCommand(ctx, d.guild, d.alice, "Warn…", d.bob)
	if err != nil {
		return fmt.Errorf("the Warn… menu by %s: %w", d.alice.Username, err)
	}
	if err := d.fillIn(ctx, opened, map[string]string{"reason": "pinged every moderator at 3 am", "points": "1", "expires": "30d"}); err != nil {
		return err
	}

	general := d.guild.Channels()[0]
	const content = "join my server for free nitro: discord.gg/not-a-scam"
	msg := d.srv.PostMemberMessage(general, d.bob, content)
	d.seenMessages[general.ID] = append(d.seenMessages[general.ID], msg.ID)
	fmt.Fprintf(w, "\n— bob posts in #%s: %q. Apps → Warn for this message… records a link to it in the case, never what it says.\n", general.Name, content)
	fmt.Fprintf(w, "%s: Apps → Warn for this message… on bob's message\n", d.alice.Username)
	opened, err = d.srv.InvokeMessageCommand(ctx, d.guild, d.alice, "Warn for this message…", msg)
	if err != nil {
		return fmt.Errorf("the Warn for this message… menu by %s: %w", d.alice.Username, err)
	}
	if err := d.fillIn(ctx, opened, map[string]string{"reason": "advertising a scam server"}); err != nil {
		return err
	}

	fmt.Fprintf(w, "\n— Apps → Warnings on bob shows what /warnings shows.\n")
	fmt.Fprintf(w, "%s: Apps → Warnings on @%s\n", d.alice.Username, d.bob.Username)
	in, err := d.srv.InvokeUserCommand(ctx, d.guild, d.alice, "Warnings", d.bob)
	if err != nil {
		return fmt.Errorf("the Warnings menu by %s: %w", d.alice.Username, err)
	}
	fmt.Fprintf(w, "  bot (only %s sees): %s\n", d.alice.Username, d.render(in.Content, in.Embeds, "    "))

	fmt.Fprintf(w, "\n— Discord shows the menu to everyone, as it does /warn; the bot checks, so bob gets no form.\n")
	fmt.Fprintf(w, "%s: Apps → Warn… on @%s\n", d.bob.Username, d.alice.Username)
	in, err = d.srv.InvokeUserCommand(ctx, d.guild, d.bob, "Warn…", d.alice)
	if err != nil {
		return fmt.Errorf("the Warn… menu by %s: %w", d.bob.Username, err)
	}
	fmt.Fprintf(w, "  bot (only %s sees): %s\n", d.bob.Username, d.render(in.Content, in.Embeds, "    "))
	d.printNew(w)
	return nil
}

// fillIn shows the form the bot opened, submits it with values as the
// moderator, and prints the answer and what the bot posted and sent.
func (d *demo) fillIn(ctx context.Context, opened *discordtest.Interaction, values map[string]string) error {
	w := d.w
	m, err := discordtest.ParseModal(opened)
	if err != nil {
		return fmt.Errorf("the bot did not open its form: %q: %w", opened.Content, err)
	}
	fields := make([]string, 0, len(m.Inputs))
	for _, in := range m.Inputs {
		f := in.Label
		if in.Required == nil || *in.Required {
			f += " (required)"
		}
		fields = append(fields, f)
	}
	fmt.Fprintf(w, "  bot (only %s sees): a form %q: %s\n", d.alice.Username, m.Title, strings.Join(fields, "; "))
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s:%q", k, values[k])
	}
	fmt.Fprintf(w, "%s sends the form:%s\n", d.alice.Username, b.String())
	in, err := d.srv.SubmitModal(ctx, d.guild, d.alice, opened, values)
	if err != nil {
		return fmt.Errorf("submit the form: %w", err)
	}
	fmt.Fprintf(w, "  bot (only %s sees): %s\n", d.alice.Username, d.render(in.Content, in.Embeds, "    "))
	d.printNew(w)
	return nil
}
