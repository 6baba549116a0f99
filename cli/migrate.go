package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/storage"
)

const migrateUsage = `
Usage: bot migrate status [-c FILE] [--json]
       bot migrate up [-c FILE]

status lists every migration embedded in this binary, its version, and
whether the database has it applied. up applies the pending ones; 'bot run'
and 'bot init' do that by themselves, so it is rarely needed.
`

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand: status or up")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		return parseFlags(e, newFlagSet("migrate"), migrateUsage, []string{"--help"})
	}
	flags := newFlagSet("migrate " + sub)
	cfgPath := configFlag(flags)
	asJSON := flags.Bool("json", false, "print as JSON (status)")
	if err := parseFlags(e, flags, migrateUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	if sub != "status" && sub != "up" {
		return usagef("unknown subcommand %q: use status or up", sub)
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	if sub == "up" {
		lock, err := storage.Lock(cfg.Storage.DataDir)
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	in, err := datadir.Open(ctx, cfg, sub == "up")
	if err != nil {
		return err
	}
	defer in.Close()
	list, err := in.DB.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Version   int64      `json:"version"`
			Name      string     `json:"name"`
			Applied   bool       `json:"applied"`
			AppliedAt *time.Time `json:"applied_at,omitempty"`
		}
		rows := make([]row, 0, len(list))
		for _, m := range list {
			r := row{Version: m.Version, Name: m.Name, Applied: m.Applied}
			if m.Applied {
				at := m.AppliedAt
				r.AppliedAt = &at
			}
			rows = append(rows, r)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE")
	pending := 0
	for _, m := range list {
		state := "pending"
		if m.Applied {
			state = "applied " + m.AppliedAt.Local().Format(time.DateTime)
		} else {
			pending++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, state)
	}
	tw.Flush()
	if pending > 0 {
		fmt.Fprintf(e.stdout, "\n%d pending: 'bot run' applies them at start, or run 'bot migrate up'.\n", pending)
	} else {
		fmt.Fprintf(e.stdout, "\nThe database %s is up to date (schema version %d).\n", e.rel(in.DB.Path()), storage.LatestVersion())
	}
	return nil
}
