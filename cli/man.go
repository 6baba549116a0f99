package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/datadir"
)

const manUsage = `
Usage: bot man

Prints the manual page of bot, section 1, in roff: every command with the
usage text its --help shows, the files, the environment variables and the
exit status. Read it with

  bot man | man -l -

or save it as /usr/share/man/man1/bot.1. The release archives and packages
carry it as bot.1.
`

func cmdMan(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("man")
	noConfig := noConfigFlag(fs, "it prints a page made from the commands' usage texts")
	if err := parseFlags(e, fs, manUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cmds, _ := describeCommands()
	writeMan(e.stdout, cmds, e.build)
	return nil
}

// roff writes roff source: requests, and text escaped so that it prints
// as given.
type roff struct{ w io.Writer }

// req writes a request (macro) line: r.req("SH", "NAME") is ".SH NAME".
func (r roff) req(name string, args ...string) {
	line := "." + name
	for _, a := range args {
		line += " " + a
	}
	fmt.Fprintln(r.w, line)
}

// line writes a line of text, already escaped (see esc), so that it
// cannot be read as a request.
func (r roff) line(s string) {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	fmt.Fprintln(r.w, s)
}

// text writes plain text, escaped.
func (r roff) text(s string) { r.line(esc(s)) }

// esc escapes s for roff: a backslash, and the characters that groff
// would print as typographic ones (a hyphen, curly quotes) where a reader
// copying a command needs the ASCII ones. Other characters beyond ASCII
// are named by code point, so the page needs no input encoding.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\(rs`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '\'':
			b.WriteString(`\(aq`)
		case r == '`':
			b.WriteString(`\(ga`)
		case r == '^':
			b.WriteString(`\(ha`)
		case r == '~':
			b.WriteString(`\(ti`)
		case r == '\t':
			b.WriteString(" ")
		case r > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// quoted is a request's argument, escaped and in double quotes.
func quoted(s string) string { return `"` + strings.ReplaceAll(esc(s), `"`, `\(dq`) + `"` }

// Font changes in text: bold and italic, back to regular.
func bold(s string) string   { return `\fB` + esc(s) + `\fR` }
func italic(s string) string { return `\fI` + esc(s) + `\fR` }

func writeMan(w io.Writer, cmds []*cmdNode, build BuildInfo) {
	r := roff{w}
	date := ""
	if t, err := time.Parse(time.RFC3339, build.Date); err == nil {
		date = t.UTC().Format(time.DateOnly)
	}
	fmt.Fprintln(w, `.\" The manual page of bot, written by 'bot man' from the usage texts of its commands.`)
	r.req("TH", "BOT", "1", quoted(date), quoted("bot "+build.Version), quoted("User Commands"))
	// Commands, flags and paths must not be hyphenated, and read better
	// without the gaps of justified lines.
	r.req("nh")
	r.req("ad", "l")

	r.req("SH", "NAME")
	r.line(`bot \- ` + esc(strings.TrimSuffix(strings.TrimPrefix(usageIntro, "bot: "), ".")))

	r.req("SH", "SYNOPSIS")
	r.line(bold("bot") + " " + italic("COMMAND") + " [" + italic("flags") + "]")
	r.req("br")
	r.line(bold("bot") + " " + italic("COMMAND") + " " + bold("--help"))
	r.req("br")
	r.line(bold("bot") + " " + bold("--help"))

	r.req("SH", "DESCRIPTION")
	r.req("PP")
	r.line(bold("bot") + " is " + esc(strings.TrimPrefix(usageIntro, "bot: ")) + " Its commands:")
	r.req("PD", "0")
	for _, c := range cmds {
		r.req("TP", "12")
		r.line(bold(c.name))
		r.text(c.summary)
	}
	r.req("PD")
	r.req("PP")
	for _, l := range strings.Split(strings.TrimSpace(usageNotes), "\n") {
		r.text(l)
	}

	r.req("SH", "COMMANDS")
	for _, c := range cmds {
		writeManCommand(r, c)
	}

	writeManFiles(r)
	writeManEnvironment(r)

	r.req("SH", quoted("EXIT STATUS"))
	r.req("TP", "4")
	r.line(bold("0"))
	r.text("Success; for 'bot health', a healthy installation.")
	r.req("TP")
	r.line(bold("1"))
	r.text("Failure, explained on standard error; for 'bot health', an unhealthy installation, and for 'bot audit verify', a log or record changed outside the bot.")
	r.req("TP")
	r.line(bold("2"))
	r.text("Bad usage: an unknown command, subcommand or flag, or a missing argument.")

	r.req("SH", quoted("SEE ALSO"))
	r.text("README.md, docs/operating.md and config.example.toml, in the release archives; 'bot COMMAND --help' for one command.")
}

// writeManCommand writes the subsection of one command: its usage lines,
// the rest of its usage text and its flags.
func writeManCommand(r roff, c *cmdNode) {
	r.req("SS", quoted("bot "+c.name))
	if summary := []rune(c.summary); len(summary) > 0 {
		summary[0] = unicode.ToUpper(summary[0])
		r.req("PP")
		r.text(string(summary) + ".")
	}
	r.req("PP")
	lines := synopsis(c.usage)
	for i, l := range lines {
		if i > 0 {
			r.req("br")
		}
		r.line(manSynopsisLine(l, c))
	}
	writeManText(r, usageBody(c.usage))

	// The flags of the command and its subcommands, once each; a flag
	// that means something else in a subcommand is listed again, for it.
	type entry struct {
		flagSpec
		sub string
	}
	var flags []entry
	for _, n := range append([]*cmdNode{c}, c.subs...) {
		for _, f := range n.flags {
			if !slices.ContainsFunc(flags, func(g entry) bool { return slices.Equal(f.names, g.names) && f.usage == g.usage }) {
				sub := ""
				if n != c {
					sub = n.name
				}
				flags = append(flags, entry{f, sub})
			}
		}
	}
	slices.SortStableFunc(flags, func(a, b entry) int {
		return strings.Compare(strings.TrimLeft(a.names[len(a.names)-1], "-"), strings.TrimLeft(b.names[len(b.names)-1], "-"))
	})
	if len(flags) == 0 {
		return
	}
	r.req("PP")
	r.text("Flags:")
	for _, f := range flags {
		r.req("TP", "4")
		var names []string
		for _, n := range f.names {
			names = append(names, bold(n))
		}
		tag := strings.Join(names, ", ")
		if f.value {
			tag += " " + italic(f.placeholder)
		}
		same := 0
		for _, g := range flags {
			if slices.Equal(f.names, g.names) {
				same++
			}
		}
		if same > 1 && f.sub != "" {
			tag += " (" + esc(f.sub) + ")"
		}
		r.line(tag)
		text := f.usage
		if f.def != "" && f.def != "false" {
			text += " (default " + f.def + ")"
		}
		r.text(text)
	}
}

// manSynopsisLine sets a usage line in roff: the command in bold, the
// placeholders (FILE, ID) in italics.
func manSynopsisLine(line string, c *cmdNode) string {
	fields := strings.Fields(line)
	n := 2
	if len(fields) > 2 && c.sub(strings.Split(fields[2], "|")[0]) != nil {
		n = 3
	}
	n = min(n, len(fields))
	var b strings.Builder
	b.WriteString(bold(strings.Join(fields[:n], " ")))
	depth := 0
	for _, f := range fields[n:] {
		// What brackets group stays on one line: "[-c FILE]".
		if depth > 0 {
			b.WriteString(`\ `)
		} else {
			b.WriteString(" ")
		}
		depth += strings.Count(f, "[") + strings.Count(f, "(") - strings.Count(f, "]") - strings.Count(f, ")")
		b.WriteString(placeholderWord.ReplaceAllStringFunc(esc(f), func(p string) string { return `\fI` + p + `\fR` }))
	}
	return b.String()
}

// placeholderWord is an upper-case word in a usage line, such as FILE or
// KEY_ID.
var placeholderWord = regexp.MustCompile(`\b[A-Z][A-Z_]*[A-Z]\b`)

// usageBody returns a usage text without its usage lines.
func usageBody(usage string) string {
	lines := strings.Split(strings.TrimLeft(usage, "\n"), "\n")
	n := len(synopsis(usage))
	return strings.Join(lines[min(n, len(lines)):], "\n")
}

// writeManText sets the body of a usage text: paragraphs, lists of terms
// ("status     shows the keysets..."), bullets ("  - writes ...") and
// indented commands. A block it cannot read is kept as it is, unfilled.
func writeManText(r roff, text string) {
	var blocks [][]string
	var block []string
	for _, l := range append(strings.Split(text, "\n"), "") {
		l = strings.TrimRight(l, " \t")
		if l != "" {
			block = append(block, l)
			continue
		}
		if len(block) > 0 {
			blocks = append(blocks, block)
		}
		block = nil
	}
	parsed := make([][]manItem, len(blocks))
	width := 0
	for i, b := range blocks {
		parsed[i] = manBlockItems(b)
		for _, it := range parsed[i] {
			if it.kind == "term" {
				width = max(width, len(it.term)+2)
			}
		}
	}
	// The terms of one text line up, as in --help, up to a width past
	// which a term goes on a line of its own.
	width = min(width, 14)
	for i, items := range parsed {
		if items == nil {
			r.req("PP")
			r.req("nf")
			for _, l := range blocks[i] {
				r.text(l)
			}
			r.req("fi")
			continue
		}
		writeManItems(r, items, width)
	}
}

// manItem is part of a block: a line of prose, a term and its text, a
// bullet, or a line of a command.
type manItem struct {
	kind string // "prose", "term", "bullet" or "code"
	term string
	text []string
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// gapAt returns where the first run of two or more spaces after the
// indentation starts and ends, or -1.
func gapAt(s string) (start, end int) {
	i := indentOf(s)
	j := strings.Index(s[i:], "  ")
	if j < 0 {
		return -1, -1
	}
	start = i + j
	end = start
	for end < len(s) && s[end] == ' ' {
		end++
	}
	return start, end
}

// manBlockItems reads a block of lines, or returns nil.
func manBlockItems(block []string) []manItem {
	// Lines of prose may lead into a list: "Sets up a bot...:" above
	// "  - writes config.toml...".
	lead := 0
	for lead < len(block) {
		l := block[lead]
		if start, _ := gapAt(l); indentOf(l) > 0 || start > 0 {
			break
		}
		if !strings.Contains(l, " ") && lead+1 < len(block) && indentOf(block[lead+1]) > 0 {
			break // a term alone on its line, its text below
		}
		lead++
	}
	items := make([]manItem, 0, len(block))
	for _, l := range block[:lead] {
		items = append(items, manItem{kind: "prose", text: []string{l}})
	}
	if lead < len(block) {
		rest, ok := manItems(block[lead:])
		if !ok {
			return nil
		}
		items = append(items, rest...)
	}
	return items
}

func writeManItems(r roff, items []manItem, width int) {
	for i, it := range items {
		prev := ""
		if i > 0 {
			prev = items[i-1].kind
		}
		switch it.kind {
		case "prose":
			if prev != "prose" {
				r.req("PP")
			}
		case "term":
			r.req("TP", fmt.Sprint(width))
			r.line(bold(it.term))
		case "bullet":
			r.req("IP", `\(bu`, "2")
		case "code":
			if prev != "code" {
				r.req("PP")
				r.req("RS", fmt.Sprint(codeIndent(items[i:])))
				r.req("nf")
			}
		}
		for _, t := range it.text {
			r.text(strings.TrimSpace(t))
		}
		if it.kind == "code" && (i+1 == len(items) || items[i+1].kind != "code") {
			r.req("fi")
			r.req("RE")
		}
	}
}

// codeIndent is how far to indent the lines of a command that start items:
// as in --help, unless a line would then not fit in 80 columns, with the
// page's own indentation of 7.
func codeIndent(items []manItem) int {
	for _, it := range items {
		if it.kind != "code" {
			break
		}
		if len(it.text[0]) > 80-7-2 {
			return 0
		}
	}
	return 2
}

// manItems reads the list part of a block. Items start at the block's
// smallest indentation; deeper lines continue the item above. It returns
// false for a block it cannot read.
func manItems(block []string) ([]manItem, bool) {
	base := indentOf(block[0])
	for _, l := range block {
		base = min(base, indentOf(l))
	}
	type raw struct {
		first string
		more  []string
	}
	var raws []raw
	for _, l := range block {
		if indentOf(l) > base {
			if len(raws) == 0 {
				return nil, false
			}
			raws[len(raws)-1].more = append(raws[len(raws)-1].more, l)
			continue
		}
		raws = append(raws, raw{first: l})
	}
	// The column where the terms' text starts, to read a term followed by
	// a single space ("retention how long...").
	col := -1
	for _, rw := range raws {
		if len(rw.more) > 0 {
			col = indentOf(rw.more[0])
			break
		}
	}
	for _, rw := range raws {
		if _, end := gapAt(rw.first); col < 0 && end > 0 {
			col = end
		}
	}
	var items []manItem
	for _, rw := range raws {
		t := strings.TrimSpace(rw.first)
		start, end := gapAt(rw.first)
		switch {
		case base > 0 && strings.HasPrefix(t, "- "):
			items = append(items, manItem{kind: "bullet", text: append([]string{t[2:]}, rw.more...)})
		case start > 0 && (base > 0 || len(rw.more) > 0 || looksLikeTerm(rw.first[:start])):
			items = append(items, manItem{kind: "term", term: strings.TrimSpace(rw.first[:start]),
				text: append([]string{rw.first[end:]}, rw.more...)})
		case len(rw.more) > 0 && !strings.Contains(t, " "):
			items = append(items, manItem{kind: "term", term: t, text: rw.more})
		case col > base && len(rw.first) > col && rw.first[col-1] == ' ' && rw.first[col] != ' ':
			items = append(items, manItem{kind: "term", term: strings.TrimSpace(rw.first[:col]),
				text: append([]string{rw.first[col:]}, rw.more...)})
		case len(rw.more) > 0:
			return nil, false
		case base > 0:
			items = append(items, manItem{kind: "code", text: []string{t}})
		default:
			items = append(items, manItem{kind: "prose", text: []string{t}})
		}
	}
	return items, true
}

// looksLikeTerm reports whether the start of a line, before a run of
// spaces, is a term rather than prose: a single word.
func looksLikeTerm(s string) bool {
	return !strings.Contains(strings.TrimSpace(s), " ")
}

func writeManFiles(r roff) {
	r.req("SH", "FILES")
	r.req("TP")
	r.line(italic(config.DefaultFile))
	r.text("The configuration, in the working directory unless -c/--config names another file. 'bot init' writes it from the documented example. The packages install it as /etc/bot/config.toml, which an upgrade never overwrites.")
	r.req("TP")
	r.line(italic("/etc/bot/bot.env"))
	r.text("The environment of the packaged service (bot.service): BOT_DISCORD_TOKEN and any other variable of ENVIRONMENT.")
	r.req("TP")
	r.line(italic("data_dir"))
	r.text(`The data directory that storage.data_dir names: "data" beside the configuration by default, /var/lib/bot for the packaged service. It holds:`)
	r.req("RS")
	r.req("TP")
	r.line(italic(datadir.DBFile))
	r.text("The database, with its -wal and -shm files while the bot runs.")
	r.req("TP")
	r.line(italic(datadir.KeysDir + "/"))
	r.text("The encryption keys (mode 0600). Without them the records cannot be read: keep a copy apart from the backups.")
	r.req("TP")
	r.line(italic("backups/"))
	r.text("Backups, unless backup.dir names another directory.")
	r.req("RE")
	r.req("TP")
	r.line(italic("master.key"))
	r.text("The master key that 'bot init --master-key' creates beside the configuration, if keys.master_key_file names it.")
}

func writeManEnvironment(r roff) {
	r.req("SH", "ENVIRONMENT")
	r.req("PP")
	r.text("Every setting of the configuration file can be given as an environment variable instead, which wins over the file; a flag wins over both. The variable is BOT_ and the setting's section and name in capitals: storage.data_dir is BOT_STORAGE_DATA_DIR. A BOT_ variable that names no setting is refused. config.example.toml explains each setting.")
	width := 0
	for _, key := range config.Keys() {
		width = max(width, len(settingEnvName(key))+2)
	}
	r.req("PP")
	r.req("PD", "0")
	for _, key := range config.Keys() {
		r.req("TP", fmt.Sprint(width))
		r.line(bold(settingEnvName(key)))
		r.line(italic(key))
	}
	r.req("PD")
	r.req("TP")
	r.line(bold(passphraseEnv))
	r.text("The passphrase of the keys in a backup made with 'bot backup --with-keys', for 'bot backup' and 'bot restore' in scripts; without it they ask on the terminal.")
}

// settingEnvName is the environment variable that sets a configuration
// key, as config reads it.
func settingEnvName(key string) string {
	return "BOT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
