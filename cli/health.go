package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modbot/bot/backups"
	"github.com/modbot/bot/bot"
	"github.com/modbot/bot/config"
	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/diskfree"
	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/storage"
)

const healthUsage = `
Usage: bot health [-c FILE] [--offline] [--json]

Checks the installation and prints one line per check; exits 0 when healthy
and 1 when not, so it can serve as a Docker HEALTHCHECK or in a systemd unit.

  config    the configuration loads and is valid
  database  it opens, passes quick_check, and its migrations are current
  keys      the keysets load and open the database's sentinel
  disk      free space in the data directory
  retention how long records are kept, and the pending deletions of the
            records of servers the bot left (server and date)
  backup    the age of the last successful backup, against backup.interval
  records   when the records were last fully verified (bot audit verify,
            scheduled backups) and what it found
  restore   shown only after a restore was stopped before it finished:
            which database is in place, and how to finish or undo
  gateway   the gateway session kept for a resume, and a start held back
            by a crash loop or Discord's daily limit of new sessions
  token     Discord accepts discord.token (skipped with --offline)
  bot       the running bot's /readyz, when http.listen is set

A check that warns does not make the installation unhealthy.
`

// Disk space below which health fails, and below which it warns.
const (
	diskFailBelow = 64 << 20
	diskWarnBelow = 512 << 20
)

// check is one line of the health report.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail or skip
	Detail string `json:"detail"`
}

func cmdHealth(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("health")
	cfgPath := configFlag(flags)
	offline := flags.Bool("offline", false, "skip the checks that need Discord")
	asJSON := flags.Bool("json", false, "print the report as JSON")
	if err := parseFlags(e, flags, healthUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	checks := runHealthChecks(ctx, e, *cfgPath, *offline)
	healthy := true
	for _, c := range checks {
		healthy = healthy && c.Status != "fail"
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Healthy bool    `json:"healthy"`
			Checks  []check `json:"checks"`
		}{healthy, checks}); err != nil {
			return err
		}
	} else {
		printChecks(e.stdout, checks, healthy)
	}
	if !healthy {
		return errSilent
	}
	return nil
}

func printChecks(w io.Writer, checks []check, healthy bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
	}
	tw.Flush()
	if healthy {
		fmt.Fprintln(w, "\nhealthy")
	} else {
		fmt.Fprintln(w, "\nunhealthy: see the lines marked fail")
	}
}

// runHealthChecks runs every check it can. A failure early on (the config,
// the database) skips the checks that depend on it rather than hiding the
// others.
func runHealthChecks(ctx context.Context, e *env, cfgPath string, offline bool) []check {
	// The configuration's warnings (a secret others can read, a short
	// http.token) are part of the report, not lines before it.
	var warned bytes.Buffer
	quiet := *e
	quiet.stderr = &warned
	cfg, err := quiet.loadConfig(cfgPath, nil)
	if err != nil {
		return []check{{"config", "fail", err.Error()}}
	}
	source := "defaults (no config file)"
	if cfg.File != "" {
		source = e.rel(cfg.File)
	}
	checks := []check{{"config", "ok", source}}
	if w := strings.TrimSpace(warned.String()); w != "" {
		lines := strings.Split(w, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "warning: ")
		}
		checks[0] = check{"config", "warn", source + ": " + strings.Join(lines, "; ")}
	}

	checks = append(checks, dataChecks(ctx, e, cfg)...)
	checks = append(checks, diskCheck(cfg))
	checks = append(checks, backupCheck(cfg))
	checks = append(checks, verificationCheck(cfg, e.clock()))
	if note := restoreNotice(e, datadir.DBPath(cfg), datadir.KeysPath(cfg)); note != "" {
		checks = append(checks, check{"restore", "warn", strings.TrimSpace(note)})
	}
	checks = append(checks, tokenCheck(ctx, cfg, offline))
	ready, warnings := probeReady(ctx, cfg)
	checks = append(checks, ready)
	checks = append(checks, warnings...)
	checks = append(checks, gatewayCheck(cfg, e.clock()))
	return checks
}

