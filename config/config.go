// Package config loads the bot's settings from, in rising precedence, built-in
// defaults, a TOML file, BOT_* environment variables and command-line flags,
// and checks every value, so that a mistake is reported once, at start-up,
// naming the setting, where it came from and what would be accepted.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultFile is the config file read when Source.Path is empty. It is looked
// up in the working directory, which is where `bot init` writes it.
const DefaultFile = "config.toml"

// example is the canonical commented config file. The copy at the top of the
// repository must match it byte for byte (see TestExampleCopyMatches); embed
// cannot reach outside this package's directory, so the original lives here.
//
//go:embed config.example.toml
var example []byte

// Example returns the commented example config file: what `bot init` writes.
// Loading it unchanged gives exactly the defaults.
func Example() []byte {
	return append([]byte(nil), example...)
}

// Config is the loaded and checked configuration. Paths in it are absolute.
type Config struct {
	Discord   Discord
	Storage   Storage
	Log       Log
	HTTP      HTTP
	Backup    Backup
	Keys      KeysConfig
	Run       Run
	Retention Retention
	Limits    Limits
	Alerts    Alerts

	// File is the absolute path of the config file that was read, or "" when
	// none was (the default file was absent).
	File string

	// origins records where each key's value came from, so that errors found
	// after Load (RequireToken) can still name the source.
	origins map[string]origin
}

// Discord is the [discord] section: how to reach Discord.
type Discord struct {
	// Token is the bot token. Secret: never log or print it.
	Token string
	// APIURL is the REST base URL without a trailing slash; "" means
	// Discord's own (https://discord.com/api/v10).
	APIURL string
	// GatewayURL is the WebSocket URL without a query string; "" means the
	// one Discord returns from GET /gateway.
	GatewayURL string
	// GuildIDs limits the bot to these guilds (decimal snowflakes); empty
	// means every guild the bot is in.
	GuildIDs []string
}

// Storage is the [storage] section.
type Storage struct {
	// DataDir holds the database and keysets; absolute after Load.
	DataDir string
}

// Log is the [log] section. It stays strings so the zero value is usable
// and NewLogger can report its own mistakes when built by hand.
type Log struct {
	// Level is one of debug, info, warn, error.
	Level string
	// Format is one of auto, text, json.
	Format string
}

// HTTP is the [http] section: the health-check listener.
type HTTP struct {
	// Listen is host:port; "" disables the listener.
	Listen string
	// Token, when set, is required by the status page, /metrics and
	// /readyz (Authorization: Bearer, or ?token= for the page). 'bot run'
	// refuses to listen beyond loopback without one. Secret.
	Token string
}

// Alerts is the [alerts] section: where and when the bot tells its owner
// that something needs them.
type Alerts struct {
	// WebhookURL is a Discord webhook the alerts are posted to; "" turns
	// alerts off. Secret: the URL carries the webhook's token.
	WebhookURL string
	// GatewayDownAfter is how long the gateway may be down before an alert.
	GatewayDownAfter time.Duration
	// MinFreeDisk is the free space in the data directory, in bytes, below
	// which an alert is posted.
	MinFreeDisk int64
	// ErrorBurst is how many errors within five minutes make an alert.
	ErrorBurst int
}

// Backup is the [backup] section.
type Backup struct {
	// Dir receives backups; absolute after Load (default <data_dir>/backups).
	Dir string
	// Interval between scheduled backups; 0 disables scheduling.
	Interval time.Duration
	// Keep is how many scheduled backups to keep, at least 1.
	Keep int
}

// KeysConfig is the [keys] section: the optional master key that encrypts
// the keysets on disk. It is not named Keys because Keys lists setting names.
type KeysConfig struct {
	// MasterKeyFile is the absolute path of a file holding a base64 master
	// key, or "".
	MasterKeyFile string
	// MasterKey is a base64 master key, normally from BOT_KEYS_MASTER_KEY.
	// Secret: never log or print it.
	MasterKey string
}

