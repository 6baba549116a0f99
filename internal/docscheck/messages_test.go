package docscheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// root is the module's root, relative to this package.
const root = "../.."

// notOwnerFacing lists the code, relative to the module root, whose
// messages never reach the owner of an installation: the fake Discord and
// the scripted demo (and the cli files that run them, or a development
// installation), the benchmark data generator, the module's build tools,
// and the packages that exist only for tests: these checks, the upgrade
// data set's generator, the release and packaging checks, the browser
// tests' helpers. Everything else the binary runs is scanned, so a new
// package is covered without being listed.
var notOwnerFacing = []string{
	"discordtest/",
	"demo/",
	"cli/demo.go",
	"cli/dev.go",
	"storage/seed/",
	"tools/",
	"internal/layout/",
	"internal/docscheck/",
	"internal/upgradetest/",
	"internal/releasecheck/",
	"internal/packagingcheck/",
	"internal/chromiumtest/",
}

// message is a text an owner can read, as the code builds it: its literal
// parts, with "…" wherever a value is filled in.
type message struct {
	text string // normalised: see normalise
	pos  string // file:line, relative to the module root
}

// verbRE matches a fmt verb with its flags, width and precision.
var verbRE = regexp.MustCompile(`%[-+# 0]*(?:\d+|\*)?(?:\.(?:\d+|\*)?)?[a-zA-Z%]`)

// placeholder stands for every value a message is given at run time.
const placeholder = "…"

// normalise makes a message comparable with a row of the table: runs of
// white space (line breaks included) become one space, and a value filled
// in next to another becomes one placeholder.
func normalise(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for strings.Contains(s, placeholder+placeholder) {
		s = strings.ReplaceAll(s, placeholder+placeholder, placeholder)
	}
	return s
}

// fold returns the text of a string literal, or of a sum of them, and
// whether e is one.
func fold(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return fold(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, xok := fold(e.X)
		y, yok := fold(e.Y)
		return x + y, xok && yok
	}
	return "", false
}

// isCall reports whether call is pkg.name(…).
func isCall(call *ast.CallExpr, pkg, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// constructor tells whether call makes an error or logs a message for the
// owner, and if so whether its first argument is a format. The error
// constructors are errors.New, fmt.Errorf and cli's usagef; the log calls
// are the Error and Warn methods of a logger, whose message the owner
// reads in the bot's log.
func constructor(call *ast.CallExpr) (format, ok bool) {
	if len(call.Args) == 0 {
		return false, false
	}
	switch {
	case isCall(call, "errors", "New"):
		return false, true
	case isCall(call, "fmt", "Errorf"):
		return true, true
	}
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return true, fun.Name == "usagef"
	case *ast.SelectorExpr:
		if fun.Sel.Name == "Error" || fun.Sel.Name == "Warn" {
			return false, hasLiteral(call.Args[0])
		}
	}
	return false, false
}

// hasLiteral reports whether e is a string literal or a sum with one.
func hasLiteral(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.BinaryExpr:
		return e.Op == token.ADD && (hasLiteral(e.X) || hasLiteral(e.Y))
	}
	return false
}

// bindings maps a name to every expression assigned to it.
type bindings map[string][]ast.Expr

// bind records the names that node assigns, in a declaration or an
// assignment, with what they are given. `msg, ok := m[k]` binds msg to the
// index expression.
func (b bindings) bind(node ast.Node) {
	switch n := node.(type) {
	case *ast.AssignStmt:
		for i, l := range n.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			switch {
			case len(n.Rhs) == len(n.Lhs):
				b[id.Name] = append(b[id.Name], n.Rhs[i])
			case len(n.Rhs) == 1 && i == 0:
				b[id.Name] = append(b[id.Name], n.Rhs[0])
			}
		}
	case *ast.ValueSpec:
		for i, id := range n.Names {
			if i < len(n.Values) {
				b[id.Name] = append(b[id.Name], n.Values[i])
			}
		}
	}
}

