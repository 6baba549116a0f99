package cli

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/atomicfile"
	"github.com/modbot/bot/privacy"
	"github.com/modbot/bot/storage"
)

const privacyUsage = `
Usage: bot privacy export --guild ID --user ID [--out FILE] [-c FILE]
       bot privacy erase --guild ID --user ID [--all-guilds] [--yes] [-c FILE]
       bot privacy erase --all-guilds --user ID [--yes] [-c FILE]

For an owner answering a member's request that arrived outside Discord
(members ask in Discord with /privacy export; admins erase with
/privacy erase). Both need the bot stopped: they refuse while 'bot run'
holds the data directory, naming its process.

export  prints the JSON document /privacy export gives the member: every
        case about them in the guild (notes included), earlier reasons,
        and scheduled actions. Moderators are named only if the guild
        shows their names. --out FILE writes it there instead (mode 0600).

erase   shows what it will erase, asks you to type "erase" (--yes skips
        the question; without a terminal --yes is required), then erases
        every record about the member in the guild. With --all-guilds it
        erases them in every guild, the one --guild names among them
        (--guild may then be left out). A pending end of a timed ban or
        timeout is kept until it has run. The erasure is physical: the database and its WAL are
        rewritten so that none of the member's bytes remain, and the
        erasure is added to the data directory's erasure ledger, so that
        restoring an older backup erases the member again. Backups already
        on disk still hold the records until they are pruned
        ('bot backup --prune'). The bot being stopped, the modlog messages
        about the erased cases stay in Discord: erase prints them, to
        delete by hand.

Both open the database as 'bot run' does (applying pending migrations and
the erasure ledger).
`

// privacySubcommands lists the subcommands, for usage errors.
const privacySubcommands = "export or erase"

// privacyActor names the shell in the audit log.
const privacyActor = "cli"