// Retention is the [retention] section: how long records are kept.
type Retention struct {
	// Cases is how long a case is kept once it no longer counts (revoked
	// or expired warnings, notes, finished actions); 0 keeps them forever.
	// A server may choose a shorter period, never a longer one.
	Cases time.Duration
	// AfterLeave is how long a server's records are kept after the bot
	// left it (removed, or the server deleted); 0 keeps them forever.
	AfterLeave time.Duration
}

// Limits is the [limits] section: how often members and moderators may
// use commands, how many interactions are handled at once, and the raid
// brake on mass bans and kicks. The defaults are loose enough that a real
// server never meets them and tight enough that a spammer always does.
type Limits struct {
	// MemberBurst is how many commands a member may send at once.
	MemberBurst int
	// MemberEvery is how often a member earns one more command.
	MemberEvery time.Duration
	// ModeratorBurst is how many commands a moderator may send at once.
	ModeratorBurst int
	// ModeratorEvery is how often a moderator earns one more command.
	ModeratorEvery time.Duration
	// GuildBurst is how many members' commands a server may send at once.
	GuildBurst int
	// GuildEvery is how often a server earns one more command.
	GuildEvery time.Duration
	// InFlight is how many interactions are handled at once.
	InFlight int
	// Queue is how many interactions may wait for one in flight to end.
	Queue int
	// MassAction is how many bans and kicks a moderator may make in a
	// minute before the raid brake pauses them.
	MassAction int
}

// Run is the [run] section: settings of `bot run`.
type Run struct {
	// ShutdownTimeout bounds how long `bot run` waits for work in flight
	// after a signal.
	ShutdownTimeout time.Duration
}

// Source says where Load reads settings from. The zero value reads
// config.toml in the working directory, if it exists, and nothing else.
type Source struct {
	// Path is the config file; "" means DefaultFile in the working directory.
	Path string
	// PathExplicit is true when Path came from -c/--config: a missing file
	// is then an error. A missing default file just means "use defaults".
	PathExplicit bool
	// Environ is the environment in os.Environ form; only BOT_* entries
	// are read. Load never reads the process environment itself, so nil
	// means no environment variables at all.
	Environ []string
	// Flags maps a key (such as "log.level") to the value of its flag.
	Flags map[string]string
	// FlagNames optionally maps a key to the flag as the user typed it
	// (such as "--log-level"), for error messages; without it a flag's
	// errors name "command line".
	FlagNames map[string]string
	// WorkDir is what a relative Path, and relative paths from the
	// environment and flags, are relative to; "" means os.Getwd.
	WorkDir string
}

// Warning is a problem that does not stop the bot but that the owner should
// fix, such as a token in a file that others can read.
type Warning struct {
	Message string
}

// Load reads the sources in s, from lowest precedence to highest: defaults,
// the TOML file, BOT_* environment variables, flags. Every problem found is
// returned: one as an *Error, several joined with errors.Join (each an
// *Error). Relative paths from the file (and the defaults) resolve against
// the file's directory; from the environment and flags, against the working
// directory, as a shell user expects.
func Load(s Source) (*Config, []Warning, error) {
	wd := s.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, nil, fmt.Errorf("config: working directory: %w", err)
		}
	}
	wd, err := filepath.Abs(wd)
	if err != nil {
		return nil, nil, fmt.Errorf("config: working directory: %w", err)
	}

	l := newLoader(wd)
	if err := l.loadFile(s); err != nil {
		return nil, nil, err
	}
	l.loadEnv(s.Environ)
	l.loadFlags(s.Flags, s.FlagNames)
	if len(l.errs) > 0 {
		return nil, nil, joinErrors(l.errs)
	}
	c := l.build()
	if len(l.errs) > 0 {
		return nil, nil, joinErrors(l.errs)
	}
	return c, l.warnings(c), nil
}

