package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// This file holds what the case commands (/warn, /note, /unwarn, /case)
// share: finding a case, looking up a target, and keeping embeds within
// Discord's limits.

// Limits on text typed into the case commands, in characters.
const (
	maxReason = 512
	maxNote   = 1000
)

// findCase returns case number of the guild. A case of another guild is as
// missing as one never made: moderators see only their own server's cases.
func (h *handlers) findCase(ctx context.Context, mc *modContext, number int64) (storage.Case, error) {
	c, err := h.stores.Cases.Get(ctx, mc.guild, number)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Case{}, noCase(number)
	}
	return c, err
}

func noCase(number int64) error {
	return userErrorf("There is no case #%d in this server.", number)
}

// caseNumber reads a case number option. Discord enforces min_value, but a
// client may send anything, and no case has a number below 1.
func caseNumber(data discord.SlashCommandInteractionData, name string) (int64, error) {
	n, ok := data.OptInt(name)
	if !ok || n < 1 {
		return 0, &UserError{"Give the number of a case, such as 12."}
	}
	return int64(n), nil
}

// caseOf is the prologue of the commands that work on one stored case
// (/case view, /case reason, /unwarn): the invoker must be a moderator, and
// the case the option numbers must exist in this server. check, when not
// nil, runs before the case is looked up, so that typed input is refused
// before a missing case is reported.
func (h *handlers) caseOf(ctx context.Context, e *event, data discord.SlashCommandInteractionData, command, option string, check func() error) (*modContext, storage.Case, error) {
	mc, err := h.moderatorContext(ctx, e, command)
	if err != nil {
		return nil, storage.Case{}, err
	}
	number, err := caseNumber(data, option)
	if err != nil {
		return nil, storage.Case{}, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, storage.Case{}, err
		}
	}
	c, err := h.findCase(ctx, mc, number)
	return mc, c, err
}

// checkCaseTarget applies the permission rules to a change of a stored
// case: rewriting someone's record is acting on them, so no one changes a
// case about themselves or about someone ranked at or above them. verb is
// as for CheckTarget.
func (h *handlers) checkCaseTarget(ctx context.Context, mc *modContext, c storage.Case, verb string) error {
	id, err := snowflake.Parse(c.TargetID)
	if err != nil {
		// Not wrapped: the parse error would quote the decrypted ID into the log.
		return fmt.Errorf("case %d has a malformed user ID", c.Number)
	}
	target, err := h.discord.memberTarget(ctx, mc.guildID, id)
	if err != nil {
		return err
	}
	return CheckTarget(mc.actor, target, mc.facts, verb)
}

// userOption reads a required user option, with the member when the user
// is in the server (nil otherwise). Discord always sends a required option,
// but a missing one must not become a case against user 0.
func userOption(data discord.SlashCommandInteractionData, name string) (discord.User, *discord.ResolvedMember, error) {
	u, ok := data.OptUser(name)
	if !ok || u.ID == 0 {
		return discord.User{}, nil, &UserError{"Choose a user."}
	}
	if m, ok := data.OptMember(name); ok {
		return u, &m, nil
	}
	return u, nil, nil
}

// invokerName is the username of whoever ran the command, stored with the
// case so that it stays readable after the account is gone.
func invokerName(e *event) string {
	if m := e.Member(); m != nil {
		return m.User.Username
	}
	return e.User().Username
}

// kindNoun is a case kind with its article, for sentences.
func kindNoun(k storage.CaseKind) string {
	switch k {
	case storage.CaseWarning:
		return "a warning"
	case storage.CaseNote:
		return "a note"
	case storage.CaseTimeout:
		return "a timeout"
	case storage.CaseUntimeout:
		return "a lifted timeout"
	case storage.CaseKick:
		return "a kick"
	case storage.CaseBan:
		return "a ban"
	case storage.CaseUnban:
		return "an unban"
	}
	return "a case"
}

// expiryText says when a warning stops counting, in each reader's time zone.
func expiryText(c storage.Case) string {
	if c.ExpiresAt.IsZero() {
		return "never expires"
	}
	return "expires " + relativeTime(c.ExpiresAt)
}

// joinLines joins the non-empty parts of a reply, one per line.
func joinLines(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n")
}

// Discord's embed limits, in characters.
const (
	embedTitleMax       = 256
	embedDescriptionMax = 4096
	embedFieldValueMax  = 1024
	embedTotalMax       = 6000
)

// fitEmbed cuts an embed's texts to Discord's limits. Escaping can double a
// reason's length, so a reason within the command's limit can still
// overflow a field, and Discord would then refuse the whole message.
func fitEmbed(e discord.Embed) discord.Embed {
	e.Title = clipRunes(e.Title, embedTitleMax)
	e.Description = clipRunes(e.Description, embedDescriptionMax)
	fields := make([]discord.EmbedField, len(e.Fields))
	for i, f := range e.Fields {
		f.Value = clipRunes(f.Value, embedFieldValueMax)
		fields[i] = f
	}
	e.Fields = fields
	return e
}

// embedSize counts the characters Discord counts against embedTotalMax.
func embedSize(e discord.Embed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	return n
}

// clipRunes shortens s to at most n characters, ending with "…" when cut.
// A cut that would split an escape ("\*") drops the lone backslash, which
// would otherwise escape the ellipsis.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	if strings.HasSuffix(cut, `\`) && !strings.HasSuffix(cut, `\\`) {
		cut = cut[:len(cut)-1]
	}
	return cut + "…"
}

// oneLine folds a text's line breaks into spaces, for a one-line label.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
