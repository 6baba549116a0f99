package releasecheck

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/modbot/bot/config"
)

// repo is the repository root, from this package's directory.
const repo = "../.."

// The packaged configuration is the documented example with only the data
// directory moved to where the unit's StateDirectory= puts it: any other
// drift would leave package owners with settings the README does not
// describe.
func TestConfigTomlDiffersOnlyInDataDir(t *testing.T) {
	example := readLines(t, repo+"/config.example.toml")
	packaged := readLines(t, repo+"/packaging/config.toml")
	if len(example) != len(packaged) {
		t.Fatalf("packaging/config.toml has %d lines, config.example.toml %d: they may differ only in storage.data_dir",
			len(packaged), len(example))
	}
	changed := 0
	for i := range example {
		if example[i] == packaged[i] {
			continue
		}
		changed++
		if example[i] != `data_dir = "data"` || packaged[i] != `data_dir = "/var/lib/bot"` {
			t.Errorf("line %d: config.example.toml has %q, packaging/config.toml %q: only data_dir may differ, and only to \"/var/lib/bot\"",
				i+1, example[i], packaged[i])
		}
	}
	if changed != 1 {
		t.Errorf("packaging/config.toml differs from config.example.toml in %d lines, want exactly the data_dir line", changed)
	}

	c, warnings, err := config.Load(config.Source{Path: repo + "/packaging/config.toml", PathExplicit: true})
	if err != nil {
		t.Fatalf("packaging/config.toml does not load: %v", err)
	}
	if c.Storage.DataDir != "/var/lib/bot" {
		t.Errorf("packaging/config.toml: storage.data_dir = %q, want /var/lib/bot", c.Storage.DataDir)
	}
	for _, w := range warnings {
		t.Errorf("packaging/config.toml: warning: %s", w.Message)
	}
}

// bot.env is shipped with comments only: an empty BOT_DISCORD_TOKEN= would
// hide a token the owner put in config.toml instead.
func TestBotEnvHoldsOnlyComments(t *testing.T) {
	lines := readLines(t, repo+"/packaging/bot.env")
	sawToken := false
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			t.Errorf("packaging/bot.env line %d sets something (%q): ship it with comments only", i+1, l)
		}
		if strings.HasPrefix(l, "#BOT_DISCORD_TOKEN=") {
			sawToken = true
		}
	}
	if !sawToken {
		t.Error("packaging/bot.env does not show where the token goes (#BOT_DISCORD_TOKEN=)")
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
