package bot

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/disgoorg/snowflake/v2"
)

// CleanText prepares free text a user typed (a reason, a note) for storing
// and showing: it makes the text valid UTF-8, turns CRLF and lone CR into
// LF, removes control characters other than newline and tab, removes the
// bidirectional overrides that could make a stored reason display in a
// misleading order, and trims surrounding space. Emoji joiners and other
// invisible format characters stay, since emoji sequences need them.
//
// The cleaned text must be min to max characters long, counted in Unicode
// code points as Discord counts them, not in bytes. Otherwise CleanText
// returns a *UserError that names field ("reason") and the limits. A min of
// 0 allows empty text.
func CleanText(s string, field string, min, max int) (string, error) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if dropRune(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)

	n := utf8.RuneCountInString(s)
	if n >= min && n <= max {
		return s, nil
	}
	yours := fmt.Sprintf("yours has %d", n)
	if n == 0 {
		yours = "yours is empty"
	}
	switch {
	case min == max:
		return "", userErrorf("The %s must be %s; %s.", field, characters(max), yours)
	case min <= 0:
		return "", userErrorf("The %s can be at most %s; %s.", field, characters(max), yours)
	}
	return "", userErrorf("The %s must be %d–%s; %s.", field, min, characters(max), yours)
}

// dropRune reports whether CleanText removes r: C0 and C1 controls except
// newline and tab (NUL among them, which SQLite text and many terminals
// mishandle), and the bidirectional embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069).
func dropRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case unicode.IsControl(r):
		return true
	}
	return ('\u202a' <= r && r <= '\u202e') || ('\u2066' <= r && r <= '\u2069')
}

func characters(n int) string {
	if n == 1 {
		return "1 character"
	}
	return fmt.Sprintf("%d characters", n)
}

var errNotUser = &UserError{"That doesn't look like a user. Mention them (@name) or paste their user ID, a number of 17 to 20 digits."}

// ParseSnowflake reads a user ID typed by hand: the bare number, or a user
// mention as Discord writes it (<@123…> or the older <@!123…>). Spaces
// around it are ignored. Anything else, a role or channel mention included,
// is a *UserError that says what to type.
//
// The number must have 17 to 20 digits: every Discord ID made since Discord
// launched in 2015 has at least 17, and a shorter number is a typo that
// would otherwise surface later as a confusing "unknown user".
func ParseSnowflake(s string) (snowflake.ID, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "<@&"):
		return 0, &UserError{"That's a role, not a user. Mention a user (@name) or paste their user ID."}
	case strings.HasPrefix(s, "<#"):
		return 0, &UserError{"That's a channel, not a user. Mention a user (@name) or paste their user ID."}
	case strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">"):
		s = strings.TrimPrefix(s[2:len(s)-1], "!")
	}
	if len(s) < 17 || len(s) > 20 || s[0] == '0' || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errNotUser
	}
	// ParseUint rejects a 20-digit number beyond the 64 bits an ID has.
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errNotUser
	}
	return snowflake.ID(id), nil
}
