package layout

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/modbot/bot"

// pkg is what go list reports of a package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listAll returns every package of the module with its imports and deps.
func listAll(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// TestLayout: each rule names a package, and the packages (or package
// path prefixes) that may not appear among its dependencies.
func TestLayout(t *testing.T) {
	pkgs := listAll(t)
	rules := []struct {
		pkg    string
		never  []string // not among the transitive deps
		reason string
	}{
		{"bot", []string{"github.com/gorilla/websocket", module + "/conn", "github.com/disgoorg/disgo/gateway"},
			"moderation reaches Discord through the Connection and REST interfaces it declares"},
		{"bot", []string{module + "/cli", module + "/datadir", module + "/backups", module + "/config"},
			"bot is given its stores and settings; it does not open installations or read configuration"},
		{"storage", []string{"github.com/disgoorg/", module + "/bot", module + "/conn", module + "/keys"},
			"storage knows nothing of Discord and seals through its Cipher interface"},
		{"keys", []string{"database/sql", "modernc.org/sqlite", module + "/storage"},
			"keys knows nothing of SQL"},
		{"conn", []string{module + "/bot", module + "/storage", module + "/keys"},
			"the connection knows nothing of moderation or records"},
		{"config", []string{module + "/storage", module + "/keys", "github.com/disgoorg/"},
			"configuration is read before anything is opened"},
		{"discordtest", []string{module + "/bot", module + "/conn", module + "/storage"},
			"the fake Discord is independent of the bot it tests"},
	}
	for _, r := range rules {
		p, ok := pkgs[r.pkg]
		if !ok {
			t.Errorf("package %s not found", r.pkg)
			continue
		}
		for _, d := range p.Deps {
			for _, bad := range r.never {
				if d == bad || strings.HasPrefix(d, bad) && (strings.HasSuffix(bad, "/") || strings.HasPrefix(d, bad+"/")) {
					t.Errorf("%s depends on %s: %s", r.pkg, d, r.reason)
				}
			}
		}
	}
	// Only cli wires: nothing below it imports it, and main imports only it.
	for name, p := range pkgs {
		if name != "" && slices.Contains(p.Imports, module+"/cli") {
			t.Errorf("%s imports cli; only main.go may", name)
		}
	}
	if root, ok := pkgs[""]; ok {
		for _, imp := range root.Imports {
			if strings.HasPrefix(imp, module+"/") && imp != module+"/cli" && imp != module+"/config" {
				t.Errorf("main.go imports %s; it should only call cli", imp)
			}
		}
	}
}
