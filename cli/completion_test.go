package cli

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// TestDescribeCommands: the usage lines of every command and the flags it
// parses agree, so that completion and the manual page, made from both,
// miss nothing.
func TestDescribeCommands(t *testing.T) {
	cmds, problems := describeCommands()
	for _, p := range problems {
		t.Error(p)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, c.name)
	}
	if want := commandNames(); !slices.Equal(got, want) {
		t.Errorf("commands got=%v, want %v", got, want)
	}
	keys := findNode(t, cmds, "keys", "status")
	if !slices.ContainsFunc(keys.flags, func(f flagSpec) bool { return slices.Equal(f.names, []string{"-c", "--config"}) }) ||
		!slices.ContainsFunc(keys.flags, func(f flagSpec) bool { return slices.Equal(f.names, []string{"--json"}) }) ||
		slices.ContainsFunc(keys.flags, func(f flagSpec) bool { return f.names[0] == "--batch" }) {
		t.Errorf("keys status flags got=%+v, want -c/--config and --json, not --batch (not on its usage line)", keys.flags)
	}
	verify := findNode(t, cmds, "backup", "")
	i := slices.IndexFunc(verify.flags, func(f flagSpec) bool { return f.names[0] == "--verify" })
	if i < 0 || !slices.Equal(verify.flags[i].choices, []string{"quick", "full"}) || !verify.files {
		t.Errorf("backup got=%+v, want --verify quick|full and FILE arguments", verify)
	}
}

func TestDescribeFindsProblems(t *testing.T) {
	fs := newFlagSet("x")
	configFlag(fs)
	fs.Bool("json", false, "print as JSON")
	fs.String("out", "", "where")
	var problems []string
	for _, line := range []string{"bot x [-c FILE] [--nope] [--json X] [--out]"} {
		u, err := parseUsageLine(line, "x")
		if err != nil {
			t.Fatal(err)
		}
		_, p := flagSpecs(fs, []usageLine{u}, "bot x")
		problems = append(problems, p...)
	}
	want := []string{"shows --nope, which", "gives --json a value (X)", "shows --out without the value"}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("problems got=%q, want one with %q", problems, w)
		}
	}
	if _, err := parseUsageLine("bot y status", "x"); err == nil {
		t.Error("a usage line for another command was taken")
	}
}

func TestParseUsageLine(t *testing.T) {
	tests := []struct {
		line  string
		subs  []string
		flags map[string]string
		args  []string
	}{
		{"bot keys retire KEY_ID [-c FILE] [--destroy [--yes]]", []string{"retire"},
			map[string]string{"c": "FILE", "destroy": "", "yes": ""}, []string{"KEY_ID"}},
		{"bot keys change-master-key [-c FILE] (--new-file FILE | --remove)", []string{"change-master-key"},
			map[string]string{"c": "FILE", "new-file": "FILE", "remove": ""}, nil},
		{"bot backup [-c FILE] [--with-keys] [--verify quick|full] [--json] [FILE]", nil,
			map[string]string{"c": "FILE", "with-keys": "", "verify": "quick|full", "json": ""}, []string{"FILE"}},
		{"bot demo --serve [--env-file FILE]", nil, map[string]string{"serve": "", "env-file": "FILE"}, nil},
		{"bot completion bash|zsh|fish", []string{"bash", "zsh", "fish"}, map[string]string{}, nil},
		{"bot demo invoke [--env-file FILE] --as WHO /COMMAND [SUB] [NAME:VALUE ...]", []string{"invoke"},
			map[string]string{"env-file": "FILE", "as": "WHO"}, []string{"/COMMAND", "SUB", "NAME:VALUE"}},
	}
	for _, tt := range tests {
		name := strings.Fields(tt.line)[1]
		u, err := parseUsageLine(tt.line, name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.subs, tt.subs) || !maps.Equal(u.flags, tt.flags) || !slices.Equal(u.args, tt.args) {
			t.Errorf("%s: got subs=%q flags=%q args=%q, want %q %q %q", tt.line, u.subs, u.flags, u.args, tt.subs, tt.flags, tt.args)
		}
	}
}

