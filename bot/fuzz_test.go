package bot

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/disgoorg/snowflake/v2"
)

// The fuzz targets of the parsers that read what users type and what
// buttons carry. `go test` runs their seeds (f.Add and testdata/fuzz);
// `make fuzz` runs each for FUZZTIME. Each checks what the parser promises,
// not only that it returns.

// checkUserError fails unless err is a *UserError: a parser of user input
// must say what to type, never produce an internal error.
func checkUserError(t *testing.T, what string, err error) {
	t.Helper()
	var ue *UserError
	if !errors.As(err, &ue) {
		t.Fatalf("%s: err=%v (%T), want a *UserError", what, err, err)
	}
}

// FuzzParseDuration checks that ParseDuration returns a *UserError or a
// duration within its documented bounds that FormatDuration writes back in
// words ParseDuration reads as the same duration, and that ParseTimeout
// agrees with it within Discord's limit.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "12h", "7d", "2w", "1mo", "1y", "1d12h", "1 day 12 hours",
		"never", " NEVER ", "0m", "-5m", "10y", "3651d", "28d", "29d", "1d,2h", "5", "m",
		"99999999999999999999m", "1 day 6 hours 30 minutes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, never, err := ParseDuration(s)
		td, terr := ParseTimeout(s)
		switch {
		case err != nil:
			checkUserError(t, "ParseDuration", err)
			if d != 0 || never {
				t.Fatalf("ParseDuration(%q) = %v, %v with an error, want 0, false", s, d, never)
			}
			if terr == nil {
				t.Fatalf("ParseTimeout(%q) = %v, want the error ParseDuration gave (%v)", s, td, err)
			}
		case never:
			if d != 0 || strings.ToLower(strings.TrimSpace(s)) != "never" {
				t.Fatalf("ParseDuration(%q) = %v, never", s, d)
			}
			if terr == nil {
				t.Fatalf("ParseTimeout(%q) = %v, want an error for a permanent timeout", s, td)
			}
		default:
			if d <= 0 || d > MaxDuration || d%time.Minute != 0 {
				t.Fatalf("ParseDuration(%q) = %v, want a whole number of minutes in (0, %v]", s, d, MaxDuration)
			}
			words := FormatDuration(d)
			back, backNever, err := ParseDuration(words)
			if err != nil || backNever || back != d {
				t.Fatalf("ParseDuration(FormatDuration(%v) = %q) = %v, %v, %v; want %v", d, words, back, backNever, err, d)
			}
			if d <= MaxTimeout && (terr != nil || td != d) {
				t.Fatalf("ParseTimeout(%q) = %v, %v; want %v", s, td, terr, d)
			}
			if d > MaxTimeout && terr == nil {
				t.Fatalf("ParseTimeout(%q) = %v, want an error above %v", s, td, MaxTimeout)
			}
		}
		if terr != nil {
			checkUserError(t, "ParseTimeout", terr)
		}
	})
}

// FuzzFormatDuration checks FormatDuration on any duration: it never
// panics, and what it writes for a whole number of minutes that
// ParseDuration accepts reads back as the same duration.
func FuzzFormatDuration(f *testing.F) {
	for _, d := range []int64{0, -1, 1, int64(time.Second), int64(time.Minute), int64(90 * time.Minute),
		int64(MaxTimeout), int64(MaxDuration), int64(MaxDuration + time.Minute), 1<<63 - 1, -1 << 63} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		d := time.Duration(n)
		words := FormatDuration(d)
		if words == "" || !utf8.ValidString(words) {
			t.Fatalf("FormatDuration(%v) = %q", d, words)
		}
		if d <= 0 || d > MaxDuration {
			return
		}
		back, never, err := ParseDuration(words)
		want := d - d%time.Minute // seconds are dropped
		if d < time.Minute {
			if err == nil {
				t.Fatalf("ParseDuration(FormatDuration(%v) = %q) = %v, want an error for seconds", d, words, back)
			}
			return
		}
		if err != nil || never || back != want {
			t.Fatalf("ParseDuration(FormatDuration(%v) = %q) = %v, %v, %v; want %v", d, words, back, never, err, want)
		}
	})
}

// FuzzParseSnowflake checks that ParseSnowflake returns a *UserError or an
// ID that formats back to exactly the 17 to 20 digits that were typed (bare
// or inside a user mention).
func FuzzParseSnowflake(f *testing.F) {
	for _, s := range []string{"123456789012345678", "<@123456789012345678>", "<@!123456789012345678>",
		" 123456789012345678 ", "<@&123456789012345678>", "<#123456789012345678>", "12345678901234567",
		"18446744073709551615", "18446744073709551616", "0123456789012345678", "+23456789012345678",
		"<@>", "<@!>", "<@123456789012345678", "1234567890123456789012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseSnowflake(s)
		if err != nil {
			checkUserError(t, "ParseSnowflake", err)
			if id != 0 {
				t.Fatalf("ParseSnowflake(%q) = %v with an error, want 0", s, id)
			}
			return
		}
		typed := strings.TrimSpace(s)
		if m, ok := strings.CutPrefix(typed, "<@"); ok {
			typed = strings.TrimPrefix(strings.TrimSuffix(m, ">"), "!")
		}
		got := id.String()
		if got != typed || len(got) < 17 || len(got) > 20 {
			t.Fatalf("ParseSnowflake(%q) = %s, want the 17 to 20 digits typed, %q", s, got, typed)
		}
	})
}

