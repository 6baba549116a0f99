package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

const completionUsage = `
Usage: bot completion bash|zsh|fish

Prints a script that completes bot's commands, subcommands and flags in
that shell, and file names where a command takes a file. To load it in the
running shell:

  source <(bot completion bash)
  source <(bot completion zsh)
  bot completion fish | source

To have it in every shell, save it as
/usr/share/bash-completion/completions/bot (bash), as _bot in a directory
of $fpath (zsh), or as ~/.config/fish/completions/bot.fish (fish). The
release archives and packages carry the three scripts.
`

// completionShells maps each shell to the writer of its script.
var completionShells = map[string]func(w io.Writer, cmds []*cmdNode){
	"bash": writeBashCompletion,
	"zsh":  writeZshCompletion,
	"fish": writeFishCompletion,
}

func cmdCompletion(ctx context.Context, e *env, args []string) error {
	// The shell comes first, as the usage shows it; flags may follow.
	var shell string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		shell, args = args[0], args[1:]
	}
	fs := newFlagSet("completion")
	noConfig := noConfigFlag(fs, "it prints a script made from the commands themselves")
	if err := parseFlags(e, fs, completionUsage, args); err != nil {
		return err
	}
	if err := noConfig(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	write, ok := completionShells[shell]
	switch {
	case shell == "":
		return usagef("name the shell: bash, zsh or fish")
	case !ok:
		return usagef("unknown shell %q: use bash, zsh or fish", shell)
	}
	cmds, _ := describeCommands()
	write(e.stdout, cmds)
	return nil
}

// cmdNode is a command, or one of its subcommands, as completion scripts
// and the manual page show it. It is read from the command itself: its
// usage text and the flag set it parses --help with (see probeHelp), so
// that neither can miss a subcommand or a flag the command has.
type cmdNode struct {
	// name is "keys" for a command and "status" for its subcommand.
	name string
	// summary is the command's line in 'bot --help', usage its --help
	// text. Commands only.
	summary string
	usage   string
	// flags are those the usage lines of this command (without a
	// subcommand) or subcommand show.
	flags []flagSpec
	// files is set when it takes a FILE argument.
	files bool
	// subs are the subcommands; subRequired is set when every usage line
	// names one.
	subs        []*cmdNode
	subRequired bool
}

// flagSpec is one flag, under each of its names (-c and --config are one).
type flagSpec struct {
	// names are as typed: "-c", "--config".
	names []string
	usage string
	// def is the default value, as --help shows it.
	def string
	// value is set for a flag that takes a value, which the usage lines
	// show as placeholder; files is set when that is FILE, choices when
	// they list the values (quick|full).
	value       bool
	placeholder string
	files       bool
	choices     []string
}

// sub returns the subcommand named name, or nil.
func (n *cmdNode) sub(name string) *cmdNode {
	for _, s := range n.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// subNames lists the subcommands' names.
func (n *cmdNode) subNames() []string {
	var out []string
	for _, s := range n.subs {
		out = append(out, s.name)
	}
	return out
}

// probeHelp runs bot with args followed by --help, and returns the flag
// set and usage text the command parsed them with. The context is already
// cancelled and the output discarded, in case a command did anything
// before parsing its flags.
func probeHelp(args ...string) (*flag.FlagSet, string, error) {
	var fs *flag.FlagSet
	var usage string
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: time.Now,
		helpProbe: func(f *flag.FlagSet, u string) { fs, usage = f, u }}
	if code := run(ctx, append(slices.Clone(args), "--help"), e); fs == nil {
		return nil, "", fmt.Errorf("'bot %s --help' showed no usage (exit status %d)", strings.Join(args, " "), code)
	}
	return fs, usage, nil
}

// describeCommands reads every command's usage text and flag sets. The
// problems are where the two disagree: a flag that no usage line shows, a
// usage line showing a flag the command does not have, or a command whose
// --help cannot be read. Completion goes on without what is wrong; the
// tests fail on any problem.
func describeCommands() (cmds []*cmdNode, problems []string) {
	for _, c := range commands() {
		n, p := describeCommand(c)
		problems = append(problems, p...)
		if n != nil {
			cmds = append(cmds, n)
		}
	}
	return cmds, problems
}

