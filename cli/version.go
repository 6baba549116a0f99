package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/modbot/bot/storage"
)

const versionUsage = `
Usage: bot version [--json]

Prints the version, commit, build date and Go version of this binary, and
the schema version of its database: the newest migration it carries. It
opens a database of that version or older (migrating it up), and refuses a
newer one.
`

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("version")
	noConfig := noConfigFlag(fs, "it prints facts about this binary")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parseFlags(e, fs, versionUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	info := struct {
		Version   string `json:"version"`
		Commit    string `json:"commit"`
		Date      string `json:"date"`
		GoVersion string `json:"go_version"`
		Platform  string `json:"platform"`
		Schema    int64  `json:"schema_version"`
	}{e.build.Version, e.build.Commit, e.build.Date, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH,
		storage.LatestVersion()}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(e.stdout, "bot %s (commit %s, built %s, %s, %s, schema %d)\n",
		info.Version, info.Commit, info.Date, info.GoVersion, info.Platform, info.Schema)
	return nil
}