// dataChecks opens the database and keys as `bot run` would, without
// migrating or locking, so it works beside a running bot.
func dataChecks(ctx context.Context, e *env, cfg *config.Config) []check {
	in, err := datadir.Open(ctx, cfg, false)
	if err != nil {
		// Label the line by what failed, so the owner knows where to look.
		name := "database"
		if isKeyError(err) {
			name = "keys"
		}
		return []check{{name, "fail", err.Error()}}
	}
	defer in.Close()
	var out []check
	db := check{Name: "database", Status: "ok"}
	ver, err := in.DB.SchemaVersion(ctx)
	switch {
	case err != nil:
		db.Status, db.Detail = "fail", err.Error()
	default:
		if qerr := in.DB.QuickCheck(ctx); qerr != nil {
			db.Status, db.Detail = "fail", qerr.Error()+": restore the latest backup with 'bot restore'"
		} else if latest := storage.LatestVersion(); ver < latest {
			db.Status, db.Detail = "fail", fmt.Sprintf("schema version %d, this bot has %d: 'bot run' applies the migrations at start, or run 'bot migrate up'", ver, latest)
		} else {
			db.Detail = fmt.Sprintf("%s, schema version %d, quick_check ok", e.rel(in.DB.Path()), ver)
		}
	}
	out = append(out, db)
	st := in.Keys.Status()
	protection := "keysets in clear (mode 0600)"
	if st.MasterKey {
		protection = "keysets encrypted with the master key"
	}
	out = append(out, check{"keys", "ok", fmt.Sprintf("sentinel opens; primary key %d; %s", st.AEAD.ID, protection)})
	if err == nil && ver >= storage.LatestVersion() {
		out = append(out, retentionCheck(ctx, storage.NewRetention(in.DB, in.Keys), cfg))
	}
	return out
}

// maxListedDepartures bounds the pending deletions named on the line; the
// rest are counted.
const maxListedDepartures = 10