// collector gathers the messages of one package.
type collector struct {
	fset *token.FileSet
	pkg  bindings // package-level constants and variables
	out  []message
}

// single returns the one expression name is bound to, in the function
// (local) or else in the package, or nil when it is bound to none or to
// several.
func (c *collector) single(name string, local bindings) ast.Expr {
	b := local[name]
	if len(b) == 0 {
		b = c.pkg[name]
	}
	if len(b) != 1 {
		return nil
	}
	return b[0]
}

// text renders a string expression: literal text as it is, a name bound
// once to a string as that string, a fmt.Sprintf as its format filled in
// (see format), anything else as the placeholder. literal reports whether
// any literal text was found.
func (c *collector) text(e ast.Expr, local bindings, depth int) (string, bool) {
	if depth > 4 {
		return placeholder, false
	}
	if s, ok := fold(e); ok {
		return s, true
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		return c.text(e.X, local, depth+1)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			// Not deeper: a long sum is one message, not a chain of
			// names, and would lose its start.
			x, xl := c.text(e.X, local, depth)
			y, yl := c.text(e.Y, local, depth)
			return x + y, xl || yl
		}
	case *ast.Ident:
		if x := c.single(e.Name, local); x != nil {
			return c.text(x, local, depth+1)
		}
	case *ast.CallExpr:
		if isCall(e, "fmt", "Sprintf") {
			return c.format(e.Args[0], e.Args[1:], local, depth+1)
		}
	}
	return placeholder, false
}

// format renders a fmt format with its arguments: a %s or %v whose value
// the code spells out (a literal, or a name bound once to one, where a
// message keeps advice it shares with others) shows that value, every
// other verb the placeholder. A value shown as the placeholder that holds
// text of its own is collected as a message of its own.
func (c *collector) format(f ast.Expr, args []ast.Expr, local bindings, depth int) (string, bool) {
	s, ok := fold(f)
	if !ok {
		return c.text(f, local, depth+1)
	}
	i := 0
	out := verbRE.ReplaceAllStringFunc(s, func(v string) string {
		if v == "%%" {
			return "%"
		}
		if i >= len(args) {
			return placeholder
		}
		a := args[i]
		i++
		if v == "%s" || v == "%v" {
			if t, lit := c.text(a, local, depth+1); lit {
				return t
			}
		}
		c.others(a, local)
		return placeholder
	})
	return out, true
}

// others collects the texts a value may hold when it is not one string:
// each string a name is bound to, or each string of the map literal it is
// looked up in ("gateway closed with code %d: %s", fatalCloseCodes[code]).
func (c *collector) others(e ast.Expr, local bindings) {
	c.othersSeen(e, local, map[string]bool{})
}

func (c *collector) othersSeen(e ast.Expr, local bindings, seen map[string]bool) {
	switch v := e.(type) {
	case *ast.Ident:
		if seen[v.Name] {
			return
		}
		seen[v.Name] = true
		for _, b := range []bindings{local, c.pkg} {
			for _, x := range b[v.Name] {
				switch x.(type) {
				case *ast.Ident, *ast.IndexExpr:
					c.othersSeen(x, local, seen)
				default:
					c.add(x, local)
				}
			}
		}
	case *ast.IndexExpr:
		if id, ok := v.X.(*ast.Ident); ok {
			for _, x := range c.pkg[id.Name] {
				if lit, ok := x.(*ast.CompositeLit); ok {
					for _, elt := range lit.Elts {
						if kv, ok := elt.(*ast.KeyValueExpr); ok {
							c.add(kv.Value, local)
						}
					}
				}
			}
		}
	}
}

// add collects the message e, if it holds any literal text.
func (c *collector) add(e ast.Expr, local bindings) {
	text, lit := c.text(e, local, 0)
	c.addText(e, text, lit)
}

