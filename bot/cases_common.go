package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/rest"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// This file holds what the case commands (/warn, /note, /unwarn, /case)
// share: running a command behind a deferral, finding a case, looking up a
// target, and keeping embeds within Discord's limits.

// Limits on text typed into the case commands, in characters.
const (
	maxReason = 512
	maxNote   = 1000
)

// deferredHandler does a command's work after the deferral and returns what
// replaces the "thinking…" message. Any error is shown in its place.
type deferredHandler func(ctx context.Context, data discord.SlashCommandInteractionData, e *handler.CommandEvent, log *slog.Logger) (string, []discord.Embed, error)

// deferred answers at once with an ephemeral deferral, then runs h and puts
// its answer, or its error, in the deferred reply.
//
// Errors are shown here rather than by the mux's error hook: after a
// deferral the hook first tries a second callback, which Discord refuses
// (40060) and discordtest records as a violation, and only then edits.
func (b *Bot) deferred(command string, h deferredHandler) handler.SlashCommandHandler {
	return func(data discord.SlashCommandInteractionData, e *handler.CommandEvent) error {
		if err := b.deferEphemeral(e); err != nil {
			return fmt.Errorf("defer /%s: %w", command, err)
		}
		log := b.interactionLog(e.GuildID(), e.ID(), command)
		content, embeds, err := h(e.Ctx, data, e, log)
		if err != nil {
			content, embeds = b.failureText(log, err), []discord.Embed{}
		}
		if err := b.editReply(e, content, embeds...); err != nil {
			log.Warn("could not fill in the deferred reply", errAttr(err))
		}
		return nil
	}
}

// interactionLog returns the logger for one interaction: each line carries
// the guild, the command and the interaction ID, so a moderator's report
// can be matched to the log.
func (b *Bot) interactionLog(guildID *snowflake.ID, id snowflake.ID, command string) *slog.Logger {
	guild := ""
	if guildID != nil {
		guild = guildID.String()
	}
	return b.log.With(slog.String("guild", guild), slog.String("command", command), slog.String("interaction", id.String()))
}

// failureText is what the user sees for err: a *UserError's message, or an
// error ID that matches the logged details.
func (b *Bot) failureText(log *slog.Logger, err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	id := newErrorID()
	log.Error("interaction failed", slog.String("error_id", id), errAttr(err))
	return fmt.Sprintf("Something went wrong (error ID %s). The bot's owner can find the details in its log.", id)
}

// findCase returns case number of the guild. A case of another guild is as
// missing as one never made: moderators see only their own server's cases.
func (b *Bot) findCase(ctx context.Context, mc *modContext, number int64) (storage.Case, error) {
	c, err := b.opts.Stores.Cases.Get(ctx, mc.guild, number)
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

// caseTarget builds the Target of a stored case's user for the permission
// check.
func (b *Bot) caseTarget(ctx context.Context, mc *modContext, c storage.Case) (Target, error) {
	id, err := snowflake.Parse(c.TargetID)
	if err != nil {
		// Not wrapped: the parse error would quote the decrypted ID into the log.
		return Target{}, fmt.Errorf("case %d has a malformed user ID", c.Number)
	}
	return b.memberTarget(ctx, mc.guildID, id)
}

// memberTarget builds the Target of a case's user for the permission check.
// The gateway cache holds few members (the bot does not ask for the
// privileged members intent), so it asks REST; a user who left is a target
// without roles, as CheckTarget expects.
func (b *Bot) memberTarget(ctx context.Context, guildID, userID snowflake.ID) (Target, error) {
	if m, ok := b.client.Caches().Member(guildID, userID); ok {
		return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs}, nil
	}
	m, err := b.client.Rest().GetMember(guildID, userID, rest.WithCtx(withoutDeadline(ctx)))
	switch {
	case err == nil:
		return Target{UserID: userID, IsMember: true, RoleIDs: m.RoleIDs}, nil
	case discordCode(err) == codeUnknownMember || discordCode(err) == codeUnknownUser:
		return Target{UserID: userID}, nil
	}
	// The user ID stays out of the error, which is logged: it may be one
	// decrypted from a case.
	return Target{}, fmt.Errorf("fetch the member a case is about: %w", err)
}

// guildName names a guild for a DM, where the member may not know which
// server the message is about. It reads the gateway cache, then REST.
func (b *Bot) guildName(ctx context.Context, guildID snowflake.ID) string {
	if g, ok := b.client.Caches().Guild(guildID); ok && g.Name != "" {
		return g.Name
	}
	g, err := b.client.Rest().GetGuild(guildID, false, rest.WithCtx(withoutDeadline(ctx)))
	if err != nil {
		b.log.Warn("could not fetch the guild's name", slog.String("guild", guildID.String()), errAttr(err))
		return "a server"
	}
	return g.Name
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
func invokerName(e *handler.CommandEvent) string {
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