// FuzzCleanText checks that CleanText returns a *UserError or text that is
// valid UTF-8, holds no control character but newline and tab and no
// bidirectional override, has no surrounding space, is min to max code
// points long, and is left unchanged by cleaning it again.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"spamming in #general", "  padded\r\n", "a\x00b", "\u202eevil\u202c",
		"line\rbreak", "\xff\xfe", "👨‍👩‍👧", "\u0085", "\u2066x\u2069", "\t", ""} {
		f.Add(s, 0, 512)
		f.Add(s, 1, 10)
	}
	f.Add("exact", 5, 5)
	f.Add("x", 3, 1)
	f.Fuzz(func(t *testing.T, s string, minLen, maxLen int) {
		out, err := CleanText(s, "reason", minLen, maxLen)
		if err != nil {
			checkUserError(t, "CleanText", err)
			if out != "" {
				t.Fatalf("CleanText(%q) = %q with an error, want empty", s, out)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("CleanText(%q) = %q, not valid UTF-8", s, out)
		}
		for _, r := range out {
			if dropRune(r) || r == '\r' {
				t.Fatalf("CleanText(%q) = %q, holds %U", s, out, r)
			}
		}
		if strings.TrimSpace(out) != out {
			t.Fatalf("CleanText(%q) = %q, has surrounding space", s, out)
		}
		if n := utf8.RuneCountInString(out); n < minLen || n > maxLen {
			t.Fatalf("CleanText(%q, %d, %d) = %q, %d code points", s, minLen, maxLen, out, n)
		}
		if again, err := CleanText(out, "reason", minLen, maxLen); err != nil || again != out {
			t.Fatalf("CleanText(CleanText(%q) = %q) = %q, %v; want it unchanged", s, out, again, err)
		}
	})
}

// FuzzCustomID checks the path of a button click: splitCustomID gives back
// a route and segments that join to the ID clicked, and a /warnings page
// button that parseWarningsPage accepts encodes again to an ID that splits
// and parses to the same page, within Discord's 100 characters.
func FuzzCustomID(f *testing.F) {
	for _, s := range []string{"/warnings-page/123456789012345678/876543210987654321/2/1",
		"/warnings-page/123456789012345678/876543210987654321/2/0", "/warnings-page", "/warnings-page/",
		"/warnings-page/1/2/3", "/warnings-page/1/2/3/4/5", "/warnings-page/a/b/c/d", "warnings-page/1/2/3/1",
		"/warnings-page/18446744073709551616/1/1/1", "/warnings-page/1/1/-9223372036854775808/1",
		"/warnings-page/1/1/+1/x", "", "/", "//", "/a//b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		route, args := splitCustomID(id)
		if !strings.HasPrefix(id, "/") {
			if route != "" || args != nil {
				t.Fatalf("splitCustomID(%q) = %q, %q; want no route", id, route, args)
			}
			return
		}
		if joined := strings.Join(append([]string{route}, args...), "/"); joined != id || strings.Count(route, "/") != 1 {
			t.Fatalf("splitCustomID(%q) = %q, %q; they join to %q", id, route, args, joined)
		}
		if route != warningsPageRoute {
			return
		}
		p, err := parseWarningsPage(args)
		if err != nil {
			return
		}
		checkPageRoundTrip(t, p)
	})
}

// FuzzWarningsPageCustomID checks that every page a button can carry
// encodes to an ID that splits and parses back to the same page.
func FuzzWarningsPageCustomID(f *testing.F) {
	f.Add(uint64(123456789012345678), uint64(876543210987654321), 1, false)
	f.Add(uint64(1<<64-1), uint64(0), -1<<63, true)
	f.Add(uint64(0), uint64(1<<64-1), 1<<63-1, true)
	f.Fuzz(func(t *testing.T, invoker, target uint64, page int, all bool) {
		checkPageRoundTrip(t, warningsPage{invoker: snowflake.ID(invoker), target: snowflake.ID(target), page: page, all: all})
	})
}

// checkPageRoundTrip checks that p's custom ID, split and parsed, is p.
func checkPageRoundTrip(t *testing.T, p warningsPage) {
	t.Helper()
	id := p.customID()
	if len(id) > 100 {
		t.Fatalf("customID(%+v) = %q, %d characters; Discord allows 100", p, id, len(id))
	}
	route, args := splitCustomID(id)
	back, err := parseWarningsPage(args)
	if route != warningsPageRoute || err != nil || back != p {
		t.Fatalf("customID(%+v) = %q, which splits to %q and parses to %+v, %v", p, id, route, back, err)
	}
	if args[0] != strconv.FormatUint(uint64(p.invoker), 10) {
		t.Fatalf("customID(%+v) = %q: invoker segment %q", p, id, args[0])
	}
}