func describeCommand(c command) (*cmdNode, []string) {
	fs, usage, err := probeHelp(c.name)
	if err != nil {
		return nil, []string{err.Error()}
	}
	n := &cmdNode{name: c.name, summary: c.summary, usage: usage}
	var problems []string
	lines := synopsis(usage)
	if len(lines) == 0 {
		return n, []string{fmt.Sprintf("bot %s: the usage text has no \"Usage: bot %s\" line", c.name, c.name)}
	}
	var parsed []usageLine
	for _, l := range lines {
		u, err := parseUsageLine(l, c.name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		parsed = append(parsed, u)
	}
	// Every flag that a flag set of this command has must be on one of its
	// usage lines, under one of its names: keys' flag set is the same for
	// each subcommand, and each line shows the flags of one.
	shown := map[string]bool{}
	for _, u := range parsed {
		for name := range u.flags {
			shown[name] = true
		}
	}
	node := func(target *cmdNode, set *flag.FlagSet, sub string) {
		var mine []usageLine
		for _, u := range parsed {
			if slices.Contains(u.subs, sub) || sub == "" && len(u.subs) == 0 {
				mine = append(mine, u)
			}
		}
		specs, p := flagSpecs(set, mine, fmt.Sprintf("bot %s", strings.TrimSpace(c.name+" "+sub)))
		target.flags = specs
		problems = append(problems, p...)
		for _, u := range mine {
			target.files = target.files || slices.Contains(u.args, "FILE")
		}
		set.VisitAll(func(f *flag.Flag) {
			if f.Usage == "" || shown[f.Name] {
				return
			}
			for _, alias := range aliases(set, f) {
				if shown[alias.Name] {
					return
				}
			}
			p := fmt.Sprintf("bot %s: flag %s is on no usage line", c.name, dashed(f.Name))
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		})
	}
	n.subRequired = true
	for _, u := range parsed {
		if len(u.subs) == 0 {
			n.subRequired = false
		}
		for _, s := range u.subs {
			if n.sub(s) == nil {
				n.subs = append(n.subs, &cmdNode{name: s})
			}
		}
	}
	if len(n.subs) == 0 {
		n.subRequired = false
	}
	node(n, fs, "")
	for _, s := range n.subs {
		sfs, _, err := probeHelp(c.name, s.name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		node(s, sfs, s.name)
	}
	slices.Sort(problems)
	return n, problems
}

// aliases returns the other flags of fs with a usage text that set the
// same variable as f, as -c and --config do.
func aliases(fs *flag.FlagSet, f *flag.Flag) []*flag.Flag {
	var out []*flag.Flag
	fs.VisitAll(func(g *flag.Flag) {
		if g != f && g.Usage != "" && sameVariable(f, g) {
			out = append(out, g)
		}
	})
	return out
}

// sameVariable reports whether two flags set the same variable.
func sameVariable(f, g *flag.Flag) bool {
	a, b := reflect.ValueOf(f.Value), reflect.ValueOf(g.Value)
	return a.Kind() == reflect.Pointer && b.Kind() == reflect.Pointer && a.Type() == b.Type() && a.Pointer() == b.Pointer()
}

// dashed is a flag's name as typed: -c, --config.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagSpecs returns the flags of fs that lines show, each with its
// aliases. what names the command in problems.
func flagSpecs(fs *flag.FlagSet, lines []usageLine, what string) ([]flagSpec, []string) {
	var problems []string
	placeholder := map[string]string{}
	for _, u := range lines {
		for name, ph := range u.flags {
			f := fs.Lookup(name)
			switch {
			case f == nil || f.Usage == "":
				problems = append(problems, fmt.Sprintf("%s: a usage line shows %s, which the command does not take", what, dashed(name)))
				continue
			case isBoolFlag(f) && ph != "":
				problems = append(problems, fmt.Sprintf("%s: a usage line gives %s a value (%s), but it takes none", what, dashed(name), ph))
			case !isBoolFlag(f) && ph == "":
				problems = append(problems, fmt.Sprintf("%s: a usage line shows %s without the value it takes", what, dashed(name)))
			}
			placeholder[name] = ph
		}
	}
	var specs []flagSpec
	done := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" || done[f.Name] {
			return
		}
		group := append([]*flag.Flag{f}, aliases(fs, f)...)
		ph, shown := "", false
		for _, g := range group {
			done[g.Name] = true
			if p, ok := placeholder[g.Name]; ok {
				ph, shown = p, true
			}
		}
		if !shown {
			return
		}
		// Short names first: -c, --config.
		slices.SortStableFunc(group, func(a, b *flag.Flag) int { return len(a.Name) - len(b.Name) })
		s := flagSpec{usage: f.Usage, def: f.DefValue, value: !isBoolFlag(f), placeholder: ph, files: ph == "FILE"}
		for _, g := range group {
			s.names = append(s.names, dashed(g.Name))
		}
		if strings.Contains(ph, "|") {
			s.choices = strings.Split(ph, "|")
		}
		specs = append(specs, s)
	})
	return specs, problems
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// synopsis returns the usage lines of a usage text: the line that starts
// with "Usage:" (without it) and the indented "bot ..." lines under it.
func synopsis(usage string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimLeft(usage, "\n"), "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, "Usage:"); ok && len(out) == 0 {
			out = append(out, strings.TrimSpace(rest))
			continue
		}
		if len(out) > 0 && t != line && strings.HasPrefix(t, "bot ") {
			out = append(out, t)
			continue
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}

