package docscheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/modbot/bot/cli"
)

// guideName is the operator's guide, relative to the module root, and
// guidePath the same relative to this package.
const (
	guideName = "docs/operating.md"
	guidePath = root + "/" + guideName
)

// troubleshooting is the heading of the guide's section whose tables list
// the messages.
const troubleshooting = "## Troubleshooting"

func readGuide(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(guidePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// row is a line of a troubleshooting table.
type row struct {
	msg    string // the message, normalised
	advice string // what to do
	line   int    // in the guide
}

// codeCell returns the text of a table cell that is one code span, in
// single or double backticks (for a message that holds a backtick).
func codeCell(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	for _, q := range []string{"`` ", "`"} {
		end := q
		if q == "`` " {
			end = " ``"
		}
		if len(cell) > len(q)+len(end) && strings.HasPrefix(cell, q) && strings.HasSuffix(cell, end) {
			inner := cell[len(q) : len(cell)-len(end)]
			if q == "`" && strings.Contains(inner, "`") {
				continue
			}
			return inner, true
		}
	}
	return "", false
}

// troubleshootingRows returns the rows of the tables in the guide's
// troubleshooting section whose first cell is a code span. A row whose
// first cell is not one, other than a table's heading and rule, is an
// error: it would be neither checked nor found.
func troubleshootingRows(t *testing.T, guide string) []row {
	t.Helper()
	var rows []row
	in := false
	for i, line := range strings.Split(guide, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == troubleshooting
			continue
		case !in || !strings.HasPrefix(line, "|"):
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 2 {
			t.Errorf("%s:%d: a troubleshooting row has two cells, message and what to do; this one has %d", guideName, i+1, len(cells))
			continue
		}
		msg, ok := codeCell(cells[0])
		if !ok {
			if h := strings.TrimSpace(cells[0]); h != "message" && strings.Trim(h, "-: ") != "" {
				t.Errorf("%s:%d: the first cell of a troubleshooting row must be the message in backticks: %s", guideName, i+1, h)
			}
			continue
		}
		rows = append(rows, row{normalise(msg), strings.TrimSpace(cells[1]), i + 1})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows under %q", guideName, troubleshooting)
	}
	return rows
}

// TestTroubleshootingTable keeps the guide's troubleshooting table and the
// code's messages in step: every message that tells the owner what to do
// (see advice) has a row, and every row is such a message.
func TestTroubleshootingTable(t *testing.T) {
	where := map[string][]string{}
	var order []string
	for _, m := range ownerMessages(t) {
		if !advice(m.text) {
			continue
		}
		if where[m.text] == nil {
			order = append(order, m.text)
		}
		where[m.text] = append(where[m.text], m.pos)
	}
	rows := troubleshootingRows(t, readGuide(t))
	seen := map[string]int{}
	for _, r := range rows {
		if at, dup := seen[r.msg]; dup {
			t.Errorf("%s:%d: the message %q has a row already, at line %d", guideName, r.line, r.msg, at)
		}
		seen[r.msg] = r.line
		if where[r.msg] == nil {
			t.Errorf("%s:%d: no message of the code reads %q any more (reworded, removed, or no longer telling what to do): update or remove the row",
				guideName, r.line, r.msg)
		}
		if a := normalise(strings.Trim(r.advice, "` ")); len(a) < 12 || a == r.msg {
			t.Errorf("%s:%d: the row of %q needs advice of its own in its second cell, not %q", guideName, r.line, r.msg, r.advice)
		}
	}
	var missing strings.Builder
	n := 0
	for _, text := range order {
		if _, ok := seen[text]; ok {
			continue
		}
		n++
		q := "`"
		if strings.Contains(text, "`") {
			q = "``"
			text = " " + text + " "
		}
		fmt.Fprintf(&missing, "| %s%s%s | WHAT TO DO |\n    (%s)\n", q, text, q, strings.Join(where[strings.TrimSpace(text)], ", "))
	}
	if n > 0 {
		t.Errorf("%s lacks a row for %d messages that tell the owner what to do; add under the right heading of %q:\n%s",
			guideName, n, troubleshooting, missing.String())
	}
	t.Logf("%d messages, %d rows", len(where), len(rows))
}

// helpOf runs 'bot ARGS --help' in-process and returns what it printed and
// its exit status.
func helpOf(t *testing.T, cache map[string]string, args ...string) (string, bool) {
	t.Helper()
	key := strings.Join(args, " ")
	if out, ok := cache[key]; ok {
		return out, out != ""
	}
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), append(slices.Clone(args), "--help"),
		cli.Env{Stdout: &stdout, Stderr: &stderr, WorkDir: t.TempDir()}, cli.BuildInfo{Version: "test"})
	out := ""
	if code == 0 {
		out = stdout.String()
	}
	cache[key] = out
	return out, code == 0
}