// joinErrors returns one error unwrapped, so callers can type-assert it,
// and several joined, so the user sees all of them at once.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// RequireToken reports a missing or malformed discord.token. Only commands
// that talk to Discord call it, so `bot init` and `bot backup` work without.
func (c *Config) RequireToken() error {
	t := c.Discord.Token
	o := c.origins["discord.token"]
	e := &Error{Key: "discord.token", Source: o.name, Line: o.line}
	switch {
	case t == "":
		file := "the config file"
		if c.File != "" {
			file = c.File
		}
		e.Source, e.Line = "", 0 // nothing set it, so no source to blame
		e.Problem = "not set"
		e.Accepted = "the bot token from https://discord.com/developers/applications, in BOT_DISCORD_TOKEN or as token under [discord] in " + file
	case strings.HasPrefix(strings.ToLower(t), "bot "):
		e.Problem = `the value starts with "Bot "`
		e.Accepted = "the token alone, without the Bot prefix"
	case strings.TrimSpace(t) != t || strings.ContainsAny(t, " \t\r\n"):
		e.Problem = "the value contains spaces or line breaks"
		e.Accepted = "the token exactly as Discord shows it, with nothing around it"
	default:
		return nil
	}
	return e
}

// Secrets returns the non-empty secret values, for NewRedactingHandler.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range []string{c.Discord.Token, c.Keys.MasterKey, c.HTTP.Token, c.Alerts.WebhookURL} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// warnings reports risky but legal setups: a config file holding secrets
// that other users of the machine can read, secrets on the command line,
// which shows in `ps`, and an http.token short enough to guess.
func (l *loader) warnings(c *Config) []Warning {
	var ws []Warning
	var inFile []string
	for _, k := range []string{"discord.token", "keys.master_key"} {
		o := l.origins[k]
		switch {
		case o.kind == fromFile && l.fileKoanf.String(k) != "":
			inFile = append(inFile, k)
		case o.kind == fromFlag:
			ws = append(ws, Warning{Message: fmt.Sprintf(
				"%s was given on the command line, where other users can see it (ps); use %s instead",
				k, envName(k))})
		}
	}
	if fix := exposedFile(c.File, ownedBySelf); len(inFile) > 0 && fix != "" {
		ws = append(ws, Warning{Message: fmt.Sprintf(
			"%s holds %s and can be read by other users; run: chmod %s %s",
			l.fileShown, strings.Join(inFile, " and "), fix, shellQuote(c.File))})
	}
	// A master key file others can read is refused where it is read (the
	// keys package), with the same advice; a warning here would repeat it.
	if t := c.HTTP.Token; c.HTTP.Listen != "" && t != "" && utf8.RuneCountInString(t) < minTokenLen {
		ws = append(ws, Warning{Message: fmt.Sprintf(
			"http.token is shorter than %d characters, so it can be guessed; set a strong one, such as the output of 'openssl rand -hex 32'",
			minTokenLen)})
	}
	return ws
}

// exposedFile returns the chmod mode that keeps the file at path from
// other users, or "" when it exists and they cannot read it already. The
// user who owns the file is the one who reads it, so 600 for them; a file
// this process reads through its group, as bot.service reads the
// package's /etc/bot/config.toml (root:bot 0640), needs the group, and
// only others lose their access: chmod 600 there would lock the service
// out. owned tells whether this process's user owns a file.
func exposedFile(path string, owned func(fs.FileInfo) bool) string {
	if path == "" || runtime.GOOS == "windows" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	switch perm := fi.Mode().Perm(); {
	case owned(fi):
		if perm&0o044 != 0 {
			return "600"
		}
	case perm&0o004 != 0:
		return "o-rwx"
	}
	return ""
}

// shellQuote quotes p for copy-pasting into a POSIX shell when it needs it.
func shellQuote(p string) string {
	if p != "" && !strings.ContainsFunc(p, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// readConfigFile reads the file named by s. found is false when the default
// file is absent, which is not an error.
func readConfigFile(s Source, wd string) (data []byte, abs, shown string, found bool, err error) {
	shown = s.Path
	if shown == "" {
		shown = DefaultFile
	}
	abs = shown
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(wd, abs)
	}
	data, err = os.ReadFile(abs)
	switch {
	case err == nil:
		return data, abs, shown, true, nil
	case errors.Is(err, fs.ErrNotExist) && !s.PathExplicit:
		return nil, "", shown, false, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", shown, false, &Error{Source: shown, Problem: "config file not found",
			Accepted: "an existing file, or run `bot init` to create one", Err: err}
	default:
		reason := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err // the path is already in Source
		}
		return nil, "", shown, false, &Error{Source: shown, Problem: "cannot read config file: " + reason.Error(), Err: err}
	}
}
