package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/confmap"
	env "github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"
)

// envIgnored lists BOT_* variables that are not settings but are read
// elsewhere: the backup passphrase (by `bot backup` and `bot restore`, never
// stored in a Config) and `make test-long`'s switch. They must not fail Load.
var envIgnored = map[string]bool{"BOT_LONG_TESTS": true, "BOT_BACKUP_PASSPHRASE": true}

type originKind int

const (
	fromDefault originKind = iota
	fromFile
	fromEnv
	fromFlag
)

// origin is where a key's current value came from: it names the source in
// errors and picks the directory that a relative path is relative to.
type origin struct {
	kind originKind
	name string // file as the user wrote it, env var name, or flag
	line int    // in the file; 0 when unknown or not a file
}

// loader merges the layers into one koanf instance, layer by layer, so it
// can remember which layer set each key.
type loader struct {
	k         *koanf.Koanf
	fileKoanf *koanf.Koanf // the file alone, to tell which secrets it holds
	origins   map[string]origin
	errs      []error
	wd        string
	fileAbs   string
	fileShown string
}

func newLoader(wd string) *loader {
	l := &loader{k: koanf.New("."), fileKoanf: koanf.New("."), origins: map[string]origin{}, wd: wd}
	defaults := map[string]any{}
	for _, s := range settings {
		defaults[s.key] = s.def
		l.origins[s.key] = origin{kind: fromDefault, name: "default"}
	}
	// confmap with a delimiter unflattens "a.b" keys; it cannot fail.
	_ = l.k.Load(confmap.Provider(defaults, "."), nil)
	return l
}

// loadFile reads the TOML file. A syntax error stops everything (nothing
// after it can be trusted); unknown keys are collected in l.errs.
func (l *loader) loadFile(s Source) error {
	data, abs, shown, found, err := readConfigFile(s, l.wd)
	l.fileShown = shown
	if err != nil || !found {
		return err
	}
	l.fileAbs = abs
	if err := l.fileKoanf.Load(rawbytes.Provider(data), toml.Parser()); err != nil {
		return tomlError(shown, data, err)
	}
	ok := true
	for _, key := range l.fileKoanf.Keys() {
		line := findLine(data, key)
		if lookup(key) == nil {
			if m, isMap := l.fileKoanf.Get(key).(map[string]any); isMap && len(m) == 0 &&
				slices.Contains(sections(), key) {
				continue // an empty [section] is harmless
			}
			l.errs = append(l.errs, unknownKey(key, shown, line, false))
			ok = false
			continue
		}
		l.origins[key] = origin{kind: fromFile, name: shown, line: line}
	}
	if ok {
		if err := l.k.Merge(l.fileKoanf); err != nil {
			return fmt.Errorf("config: merge %s: %w", shown, err)
		}
	}
	return nil
}

// tomlError turns a parser error into one that points at the line.
func tomlError(shown string, data []byte, err error) error {
	e := &Error{Source: shown, Problem: "not valid TOML: " + strings.TrimPrefix(err.Error(), "toml: "), Err: err}
	var de *gotoml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		e.Line, e.Problem = row, fmt.Sprintf("not valid TOML (column %d): %s", col, msg)
	} else {
		e.Line = errorLine(data, err)
	}
	e.Accepted = `key = "value" lines under [section] headers, as in config.example.toml`
	return e
}

// errorLine finds the line of a TOML error that carries no position: the
// parser reports a table or key defined twice ("table limits already
// exists") with the name alone. The first run of whole lines that fails
// with the same message ends at the line that defines it again. A run
// that ends inside a multi-line value fails with another message, so it
// cannot be taken for the line. 0 means not found.
func errorLine(data []byte, err error) int {
	want := err.Error()
	// ends[i] is the end of line i+1.
	var ends []int
	for end := 0; end < len(data); {
		if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(data)
		}
		ends = append(ends, end)
	}
	fails := func(n int) bool {
		var m map[string]any
		e := gotoml.Unmarshal(data[:ends[n-1]], &m)
		return e != nil && e.Error() == want
	}
	// The parser stops at the second definition, so every run of lines
	// that reaches it fails with the message and none shorter does: a
	// binary search finds the line in a few decodes of a large file. The
	// line found is checked, so a file where that does not hold gets no
	// line rather than a wrong one.
	lo, hi := 1, len(ends)
	if hi == 0 || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > 1 && fails(lo-1) {
		return 0
	}
	return lo
}

