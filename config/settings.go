package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setting describes one key: its default, how to read a raw value (from
// TOML, where types vary, or from the environment and flags, where
// everything is a string) and what to tell the user when it is wrong.
type setting struct {
	key      string
	def      any  // as TOML would give it
	secret   bool // never echo the value in an error
	path     bool // a relative value resolves against its source's directory
	accepted string
	apply    func(c *Config, v any) error // the error text says what is wrong, or is empty
}

// errNotAccepted is a parse failure with nothing more to say than Accepted.
var errNotAccepted = errors.New("")

// settings lists every key in the order of config.example.toml, which is
// also the order errors are reported in.
var settings = []setting{
	{key: "discord.token", def: "", secret: true,
		accepted: "the bot token as a string",
		apply: func(c *Config, v any) (err error) {
			c.Discord.Token, err = asString(v)
			return err
		}},
	{key: "discord.api_url", def: "",
		accepted: `an http(s) URL without a trailing slash, such as "https://discord.com/api/v10", or "" for Discord's`,
		apply: func(c *Config, v any) (err error) {
			c.Discord.APIURL, err = asURL(v, "http", "https")
			return err
		}},
	{key: "discord.gateway_url", def: "",
		accepted: `a ws(s) URL without a query string, such as "wss://gateway.discord.gg", or "" to ask Discord`,
		apply: func(c *Config, v any) (err error) {
			c.Discord.GatewayURL, err = asURL(v, "ws", "wss")
			return err
		}},
	{key: "discord.guild_ids", def: []any{},
		accepted: `a list of guild IDs such as ["123456789012345678"] (in the environment: comma-separated)`,
		apply: func(c *Config, v any) (err error) {
			c.Discord.GuildIDs, err = asSnowflakes(v)
			return err
		}},
	{key: "storage.data_dir", def: "data", path: true,
		accepted: `a directory such as "data" (relative to the config file) or "/var/lib/bot"`,
		apply: func(c *Config, v any) (err error) {
			c.Storage.DataDir, err = asString(v)
			if err == nil && c.Storage.DataDir == "" {
				err = errors.New("it is empty")
			}
			return err
		}},
	{key: "log.level", def: "info",
		accepted: "one of debug, info, warn, error",
		apply: func(c *Config, v any) (err error) {
			c.Log.Level, err = asChoice(v, levels)
			return err
		}},
	{key: "log.format", def: "auto",
		accepted: "one of auto, text, json",
		apply: func(c *Config, v any) (err error) {
			c.Log.Format, err = asChoice(v, formats)
			return err
		}},
	{key: "http.token", def: "", secret: true,
		accepted: `a random string, best of at least 16 characters (e.g. from 'openssl rand -hex 32'), or ""; required when http.listen is not on loopback`,
		apply: func(c *Config, v any) (err error) {
			c.HTTP.Token, err = asToken(v)
			return err
		}},
	{key: "http.listen", def: "127.0.0.1:8081",
		accepted: `host:port such as "127.0.0.1:8081", or "" to turn the health endpoint off`,
		apply: func(c *Config, v any) (err error) {
			c.HTTP.Listen, err = asListen(v)
			return err
		}},
	{key: "backup.dir", def: "", path: true,
		accepted: `a directory, or "" for <data_dir>/backups`,
		apply: func(c *Config, v any) (err error) {
			c.Backup.Dir, err = asString(v)
			return err
		}},
	{key: "backup.interval", def: "",
		accepted: `a duration such as "12h" or "7d", or "" for no scheduled backups`,
		apply: func(c *Config, v any) (err error) {
			c.Backup.Interval, err = asDuration(v, true)
			return err
		}},
	{key: "backup.keep", def: int64(7),
		accepted: "a whole number, 1 or more",
		apply: func(c *Config, v any) (err error) {
			c.Backup.Keep, err = asPositiveInt(v)
			return err
		}},
	{key: "keys.master_key_file", def: "", path: true,
		accepted: `the path of a file holding a base64 master key, or ""`,
		apply: func(c *Config, v any) (err error) {
			c.Keys.MasterKeyFile, err = asString(v)
			return err
		}},
	{key: "keys.master_key", def: "", secret: true,
		accepted: "a base64 master key as a string",
		apply: func(c *Config, v any) (err error) {
			c.Keys.MasterKey, err = asString(v)
			return err
		}},
	{key: "retention.cases", def: "",
		accepted: `a duration such as "730d" or "2y", or "" to keep cases forever`,
		apply: func(c *Config, v any) (err error) {
			c.Retention.Cases, err = asDuration(v, true)
			return err
		}},
	{key: "retention.after_leave", def: "30d",
		accepted: `a duration such as "30d", or "" to keep a server's records after the bot leaves it`,
		apply: func(c *Config, v any) (err error) {
			c.Retention.AfterLeave, err = asDuration(v, true)
			return err
		}},
	{key: "limits.member_burst", def: int64(5),
		accepted: "a whole number, 1 or more: how many commands a member may send at once",
		apply: func(c *Config, v any) (err error) {
			c.Limits.MemberBurst, err = asPositiveInt(v)
			return err
		}},
	{key: "limits.member_every", def: "2s",
		accepted: `a duration such as "2s": how often a member earns one more command`,
		apply: func(c *Config, v any) (err error) {
			c.Limits.MemberEvery, err = asDuration(v, false)
			return err
		}},
	{key: "limits.moderator_burst", def: int64(20),
		accepted: "a whole number, 1 or more: how many commands a moderator may send at once",
		apply: func(c *Config, v any) (err error) {
			c.Limits.ModeratorBurst, err = asPositiveInt(v)
			return err
		}},
	{key: "limits.moderator_every", def: "1s",
		accepted: `a duration such as "1s": how often a moderator earns one more command`,
		apply: func(c *Config, v any) (err error) {
			c.Limits.ModeratorEvery, err = asDuration(v, false)
			return err
		}},
	{key: "limits.guild_burst", def: int64(60),
		accepted: "a whole number, 1 or more: how many members' commands a server may send at once",
		apply: func(c *Config, v any) (err error) {
			c.Limits.GuildBurst, err = asPositiveInt(v)
			return err
		}},
	{key: "limits.guild_every", def: "1s",
		accepted: `a duration such as "1s": how often a server earns one more command`,
		apply: func(c *Config, v any) (err error) {
			c.Limits.GuildEvery, err = asDuration(v, false)
			return err
		}},
	{key: "limits.in_flight", def: int64(64),
		accepted: "a whole number, 1 or more: how many interactions are handled at once",
		apply: func(c *Config, v any) (err error) {
			c.Limits.InFlight, err = asPositiveInt(v)
			return err
		}},
	{key: "limits.queue", def: int64(256),
		accepted: "a whole number, 1 or more: how many interactions may wait for a turn",
		apply: func(c *Config, v any) (err error) {
			c.Limits.Queue, err = asPositiveInt(v)
			return err
		}},
	{key: "limits.mass_action", def: int64(10),
		accepted: "a whole number, 1 or more: how many bans and kicks a moderator may make in a minute",
		apply: func(c *Config, v any) (err error) {
			c.Limits.MassAction, err = asPositiveInt(v)
			return err
		}},
	{key: "alerts.webhook_url", def: "", secret: true,
		accepted: `a Discord webhook URL (https://discord.com/api/webhooks/…), or "" for no alerts`,
		apply: func(c *Config, v any) (err error) {
			c.Alerts.WebhookURL, err = asWebhookURL(v)
			return err
		}},
	{key: "alerts.gateway_down_after", def: "2m",
		accepted: `a duration such as "2m"`,
		apply: func(c *Config, v any) (err error) {
			c.Alerts.GatewayDownAfter, err = asDuration(v, false)
			return err
		}},
	{key: "alerts.min_free_disk", def: "1GiB",
		accepted: `a size such as "1GiB" or "500MiB"`,
		apply: func(c *Config, v any) (err error) {
			c.Alerts.MinFreeDisk, err = asSize(v)
			return err
		}},
	{key: "alerts.error_burst", def: int64(20),
		accepted: "a whole number, 1 or more: errors within five minutes that make an alert",
		apply: func(c *Config, v any) (err error) {
			c.Alerts.ErrorBurst, err = asPositiveInt(v)
			return err
		}},
	{key: "run.shutdown_timeout", def: "10s",
		accepted: `a duration such as "10s" or "1m"`,
		apply: func(c *Config, v any) (err error) {
			c.Run.ShutdownTimeout, err = asDuration(v, false)
			return err
		}},
}

var (
	levels  = []string{"debug", "info", "warn", "error"}
	formats = []string{"auto", "text", "json"}
)

// Keys returns every known key ("section.name"), sorted.
func Keys() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.key
	}
	slices.Sort(out)
	return out
}