// subcommandsIn returns the subcommands a command's help names in its
// usage lines ("bot keys status …", "bot keys rotate …"), none for a
// command without subcommands. Alternatives on one line ("bot completion
// bash|zsh|fish") are each a subcommand.
func subcommandsIn(help, cmd string) []string {
	re := regexp.MustCompile(`(?m)^(?:Usage:)?\s*bot ` + regexp.QuoteMeta(cmd) + ` ([a-z][a-z-]*(?:\|[a-z][a-z-]*)*)\b`)
	var subs []string
	for _, m := range re.FindAllStringSubmatch(help, -1) {
		subs = append(subs, strings.Split(m[1], "|")...)
	}
	return subs
}

// flagsIn returns the flags a help text lists under "Flags:".
func flagsIn(help string) []string {
	_, list, ok := strings.Cut(help, "\nFlags:\n")
	if !ok {
		return nil
	}
	var flags []string
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "-") {
			flags = append(flags, f[0])
		}
	}
	return flags
}

// invocation is a bot command line the guide shows.
type invocation struct {
	span  string   // the code it was found in
	words []string // the command and subcommand, as far as given
	flags []string
}

// imageRE matches the image's name with a tag: its entrypoint is bot.
var imageRE = regexp.MustCompile(`^bot:[A-Za-z0-9._${}-]+$`)

// isBinary reports whether a word of a command line runs bot: its name or
// path, or the image.
func isBinary(w string) bool {
	return w == "bot" || w == "./bot" || w == "bin/bot" || strings.HasSuffix(w, "/bin/bot") || imageRE.MatchString(w)
}

// wordRE matches a command or subcommand name.
var wordRE = regexp.MustCompile(`^[a-z][a-z-]*$`)

// invocations finds the bot command lines in one piece of code: a code
// span, or a line of a code block.
func invocations(code string) []invocation {
	if i := strings.Index(code, " #"); i >= 0 {
		code = code[:i]
	}
	words := strings.Fields(code)
	var out []invocation
	for i := 0; i < len(words); i++ {
		w := words[i]
		// "sudo -u bot", "journalctl -u bot", "install -o bot -g bot" and
		// "docker compose exec bot bot health" name the user, the group or
		// the service, not the binary.
		if !isBinary(w) || i > 0 && slices.Contains([]string{"-u", "-g", "-o", "--name"}, words[i-1]) ||
			i+1 < len(words) && isBinary(words[i+1]) {
			continue
		}
		inv := invocation{span: code}
		for j := i + 1; j < len(words); j++ {
			a := strings.Trim(words[j], "[]()")
			switch {
			case a == "|" || a == "&&" || a == ";" || a == "||" || strings.HasPrefix(a, ">") || strings.HasPrefix(a, "<"):
				j = len(words)
			case strings.HasPrefix(a, "-") && len(a) > 1:
				f, _, _ := strings.Cut(a, "=")
				inv.flags = append(inv.flags, f)
				if (f == "-c" || f == "--config") && !strings.Contains(a, "=") {
					j++ // its value
				}
			case len(inv.words) < 2 && len(inv.flags) == 0 && wordRE.MatchString(a):
				inv.words = append(inv.words, a)
			}
		}
		out = append(out, inv)
	}
	return out
}

var (
	fenceRE    = regexp.MustCompile("(?ms)^[ \t]*```[a-z]*\n(.*?)^[ \t]*```")
	codeSpanRE = regexp.MustCompile("(?s)``([^`].*?)``|`([^`]+)`")
)

