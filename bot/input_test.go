package bot

import (
	"strings"
	"testing"

	"github.com/disgoorg/snowflake/v2"
)

func TestInputCleanText(t *testing.T) {
	for _, tt := range []struct {
		name     string
		in       string
		min, max int
		want     string
	}{
		{"OK", "spamming links", 1, 512, "spamming links"},
		{"Trimmed", "  \n\tspam \t\n ", 1, 512, "spam"},
		{"CRLF", "line one\r\nline two\rline three", 1, 512, "line one\nline two\nline three"},
		{"KeepsNewlineAndTab", "a\tb\nc", 1, 512, "a\tb\nc"},
		{"StripsNUL", "sp\x00am", 1, 512, "spam"},
		{"StripsC0", "a\x01\x07\x08\x1b[31mb\x7f", 1, 512, "a[31mb"},
		{"StripsC1", "a\u0085\u009bb", 1, 512, "ab"},
		{"StripsBidiOverrides", "abc\u202edef\u202c \u2066x\u2069", 1, 512, "abcdef x"},
		{"KeepsEmojiJoiner", "👩\u200d💻 ok", 1, 512, "👩\u200d💻 ok"},
		{"InvalidUTF8", "a\xffb", 1, 512, "a\uFFFDb"},
		{"MaxInRunesNotBytes", strings.Repeat("é", 512), 1, 512, strings.Repeat("é", 512)},
		{"MaxEmoji", strings.Repeat("🙂", 10), 1, 10, strings.Repeat("🙂", 10)},
		{"ControlsDoNotCount", strings.Repeat("a\x00", 5), 1, 5, "aaaaa"},
		{"EmptyAllowedWhenMinZero", "  ", 0, 512, ""},
		{"ExactLength", "abcd", 4, 4, "abcd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanText(tt.in, "reason", tt.min, tt.max)
			if err != nil {
				t.Fatalf("got=%v, want nil", err)
			}
			if got != tt.want {
				t.Fatalf("got=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestInputCleanTextErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		in       string
		field    string
		min, max int
		want     string
	}{
		{"ErrTooLong", strings.Repeat("x", 600), "reason", 1, 512, "The reason must be 1–512 characters; yours has 600."},
		{"ErrTooLongInRunes", strings.Repeat("é", 513), "reason", 1, 512, "The reason must be 1–512 characters; yours has 513."},
		{"ErrEmpty", "", "reason", 1, 512, "The reason must be 1–512 characters; yours is empty."},
		{"ErrOnlySpaces", " \r\n\t ", "note", 1, 1000, "The note must be 1–1000 characters; yours is empty."},
		{"ErrOnlyControls", "\x00\x01\u202e", "reason", 1, 512, "The reason must be 1–512 characters; yours is empty."},
		{"ErrTooShort", "ab", "reason", 3, 512, "The reason must be 3–512 characters; yours has 2."},
		{"ErrTooLongMinZero", "abcdef", "note", 0, 5, "The note can be at most 5 characters; yours has 6."},
		{"ErrExactLength", "abc", "code", 4, 4, "The code must be 4 characters; yours has 3."},
		{"ErrOneCharacter", "ab", "flag", 1, 1, "The flag must be 1 character; yours has 2."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanText(tt.in, tt.field, tt.min, tt.max)
			if got != "" {
				t.Fatalf("got=%q, want empty text", got)
			}
			wantRefusal(t, err, tt.want)
		})
	}
}

func TestInputParseSnowflake(t *testing.T) {
	const id = "80351110224678912"
	const want snowflake.ID = 80351110224678912
	for _, tt := range []struct {
		name string
		in   string
		want snowflake.ID
	}{
		{"OK", id, want},
		{"Trimmed", "  " + id + "\n", want},
		{"Mention", "<@" + id + ">", want},
		{"NicknameMention", "<@!" + id + ">", want},
		{"MentionTrimmed", " <@!" + id + "> ", want},
		{"NineteenDigits", "1234567890123456789", 1234567890123456789},
		{"MaxUint64", "18446744073709551615", 18446744073709551615},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSnowflake(tt.in)
			if err != nil {
				t.Fatalf("got=%v, want nil", err)
			}
			if got != tt.want {
				t.Fatalf("got=%v, want %v", got, tt.want)
			}
		})
	}
}

func TestInputParseSnowflakeErrors(t *testing.T) {
	notUser := "That doesn't look like a user. Mention them (@name) or paste their user ID, a number of 17 to 20 digits."
	for _, tt := range []struct {
		name string
		in   string
		want string
	}{
		{"ErrEmpty", "", notUser},
		{"ErrName", "spammer#1234", notUser},
		{"ErrTooShort", "1234567890123456", notUser},
		{"ErrTooLong", "123456789012345678901", notUser},
		{"ErrOverflow", "18446744073709551616", notUser},
		{"ErrLeadingZero", "00000000000000000123", notUser},
		{"ErrSign", "+80351110224678912", notUser},
		{"ErrSpaceInside", "80351110 224678912", notUser},
		{"ErrUnclosedMention", "<@80351110224678912", notUser},
		{"ErrEmptyMention", "<@>", notUser},
		{"ErrDoubleBang", "<@!!80351110224678912>", notUser},
		{"ErrUnicodeDigits", "٨٠٣٥١١١٠٢٢٤٦٧٨٩١٢", notUser},
		{"ErrRoleMention", "<@&80351110224678912>", "That's a role, not a user. Mention a user (@name) or paste their user ID."},
		{"ErrChannelMention", "<#80351110224678912>", "That's a channel, not a user. Mention a user (@name) or paste their user ID."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSnowflake(tt.in)
			if got != 0 {
				t.Fatalf("got=%v, want 0", got)
			}
			wantRefusal(t, err, tt.want)
		})
	}
}
