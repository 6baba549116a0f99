package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// collectSrc is a package that builds its messages in every way collect
// must follow.
const collectSrc = `package p

import ("errors"; "fmt"; "log/slog")

const hint = "restore the keys from a backup"

var closeCodes = map[int]string{
	4004: "Discord rejected the token: copy it again",
	4010: "invalid shard",
}

type lockedError struct{ dir string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("the data directory %s is in use; stop it first", e.dir)
}

type rejected struct{}

func (rejected) Fix() string { return "copy the URL again" }

type check struct{ Name, Status, Detail string }

type Warning struct{ Message string }

type monitor struct{}

func (monitor) markSince(c, holds bool, detail string) {}

func f(path string, err error, log *slog.Logger, code int) []error {
	advice := "use the keys that belong to this database"
	part := ", or --all-guilds"
	if path == "" {
		part = ""
	}
	msg := closeCodes[code]
	c := check{Name: "disk"}
	c.Detail = "free in " + path + ": the database cannot grow; free some space"
	_ = []check{{"backup", "warn", "no backup yet: run 'bot backup'"}}
	log.Warn("no READY in time; check the network", slog.Any("err", err))
	monitor{}.markSince(true, true, fmt.Sprintf("down for %s. Check the network.", path))
	_ = append([]Warning{}, Warning{Message: fmt.Sprintf("%s is readable; run: chmod 600 %s", path, path)})
	return []error{
		errors.New("plain"),
		fmt.Errorf("load %s: %w; %s", path, err, hint),
		fmt.Errorf("check: %w; %s", err, advice),
		fmt.Errorf("--guild %q: give the ID%s", path, part),
		fmt.Errorf("gateway closed with code %d: %s", code, msg),
		fmt.Errorf("100%% of %q; run 'bot audit verify'", path),
		usagef("--verify %q: use quick " + "or full", path),
	}
}

func usagef(format string, a ...any) error { return fmt.Errorf(format, a...) }
`

func TestCollect(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", collectSrc, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range collect(fset, []*ast.File{f}) {
		got = append(got, m.text)
	}
	for _, want := range []string{
		"the data directory … is in use; stop it first",        // Error method
		"copy the URL again",                                   // Fix method
		"free in …: the database cannot grow; free some space", // a health check's detail
		"no backup yet: run 'bot backup'",                      // check{…}
		"no READY in time; check the network",                  // logger
		"… is readable; run: chmod 600 …",                      // a configuration warning
		"down for …. Check the network.",                       // an alert's detail
		"plain",                                                // errors.New
		"load …: …; restore the keys from a backup",            // a package constant in place
		"check: …; use the keys that belong to this database",  // a local variable in place
		"--guild …: give the ID…",                              // bound twice: a placeholder...
		", or --all-guilds",                                    // ...and its strings on their own
		"gateway closed with code …: …",                        // a map lookup: a placeholder...
		"Discord rejected the token: copy it again",            // ...and the map's strings
		"invalid shard",
		"100% of …; run 'bot audit verify'", // %% and %q
		"--verify …: use quick or full",     // usagef, a sum of literals
	} {
		if !slices.Contains(got, want) {
			t.Errorf("collect missed %q; it found:\n%s", want, strings.Join(got, "\n"))
		}
	}
}
