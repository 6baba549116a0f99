package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// Redacted replaces every occurrence of a secret in log output.
const Redacted = "[REDACTED]"

// MinSecretLen is the shortest secret the redacting handler looks for.
// Shorter values are ignored: redacting a 1-character test token would
// mangle every line, and real tokens and keys are far longer.
const MinSecretLen = 8

// IsTerminal reports whether w is a terminal, for NewLogger's isTerminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewLogger returns a logger writing to w at c.Level, as c.Format says:
// "text", or "auto" on a terminal, gives tint's readable lines (coloured
// only on a terminal); "json", or "auto" elsewhere, gives one JSON object
// per line for log collectors. Empty fields mean the defaults (info, auto).
// Every line passes through NewRedactingHandler with secrets.
func NewLogger(w io.Writer, isTerminal bool, c Log, secrets ...string) (*slog.Logger, error) {
	level, err := c.SlogLevel()
	if err != nil {
		return nil, err
	}
	format := strings.ToLower(c.Format)
	if format == "" {
		format = "auto"
	}
	var h slog.Handler
	switch {
	case format == "text" || format == "auto" && isTerminal:
		h = tint.NewTextHandler(w, &tint.Options{Level: level, NoColor: !isTerminal})
	case format == "json" || format == "auto":
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	default:
		return nil, &Error{Key: "log.format", Problem: fmt.Sprintf("%q is not accepted", c.Format),
			Accepted: "one of " + strings.Join(formats, ", ")}
	}
	return slog.New(NewRedactingHandler(h, secrets...)), nil
}

// SlogLevel returns l.Level as a slog.Level; "" means info.
func (l Log) SlogLevel() (slog.Level, error) {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, &Error{Key: "log.level", Problem: fmt.Sprintf("%q is not accepted", l.Level),
		Accepted: "one of " + strings.Join(levels, ", ")}
}

// NewRedactingHandler wraps h so that no secret reaches the output,
// whatever a dependency logs: disgo logs the gateway IDENTIFY payload,
// token included, and REST headers (Authorization: Bot <token>).
//
// Each occurrence of a secret (also in its JSON-escaped, Go-quoted and
// URL-escaped spellings) is replaced by [REDACTED] in the message, in
// attribute keys and values, in groups at any depth, and in attributes and
// group names given to WithAttrs and WithGroup. Values of kind Any are
// rendered to text first (error → Error(), []byte → string, anything
// else with %+v, which uses String() when there is one) and
// logged as that redacted text, so the wrapped handler never sees the
// original: a map or struct therefore appears as one string, and an error
// keeps only its message. Secrets shorter than MinSecretLen characters are
// ignored. Interaction and webhook tokens, which come and go with traffic,
// are found by their place in a URL (see urlToken) rather than by value.
func NewRedactingHandler(h slog.Handler, secrets ...string) slog.Handler {
	var pairs []string
	for _, p := range spellings(secrets) {
		pairs = append(pairs, p, Redacted)
	}
	return &redactor{h: h, r: strings.NewReplacer(pairs...)}
}

// urlToken finds the secret part of a REST URL: the token after
// /interactions/{id}/ or /webhooks/{id}/ (anyone holding it can answer
// the interaction or post as the webhook for as long as it lives), and
// the value of a query parameter whose name says it is secret. A token
// ends where a URL path segment, a quoted string or a query does.
var urlToken = regexp.MustCompile(`((?:/interactions|/webhooks)/[^/\s"'?#]+/)[^/\s"'?#&\\]+` +
	`|([?&](?i:token|access_token|refresh_token|code|key|secret|password|passphrase)=)[^&\s"'#\\]+`)

// redact returns s with every secret and every URL token replaced.
func (h *redactor) redact(s string) string {
	s = h.r.Replace(s)
	if strings.Contains(s, "/interactions/") || strings.Contains(s, "/webhooks/") || strings.Contains(s, "=") {
		s = urlToken.ReplaceAllString(s, "${1}${2}"+Redacted)
	}
	return s
}

// spellings returns the forms in which each secret may appear in output,
// longest first, because strings.Replacer prefers earlier patterns when
// two match at the same place and a longer secret must win over its prefix.
func spellings(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if utf8.RuneCountInString(s) < MinSecretLen {
			continue
		}
		j, _ := json.Marshal(s)
		forms := []string{
			s,
			strings.Trim(string(j), `"`),
			strings.Trim(strconv.Quote(s), `"`),
			url.QueryEscape(s),
			url.PathEscape(s),
		}
		for _, f := range forms {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// redactor is the handler returned by NewRedactingHandler.
type redactor struct {
	h slog.Handler
	r *strings.Replacer
}

// Enabled implements slog.Handler.
func (h *redactor) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

// Handle implements slog.Handler: it copies the record with everything
// redacted, since a Record's attributes cannot be edited in place.
func (h *redactor) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, nr)
}

// WithAttrs implements slog.Handler.
func (h *redactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = h.attr(a)
	}
	return &redactor{h: h.h.WithAttrs(out), r: h.r}
}

// WithGroup implements slog.Handler.
func (h *redactor) WithGroup(name string) slog.Handler {
	return &redactor{h: h.h.WithGroup(h.redact(name)), r: h.r}
}

func (h *redactor) attr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: h.redact(a.Key), Value: h.value(a.Value)}
}

func (h *redactor) value(v slog.Value) slog.Value {
	v = v.Resolve() // a LogValuer could produce anything
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(h.redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, a := range g {
			out[i] = h.attr(a)
		}
		return slog.GroupValue(out...)
	case slog.KindAny:
		return h.anyValue(v.Any())
	default:
		// Numbers, times and durations: a secret of digits is unlikely but
		// cheap to rule out.
		if s := v.String(); h.redact(s) != s {
			return slog.StringValue(h.redact(s))
		}
		return v
	}
}

// anyValue renders x to text and redacts it. fmt does the rendering
// because it recovers from a String or Error method that panics (a nil
// pointer receiver, say), where calling the method directly would not.
func (h *redactor) anyValue(x any) slog.Value {
	switch t := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.AnyValue(redactedError(h.redact(fmt.Sprint(t))))
	case []byte:
		return slog.StringValue(h.redact(string(t)))
	}
	return slog.StringValue(h.redact(fmt.Sprintf("%+v", x)))
}

// redactedError keeps an error an error after redaction, so handlers that
// treat errors specially still do.
type redactedError string

// Error returns the redacted message.
func (e redactedError) Error() string { return string(e) }
