package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	gotoml "github.com/pelletier/go-toml/v2"
)

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile applies the umask; the tests need the exact mode.
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad loads src and fails the test on error.
func mustLoad(t *testing.T, src Source) (*Config, []Warning) {
	t.Helper()
	c, ws, err := Load(src)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c, ws
}

// loadError loads src and returns the error text a user would see.
func loadError(t *testing.T, src Source) string {
	t.Helper()
	c, _, err := Load(src)
	if err == nil {
		t.Fatalf("Load: got=%+v, want an error", c)
	}
	return err.Error()
}

// plain drops the bookkeeping that differs between equal configs.
func plain(c *Config) Config {
	out := *c
	out.origins = nil
	return out
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "config.toml", "[log]\nlevel = \"warn\"\n", 0o600)
	tests := []struct {
		name  string
		src   Source
		level string
	}{
		{"Default", Source{WorkDir: t.TempDir()}, "info"},
		{"File", Source{Path: file}, "warn"},
		{"EnvOverFile", Source{Path: file, Environ: []string{"BOT_LOG_LEVEL=error"}}, "error"},
		{"FlagOverEnv", Source{Path: file, Environ: []string{"BOT_LOG_LEVEL=error"},
			Flags: map[string]string{"log.level": "debug"}}, "debug"},
		{"FlagOverFile", Source{Path: file, Flags: map[string]string{"log.level": "debug"}}, "debug"},
		{"EnvOverDefault", Source{WorkDir: t.TempDir(), Environ: []string{"BOT_LOG_LEVEL=warn"}}, "warn"},
		{"OtherEnvIgnored", Source{Path: file, Environ: []string{"HOME=/root", "LOG_LEVEL=debug"}}, "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, tt.src)
			if c.Log.Level != tt.level {
				t.Errorf("log.level got=%q, want %q", c.Log.Level, tt.level)
			}
		})
	}
}