// TestCompletionSubcommandsMatchDispatch reads each command's dispatch in
// the source: every string it compares its first argument with (sub ==
// "rotate", case "seed":) must be a subcommand that completion offers, and
// every subcommand offered must be one of them. A subcommand added to a
// command but not to its usage text fails here.
func TestCompletionSubcommandsMatchDispatch(t *testing.T) {
	dispatched := dispatchedSubcommands(t)
	dispatched["completion"] = slices.Sorted(maps.Keys(completionShells))
	if len(dispatched["keys"]) < 7 || !slices.Contains(dispatched["alerts"], "test") || !slices.Contains(dispatched["demo"], "invoke") {
		t.Fatalf("the source scan found %v: it no longer reads the dispatch", dispatched)
	}
	cmds, _ := describeCommands()
	for _, c := range cmds {
		got := slices.Sorted(slices.Values(c.subNames()))
		want := dispatched[c.name]
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("bot %s: completion offers subcommands %q, the dispatch knows %q (name each on a usage line)", c.name, got, want)
		}
	}
}

// dispatchedSubcommands maps each command to the strings its function
// compares its first argument with, other than flags.
func dispatchedSubcommands(t *testing.T) map[string][]string {
	t.Helper()
	funcs := map[string]string{}
	for _, c := range commands() {
		r := []rune(c.name)
		funcs["cmd"+string(unicode.ToUpper(r[0]))+string(r[1:])] = c.name
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || funcs[fn.Name.Name] == "" || fn.Body == nil {
				continue
			}
			name := funcs[fn.Name.Name]
			holds := map[string]bool{} // variables set to args[0]
			isFirst := func(e ast.Expr) bool {
				if id, ok := e.(*ast.Ident); ok {
					return holds[id.Name]
				}
				ix, ok := e.(*ast.IndexExpr)
				if !ok {
					return false
				}
				x, ok1 := ix.X.(*ast.Ident)
				lit, ok2 := ix.Index.(*ast.BasicLit)
				return ok1 && ok2 && x.Name == "args" && lit.Value == "0"
			}
			add := func(e ast.Expr) {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && s != "" && !strings.HasPrefix(s, "-") && !slices.Contains(out[name], s) {
					out[name] = append(out[name], s)
				}
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for i, r := range n.Rhs {
						if id, ok := n.Lhs[i].(*ast.Ident); ok && i < len(n.Lhs) && isFirst(r) {
							holds[id.Name] = true
						}
					}
				case *ast.BinaryExpr:
					if n.Op == token.EQL || n.Op == token.NEQ {
						if isFirst(n.X) {
							add(n.Y)
						}
						if isFirst(n.Y) {
							add(n.X)
						}
					}
				case *ast.SwitchStmt:
					if n.Tag != nil && isFirst(n.Tag) {
						for _, s := range n.Body.List {
							for _, e := range s.(*ast.CaseClause).List {
								add(e)
							}
						}
					}
				}
				return true
			})
		}
	}
	return out
}

func TestCompletionCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"Bash", []string{"completion", "bash"}, exitOK, "complete -F _bot bot", ""},
		{"Zsh", []string{"completion", "zsh"}, exitOK, "#compdef bot", ""},
		{"Fish", []string{"completion", "fish"}, exitOK, "complete -c bot -f", ""},
		{"Help", []string{"completion", "--help"}, exitOK, "Usage: bot completion bash|zsh|fish", ""},
		{"ShellHelp", []string{"completion", "bash", "--help"}, exitOK, "Usage: bot completion bash|zsh|fish", ""},
		{"NoShell", []string{"completion"}, exitUsage, "", "name the shell: bash, zsh or fish"},
		{"UnknownShell", []string{"completion", "tcsh"}, exitUsage, "", `unknown shell "tcsh": use bash, zsh or fish`},
		{"Extra", []string{"completion", "bash", "zsh"}, exitUsage, "", `unexpected argument "zsh"`},
		{"Config", []string{"completion", "bash", "-c", "x.toml"}, exitUsage, "", "this command reads no configuration file"},
		{"ConfigBefore", []string{"-c", "x.toml", "completion", "bash"}, exitUsage, "", "this command reads no configuration file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, t.TempDir(), nil, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr",
					code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// completionCase is a command line typed up to the cursor, and the
// candidates a shell should offer there.
type completionCase struct {
	line string
	want []string
	// zsh, when set, is what zsh offers instead: with nothing else to
	// complete, it lists the flags.
	zsh []string
}

// completionCases covers every command, subcommand and flag, and the
// values and files completed after them. Completion runs in dir, which
// holds snap.db and notes.txt.
func completionCases(t *testing.T) []completionCase {
	cmds, _ := describeCommands()
	cases := []completionCase{
		{"bot ", commandWords(cmds), nil},
		{"bot ke", []string{"keys"}, nil},
		{"bot -", []string{"-c", "--config", "-h", "--help", "-v", "--version"}, nil},
		{"bot -c x.toml mig", []string{"migrate"}, nil},
		{"bot --config x.toml keys ", findNode(t, cmds, "keys", "").subNames(), nil},
		{"bot help ver", []string{"version"}, nil},
		{"bot keys reencrypt --b", []string{"--batch"}, nil},
		{"bot keys status ", nil, []string{"-c", "--config", "--json", "--help"}},
		{"bot backup --verify ", []string{"quick", "full"}, nil},
		{"bot restore sn", []string{"snap.db"}, nil},
		{"bot backup -c no", []string{"notes.txt"}, nil},
		{"bot keys change-master-key --new-file sn", []string{"snap.db"}, nil},
	}
	for _, c := range cmds {
		nodes := map[string]*cmdNode{"bot " + c.name: c}
		if len(c.subs) > 0 {
			cases = append(cases, completionCase{"bot " + c.name + " ", c.subNames(), nil})
		}
		for _, s := range c.subs {
			nodes["bot "+c.name+" "+s.name] = s
		}
		for line, n := range nodes {
			var want []string
			for _, f := range append(slices.Clone(n.flags), helpFlag) {
				for _, name := range f.names {
					if strings.HasPrefix(name, "--") {
						want = append(want, name)
					}
				}
			}
			cases = append(cases, completionCase{line + " --", want, nil})
		}
	}
	return cases
}

func findNode(t *testing.T, cmds []*cmdNode, name, sub string) *cmdNode {
	t.Helper()
	for _, c := range cmds {
		if c.name != name {
			continue
		}
		if sub == "" {
			return c
		}
		if s := c.sub(sub); s != nil {
			return s
		}
	}
	t.Fatalf("no command %q %q", name, sub)
	return nil
}

// completionScript writes the script for shell into a new directory that
// also holds the files that cases complete, and returns both paths.
func completionScript(t *testing.T, shell, file string) (dir, script string) {
	t.Helper()
	code, out, errOut := runCLI(t, t.TempDir(), nil, "completion", shell)
	if code != exitOK {
		t.Fatalf("bot completion %s: exit %d, %s", shell, code, errOut)
	}
	dir = t.TempDir()
	for _, f := range []string{"snap.db", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scripts := t.TempDir()
	script = filepath.Join(scripts, file)
	if err := os.WriteFile(script, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, script
}

// needShell returns the path of shell, or skips the test. bash is needed
// in CI; zsh and fish are checked where they are installed.
func needShell(t *testing.T, shell string) string {
	t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		if shell == "bash" && os.Getenv("CI") == "true" {
			t.Fatalf("bash is not installed: %v", err)
		}
		t.Skipf("%s is not installed", shell)
	}
	return path
}

func checkCompletions(t *testing.T, shell string, cases []completionCase, got map[string][]string) {
	t.Helper()
	for _, c := range cases {
		g := slices.Sorted(slices.Values(got[c.line]))
		g = slices.Compact(g)
		want := c.want
		if shell == "zsh" && c.zsh != nil {
			want = c.zsh
		}
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(g, w) {
			t.Errorf("%s: %q completes to %q, want %q", shell, c.line, g, w)
		}
	}
}

func TestCompletionBash(t *testing.T) {
	bash := needShell(t, "bash")
	dir, script := completionScript(t, "bash", "bot.bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, "-s", "bash", script).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	}
	cases := completionCases(t)
	// One bash answers every case: COMP_WORDS as bash splits the line,
	// the reply on one line after the case's number.
	var b strings.Builder
	b.WriteString("source " + bashQuote(script) + "\n")
	for i, c := range cases {
		words := strings.Fields(c.line)
		if strings.HasSuffix(c.line, " ") {
			words = append(words, "")
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, bashQuote(w))
		}
		fmt.Fprintf(&b, "COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); _bot; echo \"%d:${COMPREPLY[*]}\"\n",
			strings.Join(quoted, " "), len(words)-1, i)
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", b.String())
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		n, reply, ok := strings.Cut(line, ":")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i >= len(cases) {
			t.Fatalf("bash printed %q", line)
		}
		got[cases[i].line] = strings.Fields(reply)
	}
	checkCompletions(t, "bash", cases, got)
}

// zshCapture types a line in an interactive zsh on a pseudo-terminal,
// presses Tab, and prints each candidate that the completion system adds.
const zshCapture = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd () { local -a hits; builtin compadd -O hits "$@"; local h; for h in $hits; do print; print -r -- "HIT=$h=TIH"; done; builtin compadd "$@" }'
zpty -w z 'comppostfuncs=(finish); finish() { print; print -r -- "DONE""MARK"; }'
zpty -w z "$2"$'\t'
while zpty -r z line; do
  [[ $line == *DONEMARK* ]] && break
  if [[ $line == HIT=*=TIH* ]]; then h=${line#HIT=}; print -r -- "${h%%=TIH*}"; fi
done
zpty -d z
`

func TestCompletionZsh(t *testing.T) {
	zsh := needShell(t, "zsh")
	dir, script := completionScript(t, "zsh", "_bot")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	cases := completionCases(t)
	// Each case needs a zsh of its own; a few run at once.
	outs := make([][]string, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i, c := range cases {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, zsh, "-f", "-c", zshCapture, "zsh", filepath.Dir(script), c.line)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME="+dir)
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("zsh for %q: %v\n%s", c.line, err, out)
			}
			outs[i] = strings.Fields(string(out))
		})
	}
	wg.Wait()
	got := map[string][]string{}
	for i, c := range cases {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got[c.line] = outs[i]
	}
	checkCompletions(t, "zsh", cases, got)
}

func TestCompletionFish(t *testing.T) {
	fish := needShell(t, "fish")
	dir, script := completionScript(t, "fish", "bot.fish")
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	cases := completionCases(t)
	var b strings.Builder
	b.WriteString("source " + fishQuote(script) + "\n")
	for i, c := range cases {
		fmt.Fprintf(&b, "for w in (complete -C %s); echo %d:(string split -f1 \\t -- $w); end; echo %d:\n", fishQuote(c.line), i, i)
	}
	cmd := exec.Command(fish, "--no-config", "-c", b.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		n, word, ok := strings.Cut(line, ":")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i >= len(cases) {
			t.Fatalf("fish printed %q", line)
		}
		if word != "" {
			got[cases[i].line] = append(got[cases[i].line], word)
		}
	}
	checkCompletions(t, "fish", cases, got)
}
