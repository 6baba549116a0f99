package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/modbot/bot/config"
)

// manPage runs 'bot man' and returns the page.
func manPage(t *testing.T) string {
	t.Helper()
	code, out, errOut := runCLI(t, t.TempDir(), nil, "man")
	if code != exitOK {
		t.Fatalf("bot man: exit %d, %s", code, errOut)
	}
	return out
}

// unroff turns roff source back into its words, as one line: requests
// dropped, escapes read, spaces collapsed.
func unroff(t *testing.T, src string) string {
	t.Helper()
	var words []string
	named := map[string]string{`\(aq`: "'", `\(ga`: "`", `\(rs`: `\`, `\(ha`: "^", `\(ti`: "~", `\(dq`: `"`, `\(bu`: ""}
	escape := regexp.MustCompile(`\\(f[BIR]|-|&|\(..|\[u[0-9A-F]{4,6}\]| )`)
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, ".") {
			continue
		}
		line = escape.ReplaceAllStringFunc(line, func(e string) string {
			switch {
			case e == `\-`:
				return "-"
			case e == `\ `:
				return " "
			case e == `\&` || strings.HasPrefix(e, `\f`):
				return ""
			case strings.HasPrefix(e, `\[u`):
				n, err := strconv.ParseUint(e[3:len(e)-1], 16, 32)
				if err != nil {
					t.Fatal(err)
				}
				return string(rune(n))
			}
			s, ok := named[e]
			if !ok {
				t.Errorf("unknown escape %q in %q", e, line)
			}
			return s
		})
		words = append(words, strings.Fields(line)...)
	}
	return " " + strings.Join(words, " ") + " "
}

// TestManHasEveryUsage: every line of every command's --help text, and
// every flag's description, is on the page.
func TestManHasEveryUsage(t *testing.T) {
	page := manPage(t)
	if !strings.HasPrefix(page, `.\"`) || !strings.Contains(page, "\n.TH BOT 1 ") {
		t.Fatalf("page does not start as a section 1 page:\n%.300s", page)
	}
	text := unroff(t, page)
	cmds, _ := describeCommands()
	if len(cmds) != len(commands()) {
		t.Fatalf("described %d commands, want %d", len(cmds), len(commands()))
	}
	for _, want := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "FILES", "ENVIRONMENT", `"EXIT STATUS"`, `"SEE ALSO"`} {
		if !strings.Contains(page, "\n.SH "+want+"\n") {
			t.Errorf("no section %s", want)
		}
	}
	for _, c := range cmds {
		if !strings.Contains(page, "\n.SS \"bot "+c.name+"\"\n") {
			t.Errorf("no subsection for bot %s", c.name)
		}
		for _, line := range strings.Split(c.usage, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Usage:"))
			line = strings.TrimPrefix(line, "- ")
			if line == "" {
				continue
			}
			if want := " " + strings.Join(strings.Fields(line), " ") + " "; !strings.Contains(text, want) {
				t.Errorf("bot %s: the page lacks the usage line %q", c.name, line)
			}
		}
		for _, n := range append([]*cmdNode{c}, c.subs...) {
			for _, f := range n.flags {
				if !strings.Contains(text, " "+strings.Join(strings.Fields(f.usage), " ")) {
					t.Errorf("bot %s: the page lacks flag %s: %q", c.name, f.names[0], f.usage)
				}
			}
		}
	}
	for _, key := range config.Keys() {
		if !strings.Contains(text, " "+settingEnvName(key)+" "+key+" ") {
			t.Errorf("ENVIRONMENT lacks %s", settingEnvName(key))
		}
	}
}

// TestManEnvironmentNames: the variables the page names are those config
// reads.
func TestManEnvironmentNames(t *testing.T) {
	var environ []string
	for _, key := range config.Keys() {
		environ = append(environ, settingEnvName(key)+"=")
	}
	_, _, err := config.Load(config.Source{Environ: environ, WorkDir: t.TempDir()})
	if err != nil && strings.Contains(err.Error(), "unknown") {
		t.Errorf("config refuses a variable the page names: %v", err)
	}
	_, _, err = config.Load(config.Source{Environ: []string{"BOT_NOT_A_SETTING=1"}, WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("an unknown variable: got %v, want it refused (the check above relies on it)", err)
	}
}

// manRequests are the requests the page may use.
var manRequests = map[string]bool{
	`.\"`: true, ".TH": true, ".SH": true, ".SS": true, ".PP": true, ".TP": true, ".IP": true,
	".RS": true, ".RE": true, ".nf": true, ".fi": true, ".br": true, ".PD": true, ".nh": true, ".ad": true,
}

// TestManEscapes: no line of text can be read as a request, and each
// backslash starts an escape the page means.
func TestManEscapes(t *testing.T) {
	page := manPage(t)
	escape := regexp.MustCompile(`\\(f[BIR]|-|&|\(..|\[u[0-9A-F]{4,6}\]| )`)
	for i, line := range strings.Split(strings.TrimSuffix(page, "\n"), "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			req, _, _ := strings.Cut(line, " ")
			if !manRequests[req] {
				t.Errorf("line %d: %q starts with a request the page does not use", i+1, line)
			}
			if req == `.\"` {
				continue
			}
		}
		for j := 0; j < len(line); j++ {
			switch c := line[j]; {
			case c > 127:
				t.Errorf("line %d: %q holds a character beyond ASCII", i+1, line)
			case c == '-' && (j == 0 || line[j-1] != '\\'):
				t.Errorf("line %d: %q holds an unescaped hyphen", i+1, line)
			case c == '\\':
				m := escape.FindStringIndex(line[j:])
				if m == nil || m[0] != 0 {
					t.Errorf("line %d: %q holds an unknown escape at %d", i+1, line, j)
					continue
				}
				j += m[1] - 1
			}
		}
	}
}

// TestManRenders renders the page with groff and man, where installed:
// groff warns of nothing, and man lays it out in 80 columns.
func TestManRenders(t *testing.T) {
	page := manPage(t)
	file := filepath.Join(t.TempDir(), "bot.1")
	if err := os.WriteFile(file, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("groff", func(t *testing.T) {
		groff, err := exec.LookPath("groff")
		if err != nil {
			t.Skip("groff is not installed")
		}
		var stderr bytes.Buffer
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", file)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff -man -Tutf8 -ww: %v\n%s", err, stderr.String())
		}
	})
	t.Run("man", func(t *testing.T) {
		man, err := exec.LookPath("man")
		if err != nil {
			t.Skip("man is not installed")
		}
		if _, err := exec.LookPath("groff"); err != nil {
			t.Skip("groff is not installed, for man to render with")
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(man, "-l", file)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("man -l: %v\n%s", err, stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{"BOT(1)", "bot keys status [-c FILE] [--json]", "-c, --config FILE", "BOT_DISCORD_TOKEN"} {
			if !strings.Contains(out, want) {
				t.Errorf("man -l output lacks %q", want)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if n := len([]rune(line)); n > 80 {
				t.Errorf("a line of %d columns: %q", n, line)
			}
		}
	})
}

func TestManCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"Help", []string{"man", "--help"}, exitOK, "Usage: bot man", ""},
		{"Extra", []string{"man", "1"}, exitUsage, "", `unexpected argument "1"`},
		{"Config", []string{"man", "--config", "x.toml"}, exitUsage, "", "this command reads no configuration file"},
		{"ConfigBefore", []string{"-c", "x.toml", "man"}, exitUsage, "", "this command reads no configuration file"},
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
	t.Run("Stamp", func(t *testing.T) {
		var out bytes.Buffer
		writeMan(&out, nil, BuildInfo{Version: "1.2.3", Date: "2026-03-04T05:06:07Z"})
		if want := "\n.TH BOT 1 \"2026\\-03\\-04\" \"bot 1.2.3\" \"User Commands\"\n"; !strings.Contains(out.String(), want) {
			t.Errorf("got %.200q, want %q", out.String(), want)
		}
	})
}

// TestManText sets the shapes that usage texts take.
func TestManText(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"Prose", "Prints the link.\n.dotted start, 'quoted', back\\slash.\n",
			".PP\nPrints the link.\n\\&.dotted start, \\(aqquoted\\(aq, back\\(rsslash.\n"},
		{"TermsAtMargin", "status     shows the keysets: their IDs,\n           and the files.\ngenerate-master-key\n           prints a new key.\n",
			".TP 14\n\\fBstatus\\fR\nshows the keysets: their IDs,\nand the files.\n.TP 14\n\\fBgenerate\\-master\\-key\\fR\nprints a new key.\n"},
		{"IndentedTermsOneSpaceShort", "  config    the configuration loads\n  retention how long records are kept,\n            and more\n",
			".TP 11\n\\fBconfig\\fR\nthe configuration loads\n.TP 11\n\\fBretention\\fR\nhow long records are kept,\nand more\n"},
		{"LeadAndBullets", "Sets up a bot:\n  - writes config.toml;\n  - creates the data\n    directory.\n",
			".PP\nSets up a bot:\n.IP \\(bu 2\nwrites config.toml;\n.IP \\(bu 2\ncreates the data\ndirectory.\n"},
		{"Commands", "  bot demo invoke --as moderator /case view number:1\n",
			".PP\n.RS 2\n.nf\nbot demo invoke \\-\\-as moderator /case view number:1\n.fi\n.RE\n"},
		{"Unreadable", "    deeper first\n  then shallower\n",
			".PP\n.nf\n    deeper first\n  then shallower\n.fi\n"},
		{"Unicode", "… and é\n", ".PP\n\\[u2026] and \\[u00E9]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeManText(roff{&b}, tt.text)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