// lookup returns the setting for key, or nil.
func lookup(key string) *setting {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i]
		}
	}
	return nil
}

// sections returns the known section names in table order.
func sections() []string {
	var out []string
	for _, s := range settings {
		sec, _, _ := strings.Cut(s.key, ".")
		if !slices.Contains(out, sec) {
			out = append(out, sec)
		}
	}
	return out
}

// envName is the environment variable that sets key.
func envName(key string) string {
	return "BOT_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envKey is the key an environment variable name maps to: the first
// underscore after BOT_ separates section from name, so names may
// themselves hold underscores (BOT_DISCORD_GUILD_IDS → discord.guild_ids).
func envKey(name string) string {
	rest := strings.ToLower(strings.TrimPrefix(name, "BOT_"))
	if sec, n, ok := strings.Cut(rest, "_"); ok {
		return sec + "." + n
	}
	return rest
}

// kindOf names a TOML value's type the way a user would.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case int64, int:
		return "a whole number"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("it is %s, not text in quotes", kindOf(v))
}

func asChoice(v any, choices []string) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", err
	}
	if l := strings.ToLower(strings.TrimSpace(s)); slices.Contains(choices, l) {
		return l, nil
	}
	return "", errNotAccepted
}

// asURL checks a base URL. The REST client appends paths to it, so a
// trailing slash would double up; the gateway client appends its own query,
// so one in the URL would be lost or duplicated.
func asURL(v any, schemes ...string) (string, error) {
	s, err := asString(v)
	if err != nil || s == "" {
		return s, err
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("it is not a URL")
	case !slices.Contains(schemes, u.Scheme):
		return "", fmt.Errorf("it must start with %s://", strings.Join(schemes, ":// or "))
	case u.Host == "":
		return "", errors.New("it has no host")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("it has a query string")
	case u.Fragment != "" || strings.Contains(s, "#"):
		// An empty fragment ("wss://host#") would still swallow the query
		// the gateway client appends.
		return "", errors.New("it has a #fragment")
	case strings.HasSuffix(s, "/") && u.Scheme != "ws" && u.Scheme != "wss":
		return "", errors.New("it ends with a slash")
	}
	return s, nil
}

