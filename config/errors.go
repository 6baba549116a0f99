package config

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/modbot/bot/internal/suggest"
)

// Error is a configuration mistake, worded for the person who made it:
//
//	config.toml:12: log.level: "verbose" is not accepted; use one of debug, info, warn, error
//	BOT_DISCORD_TOKN: discord.tokn: unknown setting; did you mean BOT_DISCORD_TOKEN?
//
// It never contains the value of a secret.
type Error struct {
	// Key is the setting, "" for problems with the file as a whole.
	Key string
	// Source is where the value came from: the config file as given, an
	// environment variable name, a flag, or "command line".
	Source string
	// Line is the 1-based line in the config file, 0 when unknown.
	Line int
	// Problem says what is wrong, e.g. `"verbose" is not accepted`.
	Problem string
	// Accepted says what would be accepted, e.g. "one of debug, info".
	Accepted string
	// Suggestion is the setting the user probably meant, for unknown keys.
	Suggestion string
	// Err is the underlying error, if any (a TOML decode error, an I/O error).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" && e.Key != e.Source {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	switch {
	case e.Suggestion != "":
		fmt.Fprintf(&b, "; did you mean %s?", e.Suggestion)
	case e.Accepted != "":
		b.WriteString("; use ")
		b.WriteString(e.Accepted)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// unknownKey builds the error for a key no setting has, with the nearest
// known key as a suggestion, spelled as the user would write it there.
func unknownKey(key, source string, line int, isEnv bool) *Error {
	e := &Error{Key: key, Source: source, Line: line, Problem: "unknown setting"}
	for _, s := range settings {
		if strings.HasPrefix(key, s.key+".") {
			e.Problem += ": " + s.key + " is a single value, not a table"
			e.Accepted = s.accepted
			return e
		}
	}
	if s := nearestKey(key); s != "" {
		e.Suggestion = s
		if isEnv {
			e.Suggestion = envName(s)
		}
		return e
	}
	sec, _, _ := strings.Cut(key, ".")
	var inSection []string
	for _, s := range settings {
		if strings.HasPrefix(s.key, sec+".") {
			name := s.key
			if isEnv {
				name = envName(name)
			}
			inSection = append(inSection, name)
		}
	}
	if len(inSection) > 0 {
		e.Accepted = "one of " + strings.Join(inSection, ", ")
	} else {
		e.Accepted = "a setting in one of the sections " + strings.Join(sections(), ", ") +
			" (config.example.toml lists them all)"
	}
	return e
}

// nearestKey returns the known key nearest to key, or "" if none is close.
// Typos are caught by edit distance; a right name in the wrong section
// (or with no section, as in BOT_TOKEN) by comparing the name part.
func nearestKey(key string) string {
	best, bestD := "", -1
	for _, k := range Keys() {
		if d := suggest.Distance(key, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(key)/4) {
		return best
	}
	_, afterSection, _ := strings.Cut(key, ".")
	candidates := []string{strings.ReplaceAll(key, ".", "_"), afterSection}
	for _, k := range Keys() {
		_, name, _ := strings.Cut(k, ".")
		for _, c := range candidates {
			if c != "" && suggest.Distance(c, name) <= 1 {
				return k
			}
		}
	}
	return ""
}

// findLine returns the 1-based line where key ("section.name") is set in a
// TOML document, or 0. It is a plain scan of [section] headers and
// `name =` lines, which covers files written from config.example.toml;
// multi-line strings or inline tables may hide a key from it, and then the
// error just has no line number.
func findLine(data []byte, key string) int {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				continue
			}
			section = normalizeKey(strings.Trim(s[:end], "[ \t"))
			if section == key {
				return n // a table where a value was expected
			}
			continue
		}
		name, _, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		full := normalizeKey(name)
		if section != "" {
			full = section + "." + full
		}
		if full == key || strings.HasPrefix(key, full+".") {
			return n
		}
	}
	return 0
}

// normalizeKey turns a TOML key as written (`"discord" . token`) into the
// dotted form koanf uses (`discord.token`).
func normalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