// usageLine is one usage line taken apart: "bot keys retire KEY_ID [-c
// FILE] [--destroy [--yes]]" has subs [retire], flags c (FILE), destroy
// and yes, and args [KEY_ID].
type usageLine struct {
	// subs are the subcommands the line is for: one, or the choices of
	// "bash|zsh|fish".
	subs []string
	// flags maps each flag's name to its value's placeholder, "" for a
	// flag that takes none.
	flags map[string]string
	args  []string
}

var subcommandWord = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

func parseUsageLine(line, name string) (usageLine, error) {
	u := usageLine{flags: map[string]string{}}
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "bot" || fields[1] != name {
		return u, fmt.Errorf("bot %s: usage line %q does not start with \"bot %s\"", name, line, name)
	}
	fields = fields[2:]
	if len(fields) > 0 {
		words := strings.Split(fields[0], "|")
		if !slices.ContainsFunc(words, func(w string) bool { return !subcommandWord.MatchString(w) }) {
			u.subs, fields = words, fields[1:]
		}
	}
	clean := func(s string) string { return strings.Trim(s, "[]()") }
	for i := 0; i < len(fields); i++ {
		raw := fields[i]
		tok := clean(raw)
		switch {
		case tok == "" || tok == "|" || tok == "..." || tok == "…":
		case strings.HasPrefix(tok, "-"):
			flagName := strings.TrimLeft(tok, "-")
			ph := ""
			// A value follows a flag within the same brackets: "[-c FILE]",
			// "--cases N", not "[--json]" or "--serve [--env-file FILE]".
			if !strings.ContainsAny(raw[len(raw)-1:], "])") && i+1 < len(fields) {
				next := fields[i+1]
				if !strings.ContainsAny(next[:1], "-[(|") {
					ph = clean(next)
					i++
				}
			}
			u.flags[flagName] = ph
		default:
			u.args = append(u.args, tok)
		}
	}
	return u, nil
}

// topFlags are the flags that may come before the command.
var topFlags = []flagSpec{
	{names: []string{"-c", "--config"}, usage: "config file, for the commands that read one", value: true, files: true},
	{names: []string{"-h", "--help"}, usage: "list the commands"},
	{names: []string{"-v", "--version"}, usage: "print the version"},
}

