package config

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzLoad loads a config file body and an environment (one VAR=value a
// line) from the fuzzer. Load must either return errors that are all
// *Error, none of them holding the value of a secret, or a Config whose
// every field is one the checks in settings.go accept; and loading the same
// sources again must give the same result.
func FuzzLoad(f *testing.F) {
	f.Add(string(example), "")
	f.Add("", "")
	f.Add("[discord]\ntoken = \"abc\"\nguild_ids = [\"123456789012345678\", 123456789012345678]\n", "BOT_LOG_LEVEL=debug")
	f.Add("[log]\nlevel = \"verbose\"\n[backup]\nkeep = 0\ninterval = \"-1h\"\n", "BOT_DISCORD_TOKN=x\nBOT_BACKUP_KEEP=abc")
	f.Add("[storage]\ndata_dir = \"\"\n", "BOT_KEYS_MASTER_KEY=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=\nBOT_KEYS_MASTER_KEY_FILE=k")
	f.Add("[discord\n", "")
	f.Add("discord = 1\n[log.level]\nx = 1\n", "BOT_=1\nBOT_LONG_TESTS=1\nPATH=/bin")
	f.Add("[http]\nlisten = \"[::1]:99999\"\n[run]\nshutdown_timeout = \"0s\"\n", "BOT_BACKUP_INTERVAL=7d\nBOT_HTTP_LISTEN=")
	f.Add("[discord]\napi_url = \"https://x/\"\ngateway_url = \"wss://g?x=1\"\ntoken = 5\n", "BOT_DISCORD_GUILD_IDS=1,1,,2")
	f.Fuzz(func(t *testing.T, body, environ string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, DefaultFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		src := Source{Path: DefaultFile, PathExplicit: true, Environ: strings.Split(environ, "\n"), WorkDir: dir}
		c, _, err := Load(src)
		c2, _, err2 := Load(src)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Load gave %v, then %v", err, err2)
		}
		if err != nil {
			checkLoadErrors(t, err, body, src.Environ)
			return
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("Load gave %+v, then %+v", c, c2)
		}
		checkConfig(t, c)
	})
}

// checkLoadErrors checks that err is one *Error or several joined, and
// that no message holds a secret given in the environment. A secret value
// that also appears elsewhere in the sources may be echoed from there.
func checkLoadErrors(t *testing.T, err error, body string, environ []string) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("Load: %v (%T), want *Error", e, e)
		}
	}
	for i, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if name != "BOT_DISCORD_TOKEN" && name != "BOT_KEYS_MASTER_KEY" || len(value) < 8 {
			continue
		}
		others := body + strings.Join(slices.Delete(slices.Clone(environ), i, i+1), "\n")
		if strings.Contains(err.Error(), value) && !strings.Contains(others, value) {
			t.Fatalf("Load: %q shows the value of %s", err, name)
		}
	}
}

// checkConfig checks every field of a loaded Config against what its
// setting accepts.
func checkConfig(t *testing.T, c *Config) {
	t.Helper()
	fail := func(field string, v any) { t.Helper(); t.Fatalf("Load accepted %s = %#v", field, v) }
	if !slices.Contains(levels, c.Log.Level) {
		fail("log.level", c.Log.Level)
	}
	if !slices.Contains(formats, c.Log.Format) {
		fail("log.format", c.Log.Format)
	}
	if !filepath.IsAbs(c.Storage.DataDir) {
		fail("storage.data_dir", c.Storage.DataDir)
	}
	if !filepath.IsAbs(c.Backup.Dir) {
		fail("backup.dir", c.Backup.Dir)
	}
	if c.Keys.MasterKeyFile != "" && !filepath.IsAbs(c.Keys.MasterKeyFile) {
		fail("keys.master_key_file", c.Keys.MasterKeyFile)
	}
	if c.Keys.MasterKeyFile != "" && c.Keys.MasterKey != "" {
		fail("keys.master_key with keys.master_key_file", c.Keys.MasterKeyFile)
	}
	if c.Backup.Keep < 1 || c.Backup.Keep > 1<<20 {
		fail("backup.keep", c.Backup.Keep)
	}
	if c.Backup.Interval < 0 {
		fail("backup.interval", c.Backup.Interval)
	}
	if c.Retention.Cases < 0 || c.Retention.AfterLeave < 0 {
		fail("retention", c.Retention)
	}
	if l := c.Limits; l.MemberBurst < 1 || l.ModeratorBurst < 1 || l.GuildBurst < 1 || l.InFlight < 1 || l.Queue < 1 || l.MassAction < 1 ||
		l.MemberEvery <= 0 || l.ModeratorEvery <= 0 || l.GuildEvery <= 0 {
		fail("limits", l)
	}
	if c.Run.ShutdownTimeout <= 0 {
		fail("run.shutdown_timeout", c.Run.ShutdownTimeout)
	}
	if c.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			fail("http.listen", c.HTTP.Listen)
		} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 && port != "0" {
			fail("http.listen", c.HTTP.Listen)
		}
	}
	if c.Discord.APIURL != "" && (!strings.HasPrefix(c.Discord.APIURL, "http") || strings.HasSuffix(c.Discord.APIURL, "/")) {
		fail("discord.api_url", c.Discord.APIURL)
	}
	if c.Discord.GatewayURL != "" && (!strings.HasPrefix(c.Discord.GatewayURL, "ws") || strings.ContainsAny(c.Discord.GatewayURL, "?#")) {
		fail("discord.gateway_url", c.Discord.GatewayURL)
	}
	if c.Discord.GuildIDs == nil {
		fail("discord.guild_ids", c.Discord.GuildIDs)
	}
	for i, id := range c.Discord.GuildIDs {
		if n, err := strconv.ParseUint(id, 10, 64); err != nil || n == 0 || slices.Contains(c.Discord.GuildIDs[:i], id) {
			fail("discord.guild_ids", c.Discord.GuildIDs)
		}
	}
}
