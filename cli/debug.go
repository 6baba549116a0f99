package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/internal/atomicfile"
)

const debugUsage = `
Usage: bot debug bundle [-c FILE] [FILE]

Writes one .tar.gz to attach to a bug report (default
bot-debug-YYYYMMDD-HHMMSS.tar.gz in the working directory), holding:

  version.txt   this binary's version, commit, build date and platform
  config.txt    every setting and its value, secrets shown as (set)
  health.json   what 'bot health --json --offline' reports, with the
                running bot's checks (it asks Discord nothing)
  metrics.txt   the running bot's /metrics on http.listen
  logs.jsonl    the last log lines the running bot kept in memory

When the bot does not answer on http.listen, metrics.txt and logs.jsonl
say so instead. Nothing in the archive identifies a person or opens
anything: the token, master key, http.token, webhook URL and backup
passphrase are removed from every file, and from the log lines every user
ID, name, reason and note (any field about a user, and every Discord ID
except those of guilds, channels, messages and interactions). A log line
that is not JSON is left out, since it cannot be checked.
`

func cmdDebug(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("name a subcommand: bundle")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "--help", "-help":
		return parseFlags(e, newFlagSet("debug"), debugUsage, []string{"--help"})
	case "bundle":
		return cmdDebugBundle(ctx, e, args)
	}
	return usagef("unknown subcommand %q: use bundle", sub)
}

func cmdDebugBundle(ctx context.Context, e *env, args []string) error {
	flags := newFlagSet("debug bundle")
	cfgPath := configFlag(flags)
	if err := parseFlags(e, flags, debugUsage, args); err != nil {
		return err
	}
	if flags.NArg() > 1 {
		return usagef("unexpected argument %q", flags.Arg(1))
	}
	now := e.clock()
	out := flags.Arg(0)
	if out == "" {
		out = "bot-debug-" + now.UTC().Format("20060102-150405") + ".tar.gz"
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(e.dir(), out)
	}
	cfg, err := e.loadConfig(*cfgPath, nil)
	if err != nil {
		return err
	}
	secrets := e.bundleSecrets(cfg)

	var health bytes.Buffer
	quiet := *e
	quiet.stdout, quiet.stderr = &health, io.Discard
	healthArgs := []string{"--json", "--offline"}
	if *cfgPath != "" {
		healthArgs = append(healthArgs, "-c", *cfgPath)
	}
	_ = cmdHealth(ctx, &quiet, healthArgs) // an unhealthy report is still the report

	metrics := fetchFromBot(ctx, cfg, "/metrics")
	logs := fetchFromBot(ctx, cfg, "/debug/logs")
	if logs.err == "" {
		logs.body = scrubLogLines(logs.body, secrets)
	}
	if metrics.err == "" {
		metrics.body = scrubMetrics(metrics.body)
	}
	files := []bundleFile{
		{"version.txt", fmt.Sprintf("bot %s\ncommit %s\nbuilt %s\n%s %s/%s\nbundle made %s\n",
			e.build.Version, e.build.Commit, e.build.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH, now.UTC().Format(time.RFC3339))},
		{"config.txt", configListing(cfg, secrets)},
		{"health.json", health.String()},
		{"metrics.txt", metrics.text("metrics")},
		{"logs.jsonl", logs.text("log lines")},
	}
	for i := range files {
		// Every file, not only the logs: a secret can turn up anywhere,
		// such as in an error that health reports.
		files[i].body = removeSecrets(files[i].body, secrets)
	}
	archive, err := tarGz(strings.TrimSuffix(filepath.Base(out), ".tar.gz"), files, now)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(out, archive, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Wrote %s (%s). It holds no secrets or personal data; look inside before you share it.\n", e.rel(out), humanSize(int64(len(archive))))
	if metrics.err != "" {
		fmt.Fprintf(e.stdout, "No metrics or log lines: %s.\n", metrics.err)
	}
	return nil
}

// bundleSecrets lists every secret value the bundle must not hold: those
// of the configuration, the master key from its file, and the backup
// passphrase from the environment, as the logger redacts them.
func (e *env) bundleSecrets(cfg *config.Config) []string {
	secrets := cfg.Secrets()
	if cfg.Keys.MasterKeyFile != "" {
		if raw, err := os.ReadFile(cfg.Keys.MasterKeyFile); err == nil {
			secrets = append(secrets, strings.TrimSpace(string(raw)))
		}
	}
	if pass, ok := lookupEnv(e.environ, passphraseEnv); ok && pass != "" {
		secrets = append(secrets, pass)
	}
	return secrets
}

// removeSecrets replaces every secret in s, longest first so that one
// secret inside another goes whole.
func removeSecrets(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "(removed)")
		}
	}
	return s
}