// helpFlag is the flag every command takes.
var helpFlag = flagSpec{names: []string{"--help"}, usage: "show the command's usage"}

// commandWords lists the commands, and help.
func commandWords(cmds []*cmdNode) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.name)
	}
	return append(out, "help")
}

func writeBashCompletion(w io.Writer, cmds []*cmdNode) {
	io.WriteString(w, `# bash completion for bot, written by 'bot completion bash'. Load it with
#   source <(bot completion bash)
# or save it as /usr/share/bash-completion/completions/bot.

# _bot_reply sets COMPREPLY to what compgen "$@" prints, one per line.
_bot_reply() {
    local w
    COMPREPLY=()
    while IFS= read -r w; do
        COMPREPLY+=("$w")
    done < <(compgen "$@")
}

# _bot_files completes the file names that start with $1.
_bot_files() {
    compopt -o filenames 2>/dev/null
    _bot_reply -f -- "$1"
}

_bot() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=''
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    local i=1 cmd='' sub='' key='' subs='' flags='' files='' words=''
    # The configuration may come before the command: bot -c FILE run.
    while (( i < COMP_CWORD )); do
        case ${COMP_WORDS[i]} in
        -c|--config|-config) i=$((i + 2)) ;;
        -*) i=$((i + 1)) ;;
        *) break ;;
        esac
    done
    if (( i < COMP_CWORD )); then
        cmd=${COMP_WORDS[i]}
        i=$((i + 1))
    fi
    case $cmd in
`)
	for _, c := range cmds {
		if len(c.subs) > 0 {
			fmt.Fprintf(w, "    %s) subs=%s ;;\n", c.name, bashQuote(strings.Join(c.subNames(), " ")))
		}
	}
	io.WriteString(w, `    esac
    if [[ -n $subs ]] && (( i < COMP_CWORD )) && [[ " $subs " == *" ${COMP_WORDS[i]} "* ]]; then
        sub=${COMP_WORDS[i]}
        i=$((i + 1))
    fi
    key=$cmd${sub:+ $sub}
    # The value of a flag.
    case "$key|$prev" in
`)
	valueCase := func(key string, flags []flagSpec) {
		for _, f := range flags {
			if !f.value {
				continue
			}
			var pats []string
			for _, n := range f.names {
				pats = append(pats, bashQuote(key+"|"+n))
			}
			action := "return 0"
			switch {
			case f.files:
				action = `_bot_files "$cur"; return 0`
			case len(f.choices) > 0:
				action = fmt.Sprintf(`_bot_reply -W %s -- "$cur"; return 0`, bashQuote(strings.Join(f.choices, " ")))
			}
			fmt.Fprintf(w, "    %s) %s ;;\n", strings.Join(pats, "|"), action)
		}
	}
	valueCase("", topFlags)
	for _, c := range cmds {
		valueCase(c.name, c.flags)
		for _, s := range c.subs {
			valueCase(c.name+" "+s.name, s.flags)
		}
	}
	io.WriteString(w, `    esac
    case $key in
`)
	flagsCase := func(key string, n *cmdNode) {
		var names []string
		for _, f := range append(slices.Clone(n.flags), helpFlag) {
			names = append(names, f.names...)
		}
		files := ""
		if n.files {
			files = "; files=1"
		}
		fmt.Fprintf(w, "    %s) flags=%s%s ;;\n", bashQuote(key), bashQuote(strings.Join(names, " ")), files)
	}
	for _, c := range cmds {
		flagsCase(c.name, c)
		for _, s := range c.subs {
			flagsCase(c.name+" "+s.name, s)
		}
	}
	var top []string
	for _, f := range topFlags {
		top = append(top, f.names...)
	}
	fmt.Fprintf(w, `    esac
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            words=%s
        else
            words=%s
        fi
    elif [[ $cmd == help ]]; then
        (( i == COMP_CWORD )) && words=%[2]s
    elif [[ -n $subs && -z $sub && $cur != -* ]] && (( i == COMP_CWORD )); then
        words=$subs
    elif [[ $cur == -* ]]; then
        words=$flags
    elif [[ -n $files ]]; then
        _bot_files "$cur"
        return 0
    fi
    _bot_reply -W "$words" -- "$cur"
}

complete -F _bot bot
`, bashQuote(strings.Join(top, " ")), bashQuote(strings.Join(commandWords(cmds), " ")))
}

