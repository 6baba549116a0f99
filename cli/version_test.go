package cli

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/modbot/bot/migrations"
)

// TestVersionSchema: the schema version that 'bot version' reports is
// the number of the newest migration embedded in the binary.
func TestVersionSchema(t *testing.T) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v %v", names, err)
	}
	var newest int64
	for _, name := range names {
		n, err := strconv.ParseInt(name[:strings.IndexByte(name, '_')], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", name, err)
		}
		newest = max(newest, n)
	}

	code, out, errOut := runCLI(t, t.TempDir(), nil, "version", "--json")
	if code != exitOK {
		t.Fatalf("bot version --json: exit %d, %s", code, errOut)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("bot version --json printed %q: %v", out, err)
	}
	if got, ok := info["schema_version"].(float64); !ok || int64(got) != newest {
		t.Errorf("schema_version got=%v, want %d (of %v)", info["schema_version"], newest, names)
	}
	for _, key := range []string{"version", "commit", "date", "go_version", "platform"} {
		if _, ok := info[key].(string); !ok {
			t.Errorf("%s got=%v, want a string", key, info[key])
		}
	}

	_, out, _ = runCLI(t, t.TempDir(), nil, "version")
	if want := fmt.Sprintf(", schema %d)\n", newest); !strings.HasSuffix(out, want) {
		t.Errorf("bot version got=%q, want it to end with %q", out, want)
	}
}