// configListing is every setting as "key = value", secrets as (set).
func configListing(cfg *config.Config, secrets []string) string {
	var b strings.Builder
	source := cfg.File
	if source == "" {
		source = "none (defaults and environment)"
	}
	fmt.Fprintf(&b, "# config file: %s\n", source)
	secretKeys := map[string]bool{"discord.token": true, "keys.master_key": true, "http.token": true, "alerts.webhook_url": true}
	for _, key := range config.Keys() {
		v, ok := settingValue(cfg, key)
		if !ok {
			fmt.Fprintf(&b, "%s = (not shown)\n", key)
			continue
		}
		if secretKeys[key] || (v != "" && removeSecrets(v, secrets) != v) {
			if v == "" {
				v = "(not set)"
			} else {
				v = "(set)"
			}
		}
		fmt.Fprintf(&b, "%s = %s\n", key, v)
	}
	return b.String()
}

// settingValue finds the field of cfg that key ("section.name") sets by
// its name: the section's field, then the field whose name is the key's
// name without underscores (api_url is APIURL).
func settingValue(cfg *config.Config, key string) (string, bool) {
	section, name, _ := strings.Cut(key, ".")
	find := func(v reflect.Value, want string) (reflect.Value, bool) {
		want = strings.ReplaceAll(want, "_", "")
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && strings.EqualFold(v.Type().Field(i).Name, want) {
				return v.Field(i), true
			}
		}
		return reflect.Value{}, false
	}
	sec, ok := find(reflect.ValueOf(cfg).Elem(), section)
	if !ok || sec.Kind() != reflect.Struct {
		return "", false
	}
	f, ok := find(sec, name)
	if !ok {
		return "", false
	}
	if f.Kind() == reflect.Slice {
		parts := make([]string, f.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(f.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	}
	return fmt.Sprint(f.Interface()), true
}

// fetched is what the running bot answered on one path, or why not.
type fetched struct {
	body string
	err  string
}

// text is the file's content: the answer, or a note saying why there is
// none.
func (f fetched) text(what string) string {
	if f.err != "" {
		return fmt.Sprintf("# no %s: %s\n", what, f.err)
	}
	return f.body
}

// fetchFromBot asks the bot listening on http.listen for path, with
// http.token when one is set.
func fetchFromBot(ctx context.Context, cfg *config.Config, path string) fetched {
	if cfg.HTTP.Listen == "" {
		return fetched{err: "http.listen is not set, so the running bot cannot be asked"}
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return fetched{err: fmt.Sprintf("http.listen %q: %v", cfg.HTTP.Listen, err)}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fetched{err: err.Error()}
	}
	if cfg.HTTP.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.HTTP.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fetched{err: fmt.Sprintf("the bot was not running (nothing answered on %s)", url)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	switch {
	case err != nil:
		return fetched{err: fmt.Sprintf("reading %s: %v", url, err)}
	case resp.StatusCode == http.StatusNotFound:
		return fetched{err: fmt.Sprintf("the bot on %s does not serve %s (an older version?)", host+":"+port, path)}
	case resp.StatusCode != http.StatusOK:
		return fetched{err: fmt.Sprintf("the bot answered %s on %s", resp.Status, url)}
	}
	return fetched{body: string(body)}
}

// Log fields that may hold a person's data: any key containing one of
// these words is removed whatever its value.
var personalKeys = []string{"user", "name", "nick", "reason", "note", "text", "content", "target", "moderator", "member", "author", "actor", "details"}

// idKeys are the fields whose Discord ID stays: these IDs name places and
// events, not people.
var idKeys = map[string]bool{"guild": true, "guild_id": true, "channel": true, "channel_id": true,
	"message": true, "message_id": true, "interaction": true, "interaction_id": true}

// snowflakeRun is what may be a Discord ID: a run of 15 digits or more,
// wherever it stands (after a letter or an underscore too). A longer
// number that is not an ID is masked as well, which a bug report can
// spare.
var snowflakeRun = regexp.MustCompile(`\d{15,}`)

// scrubLogLines keeps each JSON line of logs with the personal fields
// and IDs removed, and drops the lines that are not JSON objects.
func scrubLogLines(logs string, secrets []string) string {
	var b strings.Builder
	dropped := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil || rec == nil {
			dropped++
			continue
		}
		out, err := json.Marshal(scrubValue("", rec, secrets))
		if err != nil {
			dropped++
			continue
		}
		b.Write(out)
		b.WriteByte('\n')
	}
	if dropped > 0 {
		fmt.Fprintf(&b, "{\"msg\":\"bot debug bundle left out %d lines that are not JSON objects\"}\n", dropped)
	}
	return b.String()
}

// scrubValue returns v, found under key, without personal data.
func scrubValue(key string, v any, secrets []string) any {
	lower := strings.ToLower(key)
	for _, p := range personalKeys {
		if strings.Contains(lower, p) {
			return "(removed)"
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			// A key can carry an ID too ("warns.<id>"), or be one.
			masked := removeSecrets(snowflakeRun.ReplaceAllString(k, "(id)"), secrets)
			for n := 2; masked != k; n++ {
				if _, taken := out[masked]; !taken {
					break
				}
				masked = fmt.Sprintf("%s#%d", snowflakeRun.ReplaceAllString(k, "(id)"), n)
			}
			out[masked] = scrubValue(k, val, secrets)
		}
		// An option as Discord sends it, {"name": "reason", "value": …},
		// is named by its "name".
		if name, ok := x["name"].(string); ok {
			if _, has := x["value"]; has {
				out["value"] = scrubValue(name, x["value"], secrets)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = scrubValue(key, val, secrets)
		}
		return out
	case json.Number:
		if !idKeys[lower] && snowflakeRun.MatchString(x.String()) {
			return "(id)"
		}
		return x
	case string:
		s := removeSecrets(x, secrets)
		if idKeys[lower] && snowflakeRun.FindString(s) == s {
			return s
		}
		return snowflakeRun.ReplaceAllString(s, "(id)")
	}
	return v
}

// scrubMetrics masks every Discord ID in the metrics but a guild's or a
// channel's label value, in case a label ever carries a user's.
func scrubMetrics(text string) string {
	var b strings.Builder
	last := 0
	for _, m := range snowflakeRun.FindAllStringIndex(text, -1) {
		before := text[:m[0]]
		b.WriteString(text[last:m[0]])
		if strings.HasSuffix(before, `guild="`) || strings.HasSuffix(before, `channel="`) {
			b.WriteString(text[m[0]:m[1]])
		} else {
			b.WriteString("(id)")
		}
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// bundleFile is one file of the archive.
type bundleFile struct {
	name, body string
}

// tarGz packs files into a directory named dir of a gzipped tar.
func tarGz(dir string, files []bundleFile, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hdr := &tar.Header{Name: dir + "/" + f.name, Mode: 0o600, Size: int64(len(f.body)), ModTime: at, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