// bashQuote quotes s for bash and zsh, in single quotes.
func bashQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeZshCompletion(w io.Writer, cmds []*cmdNode) {
	io.WriteString(w, `#compdef bot
# zsh completion for bot, written by 'bot completion zsh'. Save it as _bot
# in a directory of $fpath, or load it with
#   source <(bot completion zsh)

_bot() {
    local curcontext=$curcontext state line
    _arguments -C \
`)
	for _, spec := range zshFlagSpecs(topFlags) {
		fmt.Fprintf(w, "        %s \\\n", spec)
	}
	io.WriteString(w, `        '1:command:_bot_commands' \
        '*::arg:->args'
    [[ $state == args ]] || return
    case $words[1] in
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s) _bot_%s ;;\n", c.name, zshName(c.name))
	}
	io.WriteString(w, `    help) (( CURRENT == 2 )) && _bot_commands ;;
    esac
}

_bot_commands() {
    local -a commands
    commands=(
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "        %s\n", bashQuote(zshEscape(c.name, ":")+":"+c.summary))
	}
	io.WriteString(w, `        'help:show the usage of a command'
    )
    _describe -t commands command commands
}
`)
	leaf := func(fn string, n *cmdNode) {
		fmt.Fprintf(w, "\n%s() {\n    _arguments \\\n", fn)
		specs := zshFlagSpecs(append(slices.Clone(n.flags), helpFlag))
		if n.files {
			specs = append(specs, `'*:file:_files'`)
		}
		fmt.Fprintf(w, "        %s\n}\n", strings.Join(specs, " \\\n        "))
	}
	for _, c := range cmds {
		fn := "_bot_" + zshName(c.name)
		if len(c.subs) == 0 {
			leaf(fn, c)
			continue
		}
		fmt.Fprintf(w, "\n%s() {\n    local curcontext=$curcontext state line\n    _arguments -C \\\n", fn)
		specs := zshFlagSpecs(append(slices.Clone(c.flags), helpFlag))
		colon := ":"
		if !c.subRequired {
			colon = "::"
		}
		specs = append(specs, bashQuote("1"+colon+"subcommand:("+strings.Join(c.subNames(), " ")+")"), `'*::arg:->args'`)
		fmt.Fprintf(w, "        %s\n", strings.Join(specs, " \\\n        "))
		io.WriteString(w, "    [[ $state == args ]] || return\n    case $words[1] in\n")
		for _, s := range c.subs {
			fmt.Fprintf(w, "    %s) %s_%s ;;\n", s.name, fn, zshName(s.name))
		}
		io.WriteString(w, "    esac\n}\n")
		for _, s := range c.subs {
			leaf(fn+"_"+zshName(s.name), s)
		}
	}
	io.WriteString(w, `
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _bot "$@"
else
    compdef _bot bot
fi
`)
}

