package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/modbot/bot/alerts"
)

const alertsUsage = `
Usage: bot alerts test [-c FILE]

Posts a test message to alerts.webhook_url and says whether Discord
accepted it, and what to fix if not. The bot posts its alerts there when
the gateway is down longer than alerts.gateway_down_after, a backup failed
or is overdue, free disk is below alerts.min_free_disk, more than
alerts.error_burst errors come in five minutes, or a verification fails;
and again when it clears. It works whether or not the bot runs.
`

func cmdAlerts(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "test" {
		fs := newFlagSet("alerts")
		configFlag(fs)
		if err := parseFlags(e, fs, alertsUsage, args); err != nil {
			return err
		}
		if len(args) == 0 {
			return usagef("missing subcommand: test")
		}
		return usagef("unknown subcommand %q (the one there is: test)", args[0])
	}
	fs := newFlagSet("alerts test")
	cfgPath := configFlag(fs)
	if err := parseFlags(e, fs, alertsUsage, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	if cfg.Alerts.WebhookURL == "" {
		return errors.New("alerts.webhook_url is not set: create a webhook in the channel's Integrations settings " +
			"and put its URL in BOT_ALERTS_WEBHOOK_URL or as webhook_url under [alerts]")
	}
	msg := "🔔 **bot: test alert** sent by `bot alerts test` at " + e.clock().UTC().Format("2006-01-02 15:04 UTC") +
		". Alerts reach this channel."
	status, err := alerts.WebhookPoster{}.Post(ctx, cfg.Alerts.WebhookURL, msg)
	if err != nil {
		var re *alerts.RejectedError
		if errors.As(err, &re) {
			return fmt.Errorf("the test alert did not arrive: %w", err)
		}
		return fmt.Errorf("the test alert did not arrive: %w; check that this machine can reach Discord (or the URL's host)", err)
	}
	fmt.Fprintf(e.stdout, "The test alert arrived (Discord answered %d). Look for it in the webhook's channel.\n", status)
	return nil
}
