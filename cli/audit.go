package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

const auditUsage = `
Usage: bot audit verify [-c FILE] [--json]

Walks the audit log, in which every moderation action and settings change
is chained to the one before by a keyed hash, and checks every link. It
prints "ok" with the number of entries, or names the first entry that was
edited, deleted or reordered and exits with status 1.
`

func cmdAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand: verify")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		return parseFlags(e, newFlagSet("audit"), auditUsage, []string{"--help"})
	}
	if sub != "verify" {
		return usagef("unknown subcommand %q: use verify", sub)
	}
	flags := newFlagSet("audit verify")
	cfgPath := configFlag(flags)
	asJSON := flags.Bool("json", false, "print the result as JSON")
	if err := parseFlags(e, flags, auditUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer in.Close()
	n, err := storage.NewAudit(in.DB, in.Keys).Verify(ctx)
	var ce *storage.ChainError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	if *asJSON {
		out := map[string]any{"ok": err == nil, "entries": n}
		if ce != nil {
			out["first_bad_entry"] = ce.Seq
			out["problem"] = ce.Reason
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(out); jerr != nil {
			return jerr
		}
		if ce != nil {
			return errSilent
		}
		return nil
	}
	if ce != nil {
		fmt.Fprintf(e.stdout, "FAILED: audit entry %d: %s\n", ce.Seq, ce.Reason)
		fmt.Fprintf(e.stdout, "The %d entries before it are intact. The log was changed outside the bot: restore the database from a backup taken before the change, and keep this copy for investigation.\n", n)
		return errSilent
	}
	fmt.Fprintf(e.stdout, "ok: %d audit entries, chain intact\n", n)
	return nil
}