// zshName turns a command's name into part of a function name.
func zshName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// zshEscape puts a backslash before each of chars, and before backslashes.
func zshEscape(s, chars string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || strings.ContainsRune(chars, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// zshFlagSpecs returns _arguments' specifications of flags, quoted.
func zshFlagSpecs(flags []flagSpec) []string {
	var out []string
	for _, f := range flags {
		exclude := ""
		if len(f.names) > 1 {
			exclude = "(" + strings.Join(f.names, " ") + ")"
		}
		action := ""
		if f.value {
			switch {
			case f.files:
				action = ":file:_files"
			case len(f.choices) > 0:
				action = ":value:(" + strings.Join(f.choices, " ") + ")"
			default:
				action = ":value: "
			}
		}
		for _, n := range f.names {
			out = append(out, bashQuote(exclude+n+"["+zshEscape(f.usage, "[]:")+"]"+action))
		}
	}
	return out
}

func writeFishCompletion(w io.Writer, cmds []*cmdNode) {
	io.WriteString(w, `# fish completion for bot, written by 'bot completion fish'. Save it as
# ~/.config/fish/completions/bot.fish, or load it with
#   bot completion fish | source

# __bot_args prints the words typed after bot, without a configuration
# given before the command (bot -c FILE run).
function __bot_args
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -c --config -config
                set -e words[1]
                set -q words[1]; and set -e words[1]
            case '-*'
                set -e words[1]
            case '*'
                break
        end
    end
    for w in $words
        echo -- $w
    end
end

# __bot_none: no command typed yet.
function __bot_none
    test (count (__bot_args)) -eq 0
end

# __bot_at CMD SUB...: the command is CMD, and the word after it none of
# its subcommands SUB.
function __bot_at
    set -l words (__bot_args)
    set -q words[1]; and test "$words[1]" = "$argv[1]"; or return 1
    set -q words[2]; or return 0
    not contains -- $words[2] $argv[2..-1]
end

# __bot_next CMD: the command is CMD and nothing follows it yet.
function __bot_next
    set -l words (__bot_args)
    test (count $words) -eq 1; and test "$words[1]" = "$argv[1]"
end

# __bot_sub CMD SUB: the command is CMD with its subcommand SUB.
function __bot_sub
    set -l words (__bot_args)
    set -q words[2]; and test "$words[1]" = "$argv[1]"; and test "$words[2]" = "$argv[2]"
end

complete -c bot -f
`)
	flags := func(cond string, specs []flagSpec) {
		for _, f := range specs {
			var b strings.Builder
			fmt.Fprintf(&b, "complete -c bot -n %s", fishQuote(cond))
			for _, n := range f.names {
				if strings.HasPrefix(n, "--") {
					fmt.Fprintf(&b, " -l %s", n[2:])
				} else {
					fmt.Fprintf(&b, " -s %s", n[1:])
				}
			}
			if f.value {
				switch {
				case f.files:
					b.WriteString(" -r -F")
				case len(f.choices) > 0:
					fmt.Fprintf(&b, " -x -a %s", fishQuote(strings.Join(f.choices, " ")))
				default:
					b.WriteString(" -x")
				}
			}
			fmt.Fprintf(&b, " -d %s\n", fishQuote(f.usage))
			io.WriteString(w, b.String())
		}
	}
	io.WriteString(w, "\n# Commands.\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "complete -c bot -n __bot_none -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	io.WriteString(w, "complete -c bot -n __bot_none -a help -d 'show the usage of a command'\n")
	flags("__bot_none", topFlags)
	fmt.Fprintf(w, "complete -c bot -n '__bot_next help' -a %s\n", fishQuote(strings.Join(commandWords(cmds)[:len(cmds)], " ")))
	for _, c := range cmds {
		fmt.Fprintf(w, "\n# bot %s\n", c.name)
		at := strings.TrimSpace("__bot_at " + c.name + " " + strings.Join(c.subNames(), " "))
		if len(c.subs) > 0 {
			fmt.Fprintf(w, "complete -c bot -n %s -a %s\n", fishQuote("__bot_next "+c.name), fishQuote(strings.Join(c.subNames(), " ")))
		}
		flags(at, append(slices.Clone(c.flags), helpFlag))
		if c.files {
			fmt.Fprintf(w, "complete -c bot -n %s -F\n", fishQuote(at))
		}
		for _, s := range c.subs {
			cond := "__bot_sub " + c.name + " " + s.name
			flags(cond, append(slices.Clone(s.flags), helpFlag))
			if s.files {
				fmt.Fprintf(w, "complete -c bot -n %s -F\n", fishQuote(cond))
			}
		}
	}
}

// fishQuote quotes s for fish, in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