// allSet returns a Config with every setting away from its default, and
// the same settings as a TOML file and as an environment.
func allSet(dir string) (want Config, file string, environ []string) {
	want = Config{
		Discord: Discord{Token: "tok-1234567890", APIURL: "http://127.0.0.1:9999/api/v10",
			GatewayURL: "ws://127.0.0.1:9999/gw", GuildIDs: []string{"111111111111111111", "222222222222222222"}},
		Storage:   Storage{DataDir: filepath.Join(dir, "state")},
		Log:       Log{Level: "debug", Format: "json"},
		HTTP:      HTTP{Listen: ":9090", Token: "http-token-0123456789"},
		Backup:    Backup{Dir: filepath.Join(dir, "bk"), Interval: 7 * 24 * time.Hour, Keep: 3},
		Keys:      KeysConfig{MasterKeyFile: filepath.Join(dir, "mk.b64")},
		Run:       Run{ShutdownTimeout: 90 * time.Second},
		Retention: Retention{Cases: 2 * 365 * 24 * time.Hour, AfterLeave: 0},
		Limits: Limits{MemberBurst: 3, MemberEvery: 5 * time.Second, ModeratorBurst: 30, ModeratorEvery: 500 * time.Millisecond,
			GuildBurst: 100, GuildEvery: 250 * time.Millisecond, InFlight: 8, Queue: 16, MassAction: 4},
		Alerts: Alerts{WebhookURL: "https://discord.com/api/webhooks/1/abcdefghijklmnop", GatewayDownAfter: 5 * time.Minute,
			MinFreeDisk: 500 << 20, ErrorBurst: 7},
	}
	file = `[discord]
token = "tok-1234567890"
api_url = "http://127.0.0.1:9999/api/v10"
gateway_url = "ws://127.0.0.1:9999/gw"
guild_ids = ["111111111111111111", 222222222222222222]
[storage]
data_dir = "state"
[log]
level = "debug"
format = "json"
[http]
listen = ":9090"
token = "http-token-0123456789"
[backup]
dir = "bk"
interval = "7d"
keep = 3
[keys]
master_key_file = "mk.b64"
[run]
shutdown_timeout = "1m30s"
[retention]
cases = "2y"
after_leave = ""
[limits]
member_burst = 3
member_every = "5s"
moderator_burst = 30
moderator_every = "500ms"
guild_burst = 100
guild_every = "250ms"
in_flight = 8
queue = 16
mass_action = 4
[alerts]
webhook_url = "https://discord.com/api/webhooks/1/abcdefghijklmnop"
gateway_down_after = "5m"
min_free_disk = "500MiB"
error_burst = 7
`
	environ = []string{
		"BOT_DISCORD_TOKEN=tok-1234567890",
		"BOT_DISCORD_API_URL=http://127.0.0.1:9999/api/v10",
		"BOT_DISCORD_GATEWAY_URL=ws://127.0.0.1:9999/gw",
		"BOT_DISCORD_GUILD_IDS=111111111111111111, 222222222222222222",
		"BOT_STORAGE_DATA_DIR=state",
		"BOT_LOG_LEVEL=debug",
		"BOT_LOG_FORMAT=json",
		"BOT_HTTP_LISTEN=:9090",
		"BOT_BACKUP_DIR=bk",
		"BOT_BACKUP_INTERVAL=7d",
		"BOT_BACKUP_KEEP=3",
		"BOT_KEYS_MASTER_KEY_FILE=mk.b64",
		"BOT_RUN_SHUTDOWN_TIMEOUT=1m30s",
		"BOT_RETENTION_CASES=2y",
		"BOT_RETENTION_AFTER_LEAVE=",
		"BOT_LIMITS_MEMBER_BURST=3",
		"BOT_LIMITS_MEMBER_EVERY=5s",
		"BOT_LIMITS_MODERATOR_BURST=30",
		"BOT_LIMITS_MODERATOR_EVERY=500ms",
		"BOT_LIMITS_GUILD_BURST=100",
		"BOT_LIMITS_GUILD_EVERY=250ms",
		"BOT_LIMITS_IN_FLIGHT=8",
		"BOT_LIMITS_QUEUE=16",
		"BOT_LIMITS_MASS_ACTION=4",
		"BOT_HTTP_TOKEN=http-token-0123456789",
		"BOT_ALERTS_WEBHOOK_URL=https://discord.com/api/webhooks/1/abcdefghijklmnop",
		"BOT_ALERTS_GATEWAY_DOWN_AFTER=5m",
		"BOT_ALERTS_MIN_FREE_DISK=500MiB",
		"BOT_ALERTS_ERROR_BURST=7",
	}
	return want, file, environ
}

func TestEveryKey(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		dir := t.TempDir()
		want, file, _ := allSet(dir)
		want.File = writeFile(t, dir, "config.toml", file, 0o600)
		c, _ := mustLoad(t, Source{Path: want.File, WorkDir: t.TempDir()})
		if got := plain(c); !reflect.DeepEqual(got, want) {
			t.Errorf("got=%+v\nwant %+v", got, want)
		}
	})
	t.Run("Env", func(t *testing.T) {
		dir := t.TempDir()
		want, _, environ := allSet(dir)
		c, _ := mustLoad(t, Source{Environ: environ, WorkDir: dir})
		if got := plain(c); !reflect.DeepEqual(got, want) {
			t.Errorf("got=%+v\nwant %+v", got, want)
		}
	})
	t.Run("MasterKey", func(t *testing.T) {
		c, _ := mustLoad(t, Source{WorkDir: t.TempDir(), Environ: []string{"BOT_KEYS_MASTER_KEY=a2V5a2V5a2V5"}})
		if c.Keys.MasterKey != "a2V5a2V5a2V5" {
			t.Errorf("keys.master_key got=%q", c.Keys.MasterKey)
		}
		if got, want := c.Secrets(), []string{"a2V5a2V5a2V5"}; !slices.Equal(got, want) {
			t.Errorf("Secrets got=%q, want %q", got, want)
		}
	})
}

