package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxTimeout is the longest timeout Discord accepts.
	MaxTimeout = 28 * 24 * time.Hour
	// MaxDuration is the longest duration ParseDuration accepts. Anything
	// longer is almost surely a typo (an extra zero), and "never" says
	// "forever" more clearly.
	MaxDuration = 10 * 365 * 24 * time.Hour

	day = 24 * time.Hour
)

// durationUnits maps every unit ParseDuration accepts to its length. "m" is
// minutes, as in most moderation bots; months need "mo". A month is 30 days
// and a year 365, since a moderator means "about that long", not a calendar
// date.
var durationUnits = map[string]time.Duration{
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": day, "day": day, "days": day,
	"w": 7 * day, "wk": 7 * day, "wks": 7 * day, "week": 7 * day, "weeks": 7 * day,
	"mo": 30 * day, "month": 30 * day, "months": 30 * day,
	"y": 365 * day, "yr": 365 * day, "yrs": 365 * day, "year": 365 * day, "years": 365 * day,
}

const durationHelp = "Use a duration like 30m, 12h, 7d or 2w, or 'never'."

var (
	errDurationSyntax  = &UserError{"I can't read that duration. " + durationHelp}
	errDurationZero    = &UserError{"The duration must be longer than zero. " + durationHelp}
	errDurationTooLong = &UserError{"The duration can be at most 10 years. Use 'never' for no end."}
)

// ParseDuration reads a duration typed by a moderator: one or more parts of
// a whole number and a unit, such as "30m", "12h", "7d", "2w", "1d12h" or
// "1 day 12 hours", or "never" for no end (then never is true and d is 0).
// Case and surrounding spaces do not matter; spaces and commas may separate
// parts. Units are m, h, d, w, mo and y and their spelled-out forms; seconds
// are not accepted, as no moderation action is that short.
//
// Errors are *UserError and say what is accepted: for unreadable input, for
// zero, and for more than MaxDuration.
func ParseDuration(s string) (d time.Duration, never bool, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "never" {
		return 0, true, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, false, errDurationZero
	}
	i, parts := 0, 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		digits := s[start:i]
		for i < len(s) && s[i] == ' ' {
			i++
		}
		start = i
		for i < len(s) && 'a' <= s[i] && s[i] <= 'z' {
			i++
		}
		unit, ok := durationUnits[s[start:i]]
		if digits == "" || !ok {
			return 0, false, errDurationSyntax
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		// Checking each part against the limit before adding keeps the sum
		// from overflowing, whatever the number of digits.
		if err != nil || n > int64(MaxDuration/unit) || d+time.Duration(n)*unit > MaxDuration {
			return 0, false, errDurationTooLong
		}
		d += time.Duration(n) * unit
		parts++
	}
	if parts == 0 {
		return 0, false, errDurationSyntax
	}
	if d <= 0 {
		return 0, false, errDurationZero
	}
	return d, false, nil
}

// ParseTimeout reads the length of a timeout: ParseDuration, then
// CheckTimeout.
func ParseTimeout(s string) (time.Duration, error) {
	d, never, err := ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if err := CheckTimeout(d, never); err != nil {
		return 0, err
	}
	return d, nil
}

// CheckTimeout returns a *UserError unless d is a timeout Discord accepts:
// longer than zero and at most MaxTimeout. A timeout cannot be "never".
//
// Discord measures its limit from when it receives the request, so a caller
// that sets exactly MaxTimeout should count from the interaction's time (or
// leave a few seconds' margin), not from a clock that may run ahead.
func CheckTimeout(d time.Duration, never bool) error {
	switch {
	case never:
		return &UserError{"A timeout can't be permanent: Discord allows at most 28 days. Use /ban to remove someone for good."}
	case d <= 0:
		return errDurationZero
	case d > MaxTimeout:
		return userErrorf("A timeout can be at most 28 days (Discord's limit); you asked for %s.", FormatDuration(d))
	}
	return nil
}

// FormatDuration writes d for people: "7 days", "12 hours", "1 day 6 hours",
// "2 hours 30 minutes". Weeks are written as days, which reads unambiguously
// beside a date. Seconds are dropped, except that a duration under a minute
// is written in seconds; zero or less is "0 minutes".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0 minutes"
	}
	if d < time.Second {
		return "less than a second"
	}
	if d < time.Minute {
		return plural(int64(d/time.Second), "second")
	}
	var parts []string
	for _, u := range []struct {
		size time.Duration
		name string
	}{{day, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if n := int64(d / u.size); n > 0 {
			parts = append(parts, plural(n, u.name))
			d -= time.Duration(n) * u.size
		}
	}
	return strings.Join(parts, " ")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
