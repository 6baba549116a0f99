package cli

import (
	"context"
	"fmt"

	"github.com/modbot/bot/bot"
)

const inviteUsage = `
Usage: bot invite [-c FILE] [--client-id ID]

Prints the link that adds the bot to a server, with exactly the permissions
its commands need and the applications.commands scope. The application ID is
read from discord.token, or given with --client-id.
`

func cmdInvite(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("invite")
	cfgPath := configFlag(fs)
	clientID := fs.String("client-id", "", "application ID (default: read from the token)")
	if err := parseFlags(e, fs, inviteUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	id := *clientID
	if id == "" {
		cfg, err := e.loadConfig(*cfgPath, nil)
		if err != nil {
			return err
		}
		if err := cfg.RequireToken(); err != nil {
			return fmt.Errorf("%w\n(or pass --client-id with the application ID from the developer portal)", err)
		}
		if id, err = bot.ApplicationID(cfg.Discord.Token); err != nil {
			return err
		}
	}
	cmds := bot.Definitions()
	fmt.Fprintf(e.stdout, "Open this link to add the bot to a server you manage:\n\n  %s\n\n", bot.InviteURL(id, cmds))
	fmt.Fprintf(e.stdout, "It asks for: %s.\n", bot.PermissionNames(bot.Permissions(cmds)))
	return nil
}
