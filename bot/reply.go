package bot

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/disgo/handler"
	"github.com/disgoorg/disgo/rest"
)

// UserError is a refusal or a mistake the user can act on. Its message is
// shown as it is, ephemerally; any other error is logged and the user sees
// only an error ID.
type UserError struct{ Msg string }

// Error returns the message as the user sees it.
func (e *UserError) Error() string { return e.Msg }

// userErrorf returns a *UserError with a formatted message.
func userErrorf(format string, a ...any) error { return &UserError{fmt.Sprintf(format, a...)} }

// noMentions stops every mention in a bot message from pinging anyone,
// whatever a reason or note contains.
func noMentions() *discord.AllowedMentions { return &discord.AllowedMentions{} }

// responder is the part of an interaction event that can answer it.
type responder interface {
	CreateMessage(discord.MessageCreate, ...rest.RequestOpt) error
}

// reply answers an interaction with a plain message that pings no one.
func (b *Bot) reply(e responder, content string, ephemeral bool) error {
	msg := discord.MessageCreate{Content: content, AllowedMentions: noMentions()}
	if ephemeral {
		msg.Flags = discord.MessageFlagEphemeral
	}
	return e.CreateMessage(msg, rest.WithCtx(withoutDeadline(b.baseCtx)))
}

// handleError is the mux's error hook: a UserError is shown to the user, and
// anything else is logged with an ID that the user's message repeats.
func (b *Bot) handleError(e *handler.InteractionEvent, err error) {
	msg := b.failureText(b.interactionLog(e.GuildID(), e.ID(), ""), err)
	if e.Type() == discord.InteractionTypeAutocomplete {
		return
	}
	resp := discord.MessageCreate{Content: msg, Flags: discord.MessageFlagEphemeral, AllowedMentions: noMentions()}
	ctx := rest.WithCtx(withoutDeadline(b.baseCtx))
	rerr := e.CreateMessage(resp, ctx)
	if rerr == nil || discordCode(rerr) != codeAlreadyAnswered {
		if rerr != nil {
			b.log.Warn("could not tell the user about an error", errAttr(rerr))
		}
		return
	}
	// Already answered by a deferral (handlers that defer should use
	// b.deferred, which shows errors itself): replace the "thinking" message.
	upd := discord.MessageUpdate{Content: &msg, AllowedMentions: noMentions(), Embeds: &[]discord.Embed{}, Components: &[]discord.ContainerComponent{}}
	if _, uerr := e.UpdateInteractionResponse(upd, ctx); uerr != nil {
		b.log.Warn("could not tell the user about an error", errAttr(uerr))
	}
}

func (b *Bot) notFound(e *handler.InteractionEvent) error {
	return &UserError{"This command is not available in this version of the bot."}
}

func newErrorID() string {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}

// userPathID finds a user ID in a REST path inside an error message: a
// failed request's error carries its URL, such as /guilds/G/members/U.
var userPathID = regexp.MustCompile(`(/(?:members|bans|users|recipients)/)\d{15,21}`)

// errAttr is the log attribute for err, with user IDs in REST paths
// masked: user IDs are personal data, stored only encrypted, and the
// interaction ID on the same log line leads to the case.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.String("err", "")
	}
	return slog.String("err", userPathID.ReplaceAllString(err.Error(), "${1}{user}"))
}