func TestGuildIDs(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string
	}{
		{"One", "123456789012345678", []string{"123456789012345678"}},
		{"Several", "1,2, 3 ,", []string{"1", "2", "3"}},
		{"Duplicates", "5,5", []string{"5"}},
		{"Empty", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, Source{WorkDir: t.TempDir(), Environ: []string{"BOT_DISCORD_GUILD_IDS=" + tt.env}})
			if !slices.Equal(c.Discord.GuildIDs, tt.want) || c.Discord.GuildIDs == nil {
				t.Errorf("got=%q, want %q", c.Discord.GuildIDs, tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	wd := filepath.Join(root, "wd")
	withDataDir := writeFile(t, etc, "with.toml", "[storage]\ndata_dir = \"state\"\n", 0o600)
	empty := writeFile(t, etc, "empty.toml", "", 0o600)
	tests := []struct {
		name              string
		src               Source
		dataDir, backupTo string
	}{
		{"FileRelativeToFile", Source{Path: withDataDir, WorkDir: wd},
			filepath.Join(etc, "state"), filepath.Join(etc, "state", "backups")},
		{"DefaultRelativeToFile", Source{Path: empty, WorkDir: wd},
			filepath.Join(etc, "data"), filepath.Join(etc, "data", "backups")},
		{"DefaultWithoutFile", Source{WorkDir: wd},
			filepath.Join(wd, "data"), filepath.Join(wd, "data", "backups")},
		{"EnvRelativeToWorkDir", Source{Path: withDataDir, WorkDir: wd, Environ: []string{"BOT_STORAGE_DATA_DIR=here"}},
			filepath.Join(wd, "here"), filepath.Join(wd, "here", "backups")},
		{"FlagAbsolute", Source{Path: withDataDir, Flags: map[string]string{"storage.data_dir": "/srv/bot"}},
			"/srv/bot", "/srv/bot/backups"},
		{"RelativeFilePath", Source{Path: "etc/with.toml", WorkDir: root},
			filepath.Join(etc, "state"), filepath.Join(etc, "state", "backups")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, tt.src)
			if c.Storage.DataDir != tt.dataDir {
				t.Errorf("storage.data_dir got=%q, want %q", c.Storage.DataDir, tt.dataDir)
			}
			if c.Backup.Dir != tt.backupTo {
				t.Errorf("backup.dir got=%q, want %q", c.Backup.Dir, tt.backupTo)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	t.Run("MissingDefaultOK", func(t *testing.T) {
		c, ws := mustLoad(t, Source{WorkDir: t.TempDir()})
		if c.File != "" || len(ws) != 0 {
			t.Errorf("File got=%q warnings=%v, want none", c.File, ws)
		}
	})
	t.Run("DefaultFileFound", func(t *testing.T) {
		dir := t.TempDir()
		p := writeFile(t, dir, "config.toml", "[log]\nformat = \"text\"\n", 0o600)
		c, _ := mustLoad(t, Source{WorkDir: dir})
		if c.File != p || c.Log.Format != "text" {
			t.Errorf("File got=%q format=%q, want %q text", c.File, c.Log.Format, p)
		}
	})
	t.Run("ErrMissingExplicit", func(t *testing.T) {
		got := loadError(t, Source{Path: "bot.toml", PathExplicit: true, WorkDir: t.TempDir()})
		want := "bot.toml: config file not found; use an existing file, or run `bot init` to create one"
		if got != want {
			t.Errorf("got=%q, want %q", got, want)
		}
	})
	// The parser names a table or key defined twice without its place;
	// the error still names the line that defines it again.
	t.Run("ErrDefinedTwice", func(t *testing.T) {
		for _, tt := range []struct{ name, file, want string }{
			{"Table", "[limits]\nqueue = 7\n\n# again\n[limits]\nqueue = 8\n",
				`config.toml:5: not valid TOML: table limits already exists; use key = "value" lines under [section] headers, as in config.example.toml`},
			{"TableAfterMultiline", "[log]\nlevel = \"info\"\n[discord]\nguild_ids = [\n  \"1\",\n]\n[log]\n",
				"config.toml:7: not valid TOML: table log already exists"},
			{"Key", "[limits]\nqueue = 7\nqueue = 8\n", "config.toml:3: not valid TOML"},
			{"TableOverKey", "limits = 1\n[limits]\n", "config.toml:2: not valid TOML"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, dir, "config.toml", tt.file, 0o600)
				if got := loadError(t, Source{WorkDir: dir}); !strings.HasPrefix(got, tt.want) {
					t.Errorf("got=%q, want prefix %q", got, tt.want)
				}
			})
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "config.toml", "[discord]\ntoken = \"abc\n[log]\n", 0o600)
		got := loadError(t, Source{WorkDir: dir})
		if want := "config.toml:2: not valid TOML (column "; !strings.HasPrefix(got, want) {
			t.Errorf("got=%q, want prefix %q", got, want)
		}
		if strings.Contains(got, "abc") {
			t.Errorf("got=%q, must not echo the file's content", got)
		}
	})
}

// A config file another user owns and this process reads through its
// group, as bot.service reads the package's /etc/bot/config.toml (owner
// root, group bot, 0640): the group is how the service reads it, so only
// a file others can read is warned about, and the advice keeps the group.
func TestWarningsFileReadThroughGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file modes")
	}
	notOwned := func(fs.FileInfo) bool { return false }
	for _, tt := range []struct {
		mode os.FileMode
		want string
	}{
		{0o640, ""},
		{0o600, ""},
		{0o644, "o-rwx"},
	} {
		dir := t.TempDir()
		path := writeFile(t, dir, "config.toml", "[discord]\ntoken = \"tok-1234567890\"\n", tt.mode)
		if got := exposedFile(path, notOwned); got != tt.want {
			t.Errorf("mode %v: advice got=%q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		mode    os.FileMode
		environ []string
		flags   map[string]string
		want    string // "" for no warning
	}{
		{"TokenWorldReadable", "[discord]\ntoken = \"tok-1234567890\"\n", 0o644, nil, nil,
			"holds discord.token and can be read by other users; run: chmod 600 "},
		{"TokenGroupReadable", "[discord]\ntoken = \"tok-1234567890\"\n", 0o640, nil, nil, "chmod 600"},
		{"MasterKeyInFile", "[keys]\nmaster_key = \"a2V5a2V5a2V5\"\n", 0o604, nil, nil, "holds keys.master_key"},
		{"TokenPrivate", "[discord]\ntoken = \"tok-1234567890\"\n", 0o600, nil, nil, ""},
		{"NoSecretInFile", "[log]\nlevel = \"info\"\n", 0o644, []string{"BOT_DISCORD_TOKEN=tok-1234567890"}, nil, ""},
		{"EmptyTokenInFile", "[discord]\ntoken = \"\"\n", 0o644, nil, nil, ""},
		{"TokenFlag", "", 0o600, nil, map[string]string{"discord.token": "tok-1234567890"},
			"discord.token was given on the command line, where other users can see it (ps); use BOT_DISCORD_TOKEN instead"},
		// A short http.token starts the bot, with advice to make a strong one.
		{"ShortHTTPToken", "", 0o600, []string{"BOT_HTTP_TOKEN=short-token"}, nil,
			"http.token is shorter than 16 characters, so it can be guessed; set a strong one, such as the output of 'openssl rand -hex 32'"},
		{"ShortHTTPTokenOffLoopback", "[http]\nlisten = \"0.0.0.0:8081\"\ntoken = \"1234\"\n", 0o600, nil, nil,
			"http.token is shorter than 16 characters"},
		{"LongHTTPToken", "", 0o600, []string{"BOT_HTTP_TOKEN=0123456789abcdef"}, nil, ""},
		{"ShortHTTPTokenNoListen", "", 0o600, []string{"BOT_HTTP_TOKEN=short", "BOT_HTTP_LISTEN="}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "config.toml", tt.file, tt.mode)
			_, ws := mustLoad(t, Source{WorkDir: dir, Environ: tt.environ, Flags: tt.flags})
			switch {
			case tt.want == "" && len(ws) != 0:
				t.Errorf("got=%v, want no warning", ws)
			case tt.want != "" && (len(ws) != 1 || !strings.Contains(ws[0].Message, tt.want)):
				t.Errorf("got=%v, want one containing %q", ws, tt.want)
			}
		})
	}
	// A master key file others can read is refused where the keys are
	// opened (keys.TestReadMasterKeyFile); configuration does not warn
	// about it as well.
	t.Run("MasterKeyFileNoWarning", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "master.key", "a2V5a2V5a2V5\n", 0o644)
		if _, ws := mustLoad(t, Source{WorkDir: dir, Environ: []string{"BOT_KEYS_MASTER_KEY_FILE=master.key"}}); len(ws) != 0 {
			t.Errorf("got=%v, want no warning", ws)
		}
	})
}