func cmdPrivacy(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand: %s", privacySubcommands)
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		return parseFlags(e, newFlagSet("privacy"), privacyUsage, []string{"--help"})
	}
	if sub != "export" && sub != "erase" {
		return usagef("unknown subcommand %q: use %s", sub, privacySubcommands)
	}
	flags := newFlagSet("privacy " + sub)
	cfgPath := configFlag(flags)
	guild := flags.String("guild", "", "the guild (server) ID")
	user := flags.String("user", "", "the member's user ID")
	out := flags.String("out", "", "write the export to FILE instead of stdout (export)")
	all := flags.Bool("all-guilds", false, "erase the member's records in every guild (erase)")
	yes := flags.Bool("yes", false, "erase without asking (erase)")
	if err := parseFlags(e, flags, privacyUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return usagef("unexpected argument %q", flags.Arg(0))
	}
	if !isSnowflake(*user) {
		return usagef("--user %q: give the member's user ID (a number; in Discord, Developer Mode, right-click the member, Copy User ID)", *user)
	}
	orAll := ""
	if sub == "erase" {
		orAll = ", or --all-guilds"
	}
	switch {
	case sub == "export" && (*all || *yes):
		return usagef("--all-guilds and --yes go with 'bot privacy erase'")
	case sub == "erase" && *out != "":
		return usagef("--out goes with 'bot privacy export'")
	case (!*all || *guild != "") && !isSnowflake(*guild):
		return usagef("--guild %q: give the guild (server) ID, a number%s", *guild, orAll)
	}
	if *all {
		// Every guild includes the one --guild names: it only checks
		// that the owner meant a real ID.
		*guild = ""
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	lock, err := storage.Lock(cfg.Storage.DataDir)
	if err != nil {
		return fmt.Errorf("%w (with 'bot run' stopped, nothing else writes the records meanwhile; while it runs, members use /privacy in Discord)", err)
	}
	defer lock.Close()
	in, err := datadir.Open(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer in.Close()
	if sub == "export" {
		return exportMember(ctx, e, in, *guild, *user, *out)
	}
	return eraseMember(ctx, e, in, *guild, *user, *yes)
}

// isSnowflake reports whether s looks like a Discord ID.
func isSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// exportMember writes the member's export document to out, or stdout.
func exportMember(ctx context.Context, e *env, in *datadir.Installation, guildID, userID, out string) error {
	recs, err := storage.NewCases(in.DB, in.Keys).MemberRecords(ctx, guildID, userID)
	if err != nil {
		return err
	}
	settings, err := storage.NewGuilds(in.DB, in.Keys).Get(ctx, guildID)
	if err != nil {
		return err
	}
	own, err := storage.NewRetention(in.DB, in.Keys).GuildPeriod(ctx, guildID)
	if err != nil {
		return err
	}
	doc, err := privacy.Build(recs, privacy.Options{
		ShowModerators: settings.ShowModeratorNames, Now: e.clock(),
		Retention: storage.EffectivePeriod(in.Config.Retention.Cases, own),
	}).JSON()
	if err != nil {
		return err
	}
	if out == "" {
		_, err := e.stdout.Write(doc)
		return err
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(e.dir(), out)
	}
	if err := atomicfile.Write(out, doc, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "Wrote %s: %d %s and %d scheduled %s about the member in guild %s (mode 0600; it holds personal data, send it to the member only).\n",
		e.rel(out), len(recs.Cases), plural(len(recs.Cases), "case", "cases"),
		len(recs.Scheduled), plural(len(recs.Scheduled), "action", "actions"), guildID)
	return nil
}

// eraseMember previews, confirms and erases the member's records, then
// makes the erasure physical and durable.
func eraseMember(ctx context.Context, e *env, in *datadir.Installation, guildID, userID string, yes bool) error {
	cs := storage.NewCases(in.DB, in.Keys)
	guilds := []string{guildID}
	if guildID == "" {
		all, err := cs.AllForUser(ctx, userID)
		if err != nil {
			return err
		}
		guilds = nil
		for _, c := range all {
			if !slices.Contains(guilds, c.GuildID) {
				guilds = append(guilds, c.GuildID)
			}
		}
	}
	var lines []string
	total := 0
	for _, g := range guilds {
		p, err := cs.PreviewErase(ctx, g, userID)
		if err != nil {
			return err
		}
		total += p.Total() + p.KeptUnbans
		if p.Total() == 0 && p.KeptUnbans == 0 {
			continue
		}
		lines = append(lines, describePreview(g, p))
	}
	if total == 0 {
		where := "guild " + guildID
		if guildID == "" {
			where = "any guild"
		}
		fmt.Fprintf(e.stdout, "The records hold nothing about member %s in %s: nothing to erase.\n", userID, where)
		return nil
	}
	fmt.Fprintf(e.stdout, "This erases every record about member %s:\n", userID)
	report(e, lines)
	if !yes {
		if !e.stdinTerminal {
			return fmt.Errorf("not erased: confirm on a terminal, or pass --yes to erase without asking")
		}
		fmt.Fprint(e.stderr, "It cannot be undone. Type erase to erase them: ")
		line, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if strings.TrimSpace(line) != "erase" {
			return fmt.Errorf("not confirmed, so nothing was erased; run the command again and type erase, or pass --yes")
		}
	}
	res, err := cs.EraseMember(ctx, guildID, userID, privacyActor, e.clock(),
		func(erased []storage.Erasure) error { return datadir.AddToLedger(in, erased) })
	if err != nil {
		return err
	}
	// The WAL still holds the old versions of the erased pages.
	if err := in.DB.Checkpoint(ctx); err != nil {
		return fmt.Errorf("the records were erased, but the WAL still holds their old pages: %w; "+
			"the next start of 'bot run' empties it", err)
	}
	fmt.Fprintf(e.stdout, "Erased %d %s and %d earlier %s, and added the erasure to %s.\n",
		res.Cases, plural(res.Cases, "case", "cases"), res.History, plural(res.History, "reason", "reasons"), e.rel(datadir.LedgerPath(in.Config)))
	if res.KeptUnbans > 0 {
		fmt.Fprintf(e.stdout, "Kept %d pending %s: 'bot run' still carries %s out, then deletes %s.\n", res.KeptUnbans,
			plural(res.KeptUnbans, "end of a timed ban or timeout", "ends of timed bans or timeouts"),
			plural(res.KeptUnbans, "it", "them"), plural(res.KeptUnbans, "it", "them"))
	}
	if len(res.ModlogMessages) > 0 {
		fmt.Fprintln(e.stdout, "The bot is stopped, so these modlog messages about the erased cases remain in Discord; delete them by hand:")
		for _, m := range res.ModlogMessages {
			fmt.Fprintf(e.stdout, "- case #%d: channel %s, message %s (https://discord.com/channels/%s/%s/%s)\n",
				m.CaseNumber, m.ChannelID, m.MessageID, m.GuildID, m.ChannelID, m.MessageID)
		}
	}
	backupNote(e, in.Config)
	return nil
}

// describePreview words what an erasure in one guild covers.
func describePreview(guildID string, p storage.ErasePreview) string {
	kinds := make([]string, 0, len(p.Cases))
	for k := range p.Cases {
		kinds = append(kinds, string(k))
	}
	slices.Sort(kinds)
	var parts []string
	for _, k := range kinds {
		n := p.Cases[storage.CaseKind(k)]
		// Every kind's name takes an s in the plural: warnings, bans.
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, k, k+"s")))
	}
	s := fmt.Sprintf("guild %s: %d %s", guildID, p.Total(), plural(p.Total(), "case", "cases"))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	s += fmt.Sprintf(", %d earlier %s, %d modlog %s", p.History, plural(p.History, "reason", "reasons"),
		p.ModlogMessages, plural(p.ModlogMessages, "message", "messages"))
	if p.KeptUnbans > 0 {
		s += fmt.Sprintf("; %d pending %s kept until %s run", p.KeptUnbans,
			plural(p.KeptUnbans, "end of a timed ban or timeout is", "ends of timed bans or timeouts are"),
			plural(p.KeptUnbans, "it has", "they have"))
	}
	return s
}

// backupNote reminds the owner that backups still hold the records.
func backupNote(e *env, cfg *config.Config) {
	fmt.Fprintf(e.stdout, "Backups on disk (%s and any copies) still hold these records until they are removed; ", e.rel(cfg.Backup.Dir))
	if cfg.Retention.Cases > 0 {
		fmt.Fprintln(e.stdout, "'bot backup --prune' removes those older than retention.cases. Restoring one erases the member again.")
		return
	}
	fmt.Fprintln(e.stdout, "restoring one erases the member again.")
}