// codeOf returns each line of the guide's code blocks and each of its code
// spans outside them. The first cell of a troubleshooting row is left out:
// it quotes the code's message, which TestTroubleshootingTable checks.
func codeOf(guide string) []string {
	var kept []string
	in := false
	for _, line := range strings.Split(guide, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = line == troubleshooting
		}
		if in && strings.HasPrefix(line, "|") {
			if cells := strings.SplitN(strings.TrimPrefix(line, "|"), "|", 2); len(cells) == 2 {
				line = cells[1]
			}
		}
		kept = append(kept, line)
	}
	guide = strings.Join(kept, "\n")
	var code []string
	for _, m := range fenceRE.FindAllStringSubmatch(guide, -1) {
		code = append(code, strings.Split(m[1], "\n")...)
	}
	for _, m := range codeSpanRE.FindAllStringSubmatch(fenceRE.ReplaceAllString(guide, ""), -1) {
		code = append(code, strings.Join(strings.Fields(m[1]+m[2]), " "))
	}
	return code
}

// TestGuideCommands checks that every bot command, subcommand and flag the
// guide shows exists, by asking the command line itself for its help.
func TestGuideCommands(t *testing.T) {
	cache := map[string]string{}
	top, ok := helpOf(t, cache)
	if !ok {
		t.Fatal("bot --help failed")
	}
	// Every flag of every command and subcommand, for a flag the guide
	// names on its own.
	known := map[string]bool{}
	_, list, _ := strings.Cut(top, "Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		help, _ := helpOf(t, cache, f[0])
		for _, fl := range flagsIn(help) {
			known[fl] = true
		}
		for _, sub := range subcommandsIn(help, f[0]) {
			h, _ := helpOf(t, cache, f[0], sub)
			for _, fl := range flagsIn(h) {
				known[fl] = true
			}
		}
	}

	checked := 0
	for _, code := range codeOf(readGuide(t)) {
		if regexp.MustCompile(`^--?[a-z][a-z-]*$`).MatchString(code) {
			if !known[code] && code != "--help" {
				t.Errorf("`%s`: no command of bot takes this flag", code)
			}
			checked++
			continue
		}
		for _, inv := range invocations(code) {
			checked++
			if len(inv.words) == 0 {
				continue
			}
			cmd := inv.words[0]
			help, ok := helpOf(t, cache, cmd)
			if !ok {
				t.Errorf("`%s`: bot has no command %q", inv.span, cmd)
				continue
			}
			args := []string{cmd}
			if subs := subcommandsIn(help, cmd); len(subs) > 0 && len(inv.words) > 1 {
				if !slices.Contains(subs, inv.words[1]) {
					t.Errorf("`%s`: 'bot %s' has no subcommand %q (it has %s)", inv.span, cmd, inv.words[1], strings.Join(subs, ", "))
					continue
				}
				args = append(args, inv.words[1])
				help, _ = helpOf(t, cache, args...)
			}
			for _, f := range inv.flags {
				if f != "--help" && f != "-h" && !slices.Contains(flagsIn(help), f) {
					t.Errorf("`%s`: 'bot %s' takes no flag %s", inv.span, strings.Join(args, " "), f)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d bot commands and flags found in %s: is the parser still reading it?", checked, guideName)
	}
}

// keyFileWriteRE matches a shell line that writes a file named for keys:
// output redirected to it, or tar -f (-czf …) creating it.
var keyFileWriteRE = regexp.MustCompile(`(?:>\s*|\s-[a-z]*f\s+)[^\s|;&>]*key`)

// A copy of the keys or of the master key is everything an attacker needs
// beside a backup. Written by a shell with the usual umask (022, as sudo
// sets too) it is readable by every user of the machine until a chmod, if
// one comes at all: each command of the guide that writes one runs under
// umask 077.
func TestGuideKeyFilesPrivate(t *testing.T) {
	n := 0
	for _, line := range codeOf(readGuide(t)) {
		if !keyFileWriteRE.MatchString(line) {
			continue
		}
		n++
		if !strings.Contains(line, "umask 077") {
			t.Errorf("%s writes a key file readable by other users: run it under umask 077, as (umask 077; …):\n  %s", guideName, strings.TrimSpace(line))
		}
	}
	if n == 0 {
		t.Errorf("%s shows no command writing a copy of the keys or the master key: the test no longer finds them", guideName)
	}
}
