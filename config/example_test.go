package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleLoadsToDefaults(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "config.toml", string(Example()), 0o644)
	c, ws := mustLoad(t, Source{Path: p})
	if len(ws) != 0 {
		t.Errorf("warnings got=%v, want none", ws)
	}
	want := Config{
		Discord:   Discord{GuildIDs: []string{}},
		Storage:   Storage{DataDir: filepath.Join(dir, "data")},
		Log:       Log{Level: "info", Format: "auto"},
		HTTP:      HTTP{Listen: "127.0.0.1:8081"},
		Backup:    Backup{Dir: filepath.Join(dir, "data", "backups"), Keep: 7},
		Run:       Run{ShutdownTimeout: 10 * time.Second},
		Retention: Retention{AfterLeave: 30 * 24 * time.Hour},
		Limits: Limits{MemberBurst: 5, MemberEvery: 2 * time.Second, ModeratorBurst: 20, ModeratorEvery: time.Second,
			GuildBurst: 60, GuildEvery: time.Second, InFlight: 64, Queue: 256, MassAction: 10},
		Alerts: Alerts{GatewayDownAfter: 2 * time.Minute, MinFreeDisk: 1 << 30, ErrorBurst: 20},
		File:   p,
	}
	if got := plain(c); !reflect.DeepEqual(got, want) {
		t.Errorf("got=%+v\nwant %+v", got, want)
	}

	// And the same as with no file at all.
	noFile, _ := mustLoad(t, Source{WorkDir: dir, Path: "absent.toml"})
	got, def := plain(c), plain(noFile)
	got.File = ""
	if !reflect.DeepEqual(got, def) {
		t.Errorf("example got=%+v\nno file %+v", got, def)
	}
}

// TestExampleDocumentsEveryKey checks that each key appears under its
// [section], set or commented out, with its environment variable named.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text := string(Example())
	for _, key := range Keys() {
		sec, name, _ := strings.Cut(key, ".")
		start := strings.Index(text, "\n["+sec+"]\n")
		if start < 0 {
			t.Errorf("%s: no [%s] section", key, sec)
			continue
		}
		body := text[start+len(sec)+3:]
		if end := strings.Index(body, "\n["); end >= 0 {
			body = body[:end]
		}
		if !strings.Contains(body, "\n"+name+" = ") && !strings.Contains(body, "\n# "+name+" = ") {
			t.Errorf("%s: no %q line under [%s]", key, name+" = ", sec)
		}
		if !strings.Contains(body, "env: "+envName(key)) {
			t.Errorf("%s: %s not mentioned under [%s]", key, envName(key), sec)
		}
	}
}

// TestExampleCopyMatches keeps the repository's top-level
// config.example.toml identical to the embedded one, which is canonical.
func TestExampleCopyMatches(t *testing.T) {
	top, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(top, Example()) {
		t.Errorf("../config.example.toml differs from config/config.example.toml, which is canonical; " +
			"edit that one and run: cp config/config.example.toml config.example.toml")
	}
}
