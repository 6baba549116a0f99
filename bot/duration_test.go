package bot

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    string
		want  time.Duration
		never bool
	}{
		{"Minutes", "90m", 90 * time.Minute, false},
		{"Hours", "12h", 12 * time.Hour, false},
		{"Days", "30d", 30 * day, false},
		{"Weeks", "1w", 7 * day, false},
		{"Months", "3mo", 90 * day, false},
		{"Years", "1y", 365 * day, false},
		{"Combined", "1d12h", 36 * time.Hour, false},
		{"CombinedThree", "1w2d3h", 9*day + 3*time.Hour, false},
		{"AnyOrder", "30m1h", 90 * time.Minute, false},
		{"SpaceBetweenParts", "1d 12h", 36 * time.Hour, false},
		{"CommaBetweenParts", "1 day, 12 hours", 36 * time.Hour, false},
		{"SpaceBeforeUnit", "7 d", 7 * day, false},
		{"Trimmed", "  2w \t", 14 * day, false},
		{"UpperCase", "12H", 12 * time.Hour, false},
		{"LeadingZero", "05m", 5 * time.Minute, false},
		{"ZeroPartAllowed", "0d12h", 12 * time.Hour, false},
		{"AtMost10Years", "10y", MaxDuration, false},
		{"Never", "never", 0, true},
		{"NeverCase", " NEVER ", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, never, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("got=%v, want nil", err)
			}
			if d != tt.want || never != tt.never {
				t.Fatalf("got=%v never=%v, want %v never=%v", d, never, tt.want, tt.never)
			}
		})
	}
}

func TestParseDurationUnits(t *testing.T) {
	// Every spelling of every unit, so a unit dropped from the table fails.
	for unit, want := range map[string]time.Duration{
		"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": day, "day": day, "days": day,
		"w": 7 * day, "wk": 7 * day, "wks": 7 * day, "week": 7 * day, "weeks": 7 * day,
		"mo": 30 * day, "month": 30 * day, "months": 30 * day,
		"y": 365 * day, "yr": 365 * day, "yrs": 365 * day, "year": 365 * day, "years": 365 * day,
	} {
		t.Run(unit, func(t *testing.T) {
			d, never, err := ParseDuration("2" + unit)
			if err != nil || never || d != 2*want {
				t.Fatalf("got=%v never=%v err=%v, want %v", d, never, err, 2*want)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	syntax := "I can't read that duration. Use a duration like 30m, 12h, 7d or 2w, or 'never'."
	zero := "The duration must be longer than zero. Use a duration like 30m, 12h, 7d or 2w, or 'never'."
	long := "The duration can be at most 10 years. Use 'never' for no end."
	for _, tt := range []struct {
		name string
		in   string
		want string
	}{
		{"ErrEmpty", "", syntax},
		{"ErrSpaces", "   ", syntax},
		{"ErrNoUnit", "30", syntax},
		{"ErrNoNumber", "d", syntax},
		{"ErrUnknownUnit", "5x", syntax},
		{"ErrSeconds", "30s", syntax},
		{"ErrFraction", "1.5h", syntax},
		{"ErrGoSyntax", "1h30m0s", syntax},
		{"ErrTrailingNumber", "1d12", syntax},
		{"ErrWords", "forever", syntax},
		{"ErrNeverWithMore", "never 1d", syntax},
		{"ErrPlus", "+5m", syntax},
		{"ErrUnicodeDigits", "٣d", syntax},
		{"ErrZero", "0m", zero},
		{"ErrZeroParts", "0d 0h", zero},
		{"ErrNegative", "-5m", zero},
		{"ErrTooLong", "11y", long},
		{"ErrJustTooLong", "3650d1m", long},
		{"ErrHuge", "99999999999999999999999d", long},
		{"ErrOverflowSum", "9223372036h9223372036h", long},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, never, err := ParseDuration(tt.in)
			if d != 0 || never {
				t.Fatalf("got=%v never=%v, want 0 false", d, never)
			}
			wantRefusal(t, err, tt.want)
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   time.Duration
		want string
	}{
		{"Days", 7 * day, "7 days"},
		{"OneDay", day, "1 day"},
		{"Hours", 12 * time.Hour, "12 hours"},
		{"OneHour", time.Hour, "1 hour"},
		{"DayAndHours", 30 * time.Hour, "1 day 6 hours"},
		{"HoursAndMinutes", 150 * time.Minute, "2 hours 30 minutes"},
		{"AllParts", day + time.Hour + time.Minute, "1 day 1 hour 1 minute"},
		{"DaysAndMinutes", 2*day + 5*time.Minute, "2 days 5 minutes"},
		{"MaxTimeout", MaxTimeout, "28 days"},
		{"SecondsDropped", 5*time.Minute + 59*time.Second, "5 minutes"},
		{"Seconds", 45 * time.Second, "45 seconds"},
		{"OneSecond", time.Second, "1 second"},
		{"UnderASecond", time.Millisecond, "less than a second"},
		{"Zero", 0, "0 minutes"},
		{"Negative", -time.Hour, "0 minutes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatDuration(tt.in); got != tt.want {
				t.Fatalf("got=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestDurationRoundTrip(t *testing.T) {
	// What FormatDuration writes, ParseDuration reads back, so a moderator
	// can copy a duration from one message into the next command.
	for _, d := range []time.Duration{time.Minute, 90 * time.Minute, 7 * day, 30*time.Hour + 15*time.Minute, MaxTimeout} {
		t.Run(FormatDuration(d), func(t *testing.T) {
			got, never, err := ParseDuration(FormatDuration(d))
			if err != nil || never || got != d {
				t.Fatalf("got=%v never=%v err=%v, want %v", got, never, err, d)
			}
		})
	}
}

func TestDurationTimeout(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want time.Duration
		err  string
	}{
		{"OK", "1h", time.Hour, ""},
		{"OKMax", "28d", MaxTimeout, ""},
		{"OKMaxInWeeks", "4w", MaxTimeout, ""},
		{"ErrOverMax", "28d1m", 0, "A timeout can be at most 28 days (Discord's limit); you asked for 28 days 1 minute."},
		{"ErrMonth", "1mo", 0, "A timeout can be at most 28 days (Discord's limit); you asked for 30 days."},
		{"ErrNever", "never", 0, "A timeout can't be permanent: Discord allows at most 28 days. Use /ban to remove someone for good."},
		{"ErrSyntax", "soon", 0, "I can't read that duration. Use a duration like 30m, 12h, 7d or 2w, or 'never'."},
		{"ErrZero", "0h", 0, "The duration must be longer than zero. Use a duration like 30m, 12h, 7d or 2w, or 'never'."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeout(tt.in)
			wantRefusal(t, err, tt.err)
			if got != tt.want {
				t.Fatalf("got=%v, want %v", got, tt.want)
			}
		})
	}
	t.Run("CheckZero", func(t *testing.T) {
		wantRefusal(t, CheckTimeout(0, false), errDurationZero.Msg)
	})
	t.Run("CheckNegative", func(t *testing.T) {
		wantRefusal(t, CheckTimeout(-time.Minute, false), errDurationZero.Msg)
	})
}