// asSnowflakes accepts a TOML list of strings or integers, or one
// comma-separated string (the environment and flag form).
func asSnowflakes(v any) ([]string, error) {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case string:
		for p := range strings.SplitSeq(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
	default:
		return nil, fmt.Errorf("it is %s, not a list", kindOf(v))
	}
	out := []string{}
	for _, it := range items {
		var s string
		switch x := it.(type) {
		case string:
			s = strings.TrimSpace(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			return nil, fmt.Errorf("%v is not a guild ID", it)
		}
		if n, err := strconv.ParseUint(s, 10, 64); err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a guild ID (a number such as 123456789012345678)", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func asListen(v any) (string, error) {
	s, err := asString(v)
	if err != nil || s == "" {
		return s, err
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", errors.New("it is not host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return s, nil
}

// asDuration reads a Go duration, or a whole number of days ("7d") or of
// 365-day years ("2y"), since schedules and retention are naturally counted
// in days and years and Go has no unit for either.
func asDuration(v any, emptyIsZero bool) (time.Duration, error) {
	s, err := asString(v)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		if emptyIsZero {
			return 0, nil
		}
		return 0, errors.New("it is empty")
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, perr := strconv.ParseUint(days, 10, 16)
		if perr != nil {
			return 0, errNotAccepted
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if years, ok := strings.CutSuffix(s, "y"); ok {
		n, perr := strconv.ParseUint(years, 10, 8)
		if perr != nil || n > 100 {
			return 0, errNotAccepted
		}
		d = time.Duration(n) * 365 * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, errNotAccepted
	}
	if d < 0 {
		return 0, errors.New("it is negative")
	}
	if d == 0 && !emptyIsZero {
		return 0, errors.New("it is zero")
	}
	return d, nil
}

func asPositiveInt(v any) (int, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case string:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 32); err != nil {
			return 0, errNotAccepted
		}
	default:
		return 0, fmt.Errorf("it is %s", kindOf(v))
	}
	if n < 1 || n > 1<<20 {
		return 0, errNotAccepted
	}
	return int(n), nil
}

// asSize reads a size in bytes: a whole number, or one with a unit of KiB,
// MiB, GiB or TiB (or KB, MB, GB, TB, the same powers of 1024).
func asSize(v any) (int64, error) {
	if n, ok := v.(int64); ok {
		if n < 0 {
			return 0, errors.New("it is negative")
		}
		return n, nil
	}
	s, err := asString(v)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	mult := int64(1)
	for i, unit := range []string{"K", "M", "G", "T"} {
		for _, suffix := range []string{unit + "iB", unit + "B"} {
			if rest, ok := strings.CutSuffix(s, suffix); ok {
				s, mult = strings.TrimSpace(rest), int64(1)<<(10*(i+1))
			}
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, errNotAccepted
	}
	return n * mult, nil
}

// asWebhookURL reads a Discord webhook URL: https, with a path of
// /api/webhooks/{id}/{token} (the API version may be named). Tests may
// name a webhook of a local fake Discord over http on loopback.
func asWebhookURL(v any) (string, error) {
	s, err := asString(v)
	if err != nil || s == "" {
		return s, err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", errNotAccepted
	}
	local := u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1")
	if u.Scheme != "https" && !local {
		return "", errors.New("it must be an https URL")
	}
	if !strings.Contains(u.Path, "/webhooks/") {
		return "", errors.New("it is not a webhook URL (…/api/webhooks/ID/TOKEN); copy it from the channel's Integrations settings")
	}
	return s, nil
}

// minTokenLen is the length below which http.token draws a warning: the
// token is all that guards the status page and /metrics off loopback, so
// a short one can be guessed. It is advice, not a rule: the token may be
// one the owner already uses elsewhere.
const minTokenLen = 16

// asToken reads http.token: empty, or a string with no space at either end
// (a token of spaces would be "set" and guessable). A short token is
// accepted here and warned about by the loader.
func asToken(v any) (string, error) {
	s, err := asString(v)
	if err != nil || s == "" {
		return s, err
	}
	if strings.TrimSpace(s) != s {
		return "", errors.New("it starts or ends with a space")
	}
	return s, nil
}
