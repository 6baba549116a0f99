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

Checks the audit log, in which every moderation action and settings change
is chained to the one before by a keyed hash, and then every record (cases,
their reason history, settings, moderator roles, escalation rules, case
counters, scheduled actions, erasures) against its seal and the chain's
sealed head. It prints "ok" with the counts, or names the first entry or
record that was edited, deleted, added or put back from an older copy
outside the bot, and exits with status 1. The outcome is kept for
'bot health'.
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
	rep, err := storage.VerifyDatabase(ctx, in.DB, in.Keys)
	v, found := datadir.NewVerification(e.clock(), "bot audit verify", rep, err)
	if !found {
		return err
	}
	if rerr := datadir.RecordVerification(cfg, v); rerr != nil {
		fmt.Fprintf(e.stderr, "warning: %v ('bot health' will not show this verification)\n", rerr)
	}
	var ce *storage.ChainError
	var re *storage.RecordError
	errors.As(err, &ce)
	errors.As(err, &re)
	if *asJSON {
		out := map[string]any{"ok": v.OK, "entries": rep.Entries, "records": rep.Records, "records_sealed": !rep.Unsealed,
			"erasures": rep.Erasures}
		switch {
		case ce != nil:
			out["first_bad_entry"] = ce.Seq
			out["problem"] = ce.Reason
		case re != nil:
			out["first_bad_record"] = re.Record
			out["problem"] = re.Reason
			out["bad_records"] = rep.Bad
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(out); jerr != nil {
			return jerr
		}
		if !v.OK {
			return errSilent
		}
		return nil
	}
	switch {
	case ce != nil:
		fmt.Fprintf(e.stdout, "FAILED: audit entry %d: %s\n", ce.Seq, ce.Reason)
		fmt.Fprintf(e.stdout, "The %d entries before it are intact. The log was changed outside the bot: restore the database from a backup taken before the change, and keep this copy for investigation.\n", rep.Entries)
		return errSilent
	case re != nil:
		fmt.Fprintf(e.stdout, "FAILED: %s\n", re)
		if rep.Bad > 1 {
			fmt.Fprintf(e.stdout, "%d records in all do not match what the bot wrote.\n", rep.Bad)
		}
		fmt.Fprintf(e.stdout, "The audit chain (%d entries) is intact, but the records were changed outside the bot: restore the database from a backup taken before the change ('bot restore FILE' refuses backups with the same problem), and keep this copy for investigation.\n", rep.Entries)
		return errSilent
	case rep.Unsealed:
		fmt.Fprintf(e.stdout, "ok: %d audit entries, chain intact; the records predate sealing and were not checked: 'bot run' or 'bot migrate up' seals them\n", rep.Entries)
		return nil
	}
	fmt.Fprintf(e.stdout, "ok: %d audit entries, chain intact; %d records match their seals\n", rep.Entries, rep.Records)
	if rep.Erasures > 0 {
		fmt.Fprintf(e.stdout, "%d of the entries record members' records erased on request or again after a restore: those records are gone by design\n", rep.Erasures)
	}
	return nil
}