func TestRequireToken(t *testing.T) {
	tests := []struct {
		name, file string
		environ    []string
		want       string // "" for no error
	}{
		{"Set", "", []string{"BOT_DISCORD_TOKEN=tok-1234567890"}, ""},
		{"Missing", "", nil,
			"discord.token: not set; use the bot token from https://discord.com/developers/applications, in BOT_DISCORD_TOKEN or as token under [discord] in the config file"},
		{"BotPrefix", "", []string{"BOT_DISCORD_TOKEN=Bot tok-1234567890"},
			`BOT_DISCORD_TOKEN: discord.token: the value starts with "Bot "; use the token alone, without the Bot prefix`},
		{"TrailingNewline", "[discord]\ntoken = \"tok-1234567890\\n\"\n", nil,
			"config.toml:2: discord.token: the value contains spaces or line breaks; use the token exactly as Discord shows it, with nothing around it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				writeFile(t, dir, "config.toml", tt.file, 0o600)
			}
			c, _ := mustLoad(t, Source{WorkDir: dir, Environ: tt.environ})
			err := c.RequireToken()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got=%v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("got=%v\nwant %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "tok-1234567890") {
				t.Errorf("got=%v, must not show the token", err)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	got := Keys()
	want := []string{
		"alerts.error_burst", "alerts.gateway_down_after", "alerts.min_free_disk", "alerts.webhook_url",
		"backup.dir", "backup.interval", "backup.keep",
		"discord.api_url", "discord.gateway_url", "discord.guild_ids", "discord.token",
		"http.listen", "http.token", "keys.master_key", "keys.master_key_file",
		"limits.guild_burst", "limits.guild_every", "limits.in_flight", "limits.mass_action",
		"limits.member_burst", "limits.member_every", "limits.moderator_burst", "limits.moderator_every", "limits.queue",
		"log.format", "log.level", "retention.after_leave", "retention.cases", "run.shutdown_timeout", "storage.data_dir",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got=%q\nwant %q", got, want)
	}
}

func TestAsSize(t *testing.T) {
	for in, want := range map[any]int64{"1GiB": 1 << 30, "500MiB": 500 << 20, "2 GB": 2 << 30, "4096": 4096, int64(7): 7} {
		if got, err := asSize(in); err != nil || got != want {
			t.Errorf("asSize(%v) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"", "lots", "-1GiB", "1PiB", "99999999999GiB", int64(-1)} {
		if got, err := asSize(in); err == nil {
			t.Errorf("asSize(%v) = %d, want an error", in, got)
		}
	}
}

func TestAsWebhookURL(t *testing.T) {
	for _, ok := range []string{"", "https://discord.com/api/webhooks/1/x", "http://127.0.0.1:9/api/v10/webhooks/1/x"} {
		if _, err := asWebhookURL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://discord.com/api/webhooks/1/x", "https://discord.com/channels/1", "not a url", "https:///webhooks/1/x"} {
		if _, err := asWebhookURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestErrorLineLargeFile: the line of a table defined twice is found in a
// large file too, wherever the second definition is, with CRLF endings.
func TestErrorLineLargeFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("[limits]\r\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "# line %d\r\n", i+2)
	}
	b.WriteString("[limits]\r\n") // line 5002
	for i := range 3000 {
		fmt.Fprintf(&b, "# after %d\r\n", i)
	}
	data := []byte(b.String())
	var m map[string]any
	err := gotoml.Unmarshal(data, &m)
	if err == nil {
		t.Fatal("a table defined twice decoded")
	}
	if got := errorLine(data, err); got != 5002 {
		t.Errorf("errorLine got=%d, want 5002", got)
	}
}

// BenchmarkErrorLine finds the line of a table defined twice at the end of
// a file of 16,000 lines.
func BenchmarkErrorLine(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[limits]\n")
	for i := range 16000 {
		fmt.Fprintf(&sb, "# line %d\n", i)
	}
	sb.WriteString("[limits]\n")
	data := []byte(sb.String())
	var m map[string]any
	err := gotoml.Unmarshal(data, &m)
	for b.Loop() {
		if errorLine(data, err) == 0 {
			b.Fatal("no line")
		}
	}
}