// loadEnv reads BOT_* variables. A nil environ means none: Load never
// reads the process environment behind the caller's back.
func (l *loader) loadEnv(environ []string) {
	newOrigins := map[string]origin{}
	p := env.Provider(".", env.Opt{
		Prefix:      "BOT_",
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if envIgnored[name] {
				return "", nil
			}
			key := envKey(name)
			if lookup(key) == nil {
				l.errs = append(l.errs, unknownKey(key, name, 0, true))
				return "", nil
			}
			newOrigins[key] = origin{kind: fromEnv, name: name}
			return key, value
		},
	})
	ek := koanf.New(".")
	if err := ek.Load(p, nil); err != nil {
		l.errs = append(l.errs, fmt.Errorf("config: environment: %w", err))
		return
	}
	if err := l.k.Merge(ek); err != nil {
		l.errs = append(l.errs, fmt.Errorf("config: environment: %w", err))
		return
	}
	maps.Copy(l.origins, newOrigins)
}

// loadFlags applies flag values, keyed by setting key.
func (l *loader) loadFlags(flags, names map[string]string) {
	m := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(flags)) {
		name := names[key]
		if name == "" {
			name = "command line"
		}
		if lookup(key) == nil {
			l.errs = append(l.errs, unknownKey(key, name, 0, false))
			continue
		}
		m[key] = flags[key]
		l.origins[key] = origin{kind: fromFlag, name: name}
	}
	fk := koanf.New(".")
	_ = fk.Load(confmap.Provider(m, "."), nil)
	if err := l.k.Merge(fk); err != nil {
		l.errs = append(l.errs, fmt.Errorf("config: flags: %w", err))
	}
}

// build checks every value and fills a Config.
func (l *loader) build() *Config {
	c := &Config{File: l.fileAbs, origins: l.origins}
	for _, s := range settings {
		if err := s.apply(c, l.k.Get(s.key)); err != nil {
			l.errs = append(l.errs, l.valueError(s, err))
		}
	}
	if len(l.errs) > 0 {
		return c
	}
	c.Storage.DataDir = l.resolve("storage.data_dir", c.Storage.DataDir)
	c.Backup.Dir = l.resolve("backup.dir", c.Backup.Dir)
	if c.Backup.Dir == "" {
		c.Backup.Dir = filepath.Join(c.Storage.DataDir, "backups")
	}
	c.Keys.MasterKeyFile = l.resolve("keys.master_key_file", c.Keys.MasterKeyFile)

	if c.Keys.MasterKey != "" && c.Keys.MasterKeyFile != "" {
		o := l.origins["keys.master_key"]
		l.errs = append(l.errs, &Error{Key: "keys.master_key", Source: o.name, Line: o.line,
			Problem:  "is set together with keys.master_key_file",
			Accepted: "only one of them"})
	}
	return c
}

// valueError describes a value that did not parse, without echoing secrets.
func (l *loader) valueError(s setting, err error) *Error {
	o := l.origins[s.key]
	shown := "the value"
	if !s.secret {
		shown = showValue(l.k.Get(s.key))
	}
	p := shown + " is not accepted"
	if msg := err.Error(); msg != "" {
		p += ": " + msg
	}
	return &Error{Key: s.key, Source: o.name, Line: o.line, Problem: p, Accepted: s.accepted}
}

// resolve makes a relative path absolute. Values from the file and the
// defaults are relative to the file's directory, so a config directory can
// move as a whole; values from the environment and flags are relative to
// the working directory, as anything typed in a shell is.
func (l *loader) resolve(key, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	base := l.wd
	if k := l.origins[key].kind; (k == fromFile || k == fromDefault) && l.fileAbs != "" {
		base = filepath.Dir(l.fileAbs)
	}
	return filepath.Join(base, p)
}

// showValue renders a non-secret value for an error message, in TOML-ish
// form, shortened so a pasted blob does not flood the terminal.
func showValue(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	case map[string]any:
		s = "a table"
	case []any:
		items := make([]string, len(x))
		for i, it := range x {
			items[i] = showValue(it)
		}
		s = "[" + strings.Join(items, ", ") + "]"
	default:
		s = fmt.Sprintf("%v", x)
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}
