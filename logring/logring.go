// Package logring keeps the bot's most recent log records in memory, so
// that the status page can list the last errors and 'bot debug bundle' can
// fetch the recent log from a running bot without access to its stderr.
//
// A Ring is fed by the slog.Handler that Wrap returns, which passes every
// record on to the handler it wraps. The ring keeps what it is given: put it
// behind the redaction of secrets (config.NewRedactingHandler) so that it
// never holds a token or a key.
package logring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Entry is one log record as the ring keeps it.
type Entry struct {
	Time    time.Time
	Level   slog.Level
	Message string
	// Attrs holds the record's attributes and those of the logger it went
	// through (With), groups flattened into dotted keys ("a.b"), values
	// resolved.
	Attrs []slog.Attr
}

// Attr returns the text of the attribute named key, or "" when the entry
// has none.
func (e Entry) Attr(key string) string {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// MarshalJSON writes the entry as one flat object, in the shape of
// slog's JSON handler: time, level, msg, then the attributes.
func (e Entry) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Attrs)+3)
	for _, a := range e.Attrs {
		m[a.Key] = jsonValue(a.Value)
	}
	m[slog.TimeKey] = e.Time.Format(time.RFC3339Nano)
	m[slog.LevelKey] = e.Level.String()
	m[slog.MessageKey] = e.Message
	return json.Marshal(m)
}

// jsonValue is v as encoding/json should write it; a value of kind Any is
// written as its text, since an error or a struct would otherwise lose
// its content or fail to encode.
func jsonValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool:
		return v.Any()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
		return fmt.Sprintf("%+v", v.Any())
	}
	return v.String()
}

// ring is a fixed-size circular buffer of entries.
type ring struct {
	buf  []Entry
	next int
	full bool
}

func (r *ring) add(e Entry) {
	if len(r.buf) == 0 {
		return
	}
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// oldestFirst returns a copy of the entries, oldest first.
func (r *ring) oldestFirst() []Entry {
	if !r.full {
		return slices.Clone(r.buf[:r.next])
	}
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

// Ring holds the last records of every level, and apart from them the last
// records at error level, so that a burst of ordinary lines never pushes
// the errors an owner looks for out of memory. It is safe for concurrent
// use.
type Ring struct {
	mu   sync.Mutex
	all  ring
	errs ring
}

// New returns a Ring that keeps the last n records and the last nErrors
// records at slog.LevelError or above.
func New(n, nErrors int) *Ring {
	return &Ring{all: ring{buf: make([]Entry, n)}, errs: ring{buf: make([]Entry, nErrors)}}
}

func (r *Ring) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all.add(e)
	if e.Level >= slog.LevelError {
		r.errs.add(e)
	}
}

// Entries returns the records kept, oldest first.
func (r *Ring) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all.oldestFirst()
}

// Errors returns the error records kept, newest first.
func (r *Ring) Errors() []Entry {
	r.mu.Lock()
	e := r.errs.oldestFirst()
	r.mu.Unlock()
	slices.Reverse(e)
	return e
}

// WriteJSONLines writes the records kept, oldest first, one JSON object a
// line.
func (r *Ring) WriteJSONLines(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range r.Entries() {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// Wrap returns a handler that hands each record to next and keeps a copy
// in r. Which records are enabled is next's decision.
func (r *Ring) Wrap(next slog.Handler) slog.Handler {
	return &handler{next: next, ring: r}
}

// handler is the slog.Handler of Wrap.
type handler struct {
	next slog.Handler
	ring *Ring
	// attrs are those given to WithAttrs, already flattened; prefix is
	// the dotted path of the groups opened with WithGroup.
	attrs  []slog.Attr
	prefix string
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	e := Entry{Time: rec.Time, Level: rec.Level, Message: rec.Message,
		Attrs: make([]slog.Attr, len(h.attrs), len(h.attrs)+rec.NumAttrs())}
	copy(e.Attrs, h.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		e.Attrs = flatten(e.Attrs, h.prefix, a)
		return true
	})
	h.ring.add(e)
	return h.next.Handle(ctx, rec)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.attrs = slices.Clip(h.attrs)
	for _, a := range attrs {
		c.attrs = flatten(c.attrs, h.prefix, a)
	}
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	c.next = h.next.WithGroup(name)
	return &c
}

// flatten appends a to dst under prefix, following slog's rules: an empty
// attribute is dropped, a group without a key is inlined, and an empty
// group is dropped.
func flatten(dst []slog.Attr, prefix string, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	if a.Value.Kind() != slog.KindGroup {
		return append(dst, slog.Attr{Key: prefix + a.Key, Value: a.Value})
	}
	if a.Key != "" {
		prefix += a.Key + "."
	}
	for _, g := range a.Value.Group() {
		dst = flatten(dst, prefix, g)
	}
	return dst
}

// ServeHTTP answers with the records kept, as WriteJSONLines writes them,
// for 'bot debug bundle' to fetch from a running bot.
func (r *Ring) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	_ = r.WriteJSONLines(w) // a client gone mid-answer has nothing to be told
}
