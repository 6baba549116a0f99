package bot

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/disgoorg/disgo/discord"

	"github.com/modbot/bot/internal/resterr"
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

// showError tells the user about a handler's error: a *UserError's own
// message, or an error ID that the log repeats with the details. It edits
// the answer when the interaction was already answered (deferred).
// Autocompletes get no message: Discord shows none for them.
func (h *handlers) showError(e *event, err error) {
	msg := h.failureText(e, h.interactionLog(e, ""), err)
	if e.Type() == discord.InteractionTypeAutocomplete {
		return
	}
	rerr := e.reply(msg, true)
	if rerr == nil || resterr.Code(rerr) != codeAlreadyAnswered {
		if rerr != nil {
			h.log.Warn("could not tell the user about an error", errAttr(rerr))
		}
		return
	}
	// Already answered by a deferral (handlers that defer should use
	// deferred, which shows errors itself): replace the "thinking" message.
	upd := discord.MessageUpdate{Content: &msg, AllowedMentions: noMentions(), Embeds: &[]discord.Embed{}, Components: &[]discord.ContainerComponent{}}
	if uerr := e.updateResponse(upd); uerr != nil {
		h.log.Warn("could not tell the user about an error", errAttr(uerr))
	}
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