// retentionCheck says how long records are kept and lists the pending
// deletions of servers the bot left, soonest first, so that an owner sees
// one coming while re-adding the bot can still cancel it.
func retentionCheck(ctx context.Context, r *storage.Retention, cfg *config.Config) check {
	cases := "cases kept"
	if cfg.Retention.Cases > 0 {
		cases = fmt.Sprintf("cases deleted %s after they stop counting", bot.FormatDuration(cfg.Retention.Cases))
	}
	leave := "a server's records kept after the bot leaves"
	if cfg.Retention.AfterLeave > 0 {
		leave = fmt.Sprintf("a server's records deleted %s after the bot leaves", bot.FormatDuration(cfg.Retention.AfterLeave))
	}
	deps, err := r.Departures(ctx)
	if err != nil {
		return check{"retention", "warn", "cannot list pending deletions: " + err.Error()}
	}
	detail := cases + "; " + leave + "; "
	if len(deps) == 0 {
		return check{"retention", "ok", detail + "no pending deletions"}
	}
	var parts []string
	for i, d := range deps {
		if i == maxListedDepartures {
			parts = append(parts, fmt.Sprintf("and %d more", len(deps)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("server %s on %s", d.GuildID, d.DeleteAt.Format(time.DateOnly)))
	}
	return check{"retention", "ok", detail + "pending deletions (add the bot back to cancel one): " + strings.Join(parts, ", ")}
}

// isKeyError reports whether opening the installation failed because of
// the keys rather than the database.
func isKeyError(err error) bool {
	for _, k := range []error{keys.ErrNotFound, keys.ErrPermissions, keys.ErrCorrupt, keys.ErrMasterKeyMismatch,
		keys.ErrClearKeysetWithMasterKey, keys.ErrMasterKeyRequired, keys.ErrWrongKeys} {
		if errors.Is(err, k) {
			return true
		}
	}
	return strings.Contains(err.Error(), "no keys in")
}

func diskCheck(cfg *config.Config) check {
	free, err := diskfree.Available(cfg.Storage.DataDir)
	if err != nil {
		return check{"disk", "warn", "free space unknown: " + err.Error()}
	}
	detail := fmt.Sprintf("%s free in %s", humanSize(int64(free)), cfg.Storage.DataDir)
	switch {
	case free < diskFailBelow:
		return check{"disk", "fail", detail + ": the database cannot grow; free some space"}
	case free < diskWarnBelow:
		return check{"disk", "warn", detail + ": running low"}
	}
	return check{"disk", "ok", detail}
}

func backupCheck(cfg *config.Config) check {
	at, path, err := backups.Last(cfg)
	if err != nil {
		return check{"backup", "warn", "cannot tell when the last backup was made: " + err.Error()}
	}
	if at.IsZero() {
		if cfg.Backup.Interval == 0 {
			return check{"backup", "warn", "no backup yet, and scheduled backups are off (backup.interval): run 'bot backup'"}
		}
		return check{"backup", "warn", "no backup yet; 'bot run' makes one every " + cfg.Backup.Interval.String()}
	}
	age := time.Since(at).Round(time.Minute)
	detail := fmt.Sprintf("last %s ago: %s", age, filepath.Base(path))
	if cfg.Backup.Interval > 0 && age > 2*cfg.Backup.Interval {
		return check{"backup", "fail", detail + fmt.Sprintf("; older than twice backup.interval (%s): check the bot's log for backup errors", cfg.Backup.Interval)}
	}
	return check{"backup", "ok", detail}
}

// verificationCheck reports the last full verification of the records.
func verificationCheck(cfg *config.Config, now time.Time) check {
	v, err := datadir.LastVerification(cfg)
	if err != nil {
		return check{"records", "warn", err.Error()}
	}
	if v == nil {
		return check{"records", "warn", "never fully verified: run 'bot audit verify' (scheduled backups also do)"}
	}
	when := fmt.Sprintf("last full verification %s ago (%s)", now.Sub(v.At).Round(time.Minute), v.By)
	switch {
	case !v.OK:
		return check{"records", "fail", when + ": FAILED: " + v.Problem + "; run 'bot audit verify', and restore a backup from before the change"}
	case v.Unsealed:
		return check{"records", "warn", when + fmt.Sprintf(": chain of %d entries intact; the records predate sealing ('bot run' seals them)", v.Entries)}
	}
	return check{"records", "ok", when + fmt.Sprintf(": chain of %d entries and %d records intact", v.Entries, v.Records)}
}

func tokenCheck(ctx context.Context, cfg *config.Config, offline bool) check {
	if offline {
		return check{"token", "skip", "--offline"}
	}
	if err := cfg.RequireToken(); err != nil {
		return check{"token", "fail", err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	name, err := conn.CheckToken(ctx, cfg.Discord.APIURL, cfg.Discord.Token)
	if err != nil {
		return check{"token", "fail", err.Error()}
	}
	return check{"token", "ok", "accepted by Discord for " + name}
}

func readyCheck(ctx context.Context, cfg *config.Config) check {
	c, _ := probeReady(ctx, cfg)
	return c
}

// probeReady asks the running bot whether it is ready, and returns with
// the answer a warning check for each part that works only in part.
func probeReady(ctx context.Context, cfg *config.Config) (check, []check) {
	if cfg.HTTP.Listen == "" {
		return check{"bot", "skip", "http.listen is off"}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + cfg.HTTP.Listen + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return check{"bot", "fail", err.Error()}, nil
	}
	if cfg.HTTP.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.HTTP.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return check{"bot", "fail", fmt.Sprintf("nothing answers at %s: is 'bot run' running?", url)}, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode != http.StatusOK {
		return check{"bot", "fail", fmt.Sprintf("%s: %s", url, strings.TrimSpace(string(body)))}, nil
	}
	var warnings []check
	// What works only in part, such as a server where the bot may not read
	// the audit log, follows "ready".
	for _, line := range strings.Split(string(body), "\n") {
		if w, ok := strings.CutPrefix(line, "warning: "); ok {
			warnings = append(warnings, check{"audit log", "warn", w})
		}
	}
	return check{"bot", "ok", "running and connected (" + url + ")"}, warnings
}
