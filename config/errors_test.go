package config

import "testing"

func TestValueErrors(t *testing.T) {
	tests := []struct {
		name, file string
		environ    []string
		flags      map[string]string
		want       string
	}{
		{"Level", "[log]\nlevel = \"verbose\"\n", nil, nil,
			`config.toml:2: log.level: "verbose" is not accepted; use one of debug, info, warn, error`},
		{"LevelEnv", "", []string{"BOT_LOG_LEVEL=verbose"}, nil,
			`BOT_LOG_LEVEL: log.level: "verbose" is not accepted; use one of debug, info, warn, error`},
		{"LevelFlag", "", nil, map[string]string{"log.level": "loud"},
			`--log-level: log.level: "loud" is not accepted; use one of debug, info, warn, error`},
		{"Format", "# a comment\n\n[log]\nlevel = \"info\"\nformat = \"xml\"\n", nil, nil,
			`config.toml:5: log.format: "xml" is not accepted; use one of auto, text, json`},
		{"KeepZero", "[backup]\nkeep = 0\n", nil, nil,
			`config.toml:2: backup.keep: 0 is not accepted; use a whole number, 1 or more`},
		{"KeepEnv", "", []string{"BOT_BACKUP_KEEP=lots"}, nil,
			`BOT_BACKUP_KEEP: backup.keep: "lots" is not accepted; use a whole number, 1 or more`},
		{"KeepWrongType", "[backup]\nkeep = true\n", nil, nil,
			`config.toml:2: backup.keep: true is not accepted: it is true or false; use a whole number, 1 or more`},
		{"Interval", "[backup]\ninterval = \"weekly\"\n", nil, nil,
			`config.toml:2: backup.interval: "weekly" is not accepted; use a duration such as "12h" or "7d", or "" for no scheduled backups`},
		{"ShutdownZero", "[run]\nshutdown_timeout = \"0s\"\n", nil, nil,
			`config.toml:2: run.shutdown_timeout: "0s" is not accepted: it is zero; use a duration such as "10s" or "1m"`},
		{"APIURLSlash", "[discord]\napi_url = \"https://proxy.test/api/\"\n", nil, nil,
			`config.toml:2: discord.api_url: "https://proxy.test/api/" is not accepted: it ends with a slash; use an http(s) URL without a trailing slash, such as "https://discord.com/api/v10", or "" for Discord's`},
		{"APIURLScheme", "", []string{"BOT_DISCORD_API_URL=ftp://x"}, nil,
			`BOT_DISCORD_API_URL: discord.api_url: "ftp://x" is not accepted: it must start with http:// or https://; use an http(s) URL without a trailing slash, such as "https://discord.com/api/v10", or "" for Discord's`},
		{"GatewayQuery", "[discord]\ngateway_url = \"wss://gw.test/?v=10\"\n", nil, nil,
			`config.toml:2: discord.gateway_url: "wss://gw.test/?v=10" is not accepted: it has a query string; use a ws(s) URL without a query string, such as "wss://gateway.discord.gg", or "" to ask Discord`},
		{"GatewayEmptyFragment", "[discord]\ngateway_url = \"wss://gw.test#\"\n", nil, nil,
			`config.toml:2: discord.gateway_url: "wss://gw.test#" is not accepted: it has a #fragment; use a ws(s) URL without a query string, such as "wss://gateway.discord.gg", or "" to ask Discord`},
		{"GuildID", "[discord]\nguild_ids = [\"general\"]\n", nil, nil,
			`config.toml:2: discord.guild_ids: ["general"] is not accepted: "general" is not a guild ID (a number such as 123456789012345678); use a list of guild IDs such as ["123456789012345678"] (in the environment: comma-separated)`},
		{"Listen", "[http]\nlisten = \"localhost\"\n", nil, nil,
			`config.toml:2: http.listen: "localhost" is not accepted: it is not host:port; use host:port such as "127.0.0.1:8081", or "" to turn the health endpoint off`},
		{"ListenType", "[http]\nlisten = 8081\n", nil, nil,
			`config.toml:2: http.listen: 8081 is not accepted: it is a whole number, not text in quotes; use host:port such as "127.0.0.1:8081", or "" to turn the health endpoint off`},
		{"DataDirEmpty", "[storage]\ndata_dir = \"\"\n", nil, nil,
			`config.toml:2: storage.data_dir: "" is not accepted: it is empty; use a directory such as "data" (relative to the config file) or "/var/lib/bot"`},
		{"TokenTypeHidesValue", "[discord]\ntoken = 1234567890\n", nil, nil,
			`config.toml:2: discord.token: the value is not accepted: it is a whole number, not text in quotes; use the bot token as a string`},
		{"TableForValue", "[discord.token]\nvalue = \"x\"\n", nil, nil,
			`config.toml:2: discord.token.value: unknown setting: discord.token is a single value, not a table; use the bot token as a string`},
		{"HTTPTokenSpaces", "", []string{"BOT_HTTP_TOKEN=   "}, nil,
			`BOT_HTTP_TOKEN: http.token: the value is not accepted: it starts or ends with a space; use a random string, best of at least 16 characters (e.g. from 'openssl rand -hex 32'), or ""; required when http.listen is not on loopback`},
		{"BothMasterKeys", "[keys]\nmaster_key_file = \"k\"\n", []string{"BOT_KEYS_MASTER_KEY=a2V5a2V5a2V5"}, nil,
			`BOT_KEYS_MASTER_KEY: keys.master_key: is set together with keys.master_key_file; use only one of them`},
		{"Several", "[log]\nlevel = \"x\"\nformat = \"y\"\n", nil, nil,
			"config.toml:2: log.level: \"x\" is not accepted; use one of debug, info, warn, error\n" +
				"config.toml:3: log.format: \"y\" is not accepted; use one of auto, text, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "config.toml", tt.file, 0o600)
			got := loadError(t, Source{WorkDir: dir, Environ: tt.environ, Flags: tt.flags,
				FlagNames: map[string]string{"log.level": "--log-level"}})
			if got != tt.want {
				t.Errorf("got=%s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "config.toml", "[log]\nlevel = \"verbose\"\n", 0o600)
	_, _, err := Load(Source{WorkDir: dir})
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got=%T, want *Error", err)
	}
	want := Error{Key: "log.level", Source: "config.toml", Line: 2,
		Problem: `"verbose" is not accepted`, Accepted: "one of debug, info, warn, error"}
	if *e != want {
		t.Errorf("got=%+v, want %+v", *e, want)
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name, file string
		environ    []string
		want       string
	}{
		{"FileTypo", "[discord]\ntokn = \"x\"\n", nil,
			"config.toml:2: discord.tokn: unknown setting; did you mean discord.token?"},
		{"FileWrongSection", "[discord]\ndata_dir = \"x\"\n", nil,
			"config.toml:2: discord.data_dir: unknown setting; did you mean storage.data_dir?"},
		{"FileNoSection", "token = \"x\"\n", nil,
			"config.toml:1: token: unknown setting; did you mean discord.token?"},
		{"FileDottedKey", "log.levl = \"x\"\n", nil,
			"config.toml:1: log.levl: unknown setting; did you mean log.level?"},
		{"FileNothingClose", "[http]\nport = 80\n", nil,
			"config.toml:2: http.port: unknown setting; use one of http.token, http.listen"},
		{"FileUnknownSection", "[web]\nport = 80\n", nil,
			"config.toml:2: web.port: unknown setting; use a setting in one of the sections discord, storage, log, http, backup, keys, retention, limits, alerts, run (config.example.toml lists them all)"},
		{"EnvTypo", "", []string{"BOT_DISCORD_TOKN=secret-secret"},
			"BOT_DISCORD_TOKN: discord.tokn: unknown setting; did you mean BOT_DISCORD_TOKEN?"},
		{"EnvNoSection", "", []string{"BOT_TOKEN=secret-secret"},
			"BOT_TOKEN: token: unknown setting; did you mean BOT_DISCORD_TOKEN?"},
		{"EnvMissingSection", "", []string{"BOT_GUILD_IDS=1"},
			"BOT_GUILD_IDS: guild.ids: unknown setting; did you mean BOT_DISCORD_GUILD_IDS?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "config.toml", tt.file, 0o600)
			got := loadError(t, Source{WorkDir: dir, Environ: tt.environ})
			if got != tt.want {
				t.Errorf("got=%s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("ProjectVariablesIgnored", func(t *testing.T) {
		mustLoad(t, Source{WorkDir: t.TempDir(), Environ: []string{"BOT_LONG_TESTS=1"}})
	})
	t.Run("EmptySectionOK", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "config.toml", "[keys]\n[run]\n", 0o600)
		mustLoad(t, Source{WorkDir: dir})
	})
	t.Run("UnknownFlag", func(t *testing.T) {
		got := loadError(t, Source{WorkDir: t.TempDir(), Flags: map[string]string{"log.levle": "x"}})
		if want := "command line: log.levle: unknown setting; did you mean log.level?"; got != want {
			t.Errorf("got=%s\nwant %s", got, want)
		}
	})
}