func (c *collector) addText(e ast.Expr, text string, lit bool) {
	if !lit || strings.TrimSpace(text) == "" {
		return
	}
	p := c.fset.Position(e.Pos())
	rel, err := filepath.Rel(root, p.Filename)
	if err != nil {
		rel = p.Filename
	}
	c.out = append(c.out, message{normalise(text), filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line)})
}

// scan collects the messages under node, a function or a package-level
// declaration. errorMethod is set for the Error and Fix methods of an
// error type, whose returned strings are messages.
func (c *collector) scan(node ast.Node, errorMethod bool) {
	local := bindings{}
	ast.Inspect(node, func(n ast.Node) bool {
		local.bind(n)
		return true
	})
	ast.Inspect(node, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			// The detail of an alert, which the bot posts to the
			// owner's webhook: the last argument of the alerts
			// monitor's mark and markSince.
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "mark" || sel.Sel.Name == "markSince") && len(n.Args) > 0 {
				c.add(n.Args[len(n.Args)-1], local)
				return true
			}
			format, ok := constructor(n)
			if !ok {
				return true
			}
			if format {
				text, lit := c.format(n.Args[0], n.Args[1:], local, 0)
				c.addText(n.Args[0], text, lit)
			} else {
				c.add(n.Args[0], local)
			}
		case *ast.ReturnStmt:
			if errorMethod {
				for _, r := range n.Results {
					c.add(r, local)
				}
			}
		case *ast.CompositeLit:
			// A line of 'bot health': check{name, status, detail}, also
			// in a []check{{…}} that leaves the type out.
			if isIdent(n.Type, "check") {
				c.check(n, local)
			}
			// A configuration warning, which every command prints:
			// Warning{Message: …}.
			if isIdent(n.Type, "Warning") || isSelector(n.Type, "Warning") {
				for _, elt := range n.Elts {
					if kv, ok := elt.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Message") {
						c.add(kv.Value, local)
					}
				}
			}
			if at, ok := n.Type.(*ast.ArrayType); ok && isIdent(at.Elt, "check") {
				for _, elt := range n.Elts {
					if lit, ok := elt.(*ast.CompositeLit); ok && lit.Type == nil {
						c.check(lit, local)
					}
				}
			}
		case *ast.AssignStmt:
			// The detail of a health check filled in later.
			for i, l := range n.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Detail" && len(n.Rhs) == len(n.Lhs) {
					c.add(n.Rhs[i], local)
				}
			}
		}
		return true
	})
}

// check collects the detail of a health check's literal.
func (c *collector) check(lit *ast.CompositeLit, local bindings) {
	for i, elt := range lit.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			if isIdent(kv.Key, "Detail") {
				c.add(kv.Value, local)
			}
		} else if i == 2 {
			c.add(elt, local)
		}
	}
}

// isSelector reports whether e is pkg.name, for any pkg.
func isSelector(e ast.Expr, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == name
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// ownerMessages returns every message of the owner-facing code.
func ownerMessages(t *testing.T) []message {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || excluded(rel+"/")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") && !excluded(rel) {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []message
	for _, files := range dirs {
		fset := token.NewFileSet()
		var parsed []*ast.File
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, af)
		}
		out = append(out, collect(fset, parsed)...)
	}
	slices.SortFunc(out, func(a, b message) int { return strings.Compare(a.pos, b.pos) })
	return out
}

// collect returns the messages of the files of one package.
func collect(fset *token.FileSet, files []*ast.File) []message {
	c := &collector{fset: fset, pkg: bindings{}}
	for _, af := range files {
		for _, d := range af.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				for _, s := range g.Specs {
					c.pkg.bind(s)
				}
			}
		}
	}
	for _, af := range files {
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			c.scan(d, ok && fd.Recv != nil && (fd.Name.Name == "Error" || fd.Name.Name == "Fix"))
		}
	}
	return c.out
}

func excluded(rel string) bool {
	for _, x := range notOwnerFacing {
		if rel == x || strings.HasSuffix(x, "/") && strings.HasPrefix(rel, x) {
			return true
		}
	}
	return false
}
