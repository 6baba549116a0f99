package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"
)

// maxPendingConfirms bounds the confirmations of one kind waiting for a
// press; the oldest go first.
const maxPendingConfirms = 1000

// pendingConfirm is a /clearwarnings or /privacy erase waiting for its
// confirm button, under a random key the buttons carry: a press takes it,
// so a confirmation is used or cancelled once. /clearwarnings' reason is
// too long for a custom ID, so it waits here too. After a restart the
// buttons find nothing and say so.
type pendingConfirm struct {
	invoker, target snowflake.ID
	reason          string
	issued          time.Time
	// numbers are the cases the moderator was shown, which a confirmed
	// /clearwarnings revokes and no other.
	numbers []int64
}

// pendingConfirms holds the confirmations waiting for a press. The zero
// value is ready to use.
type pendingConfirms struct {
	mu    sync.Mutex
	m     map[string]pendingConfirm
	order []string
}

// put files c under a new random key, dropping the oldest confirmations
// and those past clearConfirmFor (which is eraseConfirmFor).
func (p *pendingConfirms) put(c pendingConfirm) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := hex.EncodeToString(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pendingConfirm{}
	}
	for len(p.order) > 0 && (len(p.order) >= maxPendingConfirms || c.issued.Sub(p.m[p.order[0]].issued) > clearConfirmFor) {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
	p.m[key] = c
	p.order = append(p.order, key)
	return key, nil
}

// take removes and returns the confirmation under key. It is found only if
// it was issued with these very buttons: by invoker, about target, at
// issued.
func (p *pendingConfirms) take(key string, invoker, target snowflake.ID, issued time.Time) (pendingConfirm, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.m[key]
	delete(p.m, key)
	if !ok || c.invoker != invoker || c.target != target || !c.issued.Equal(issued) {
		return pendingConfirm{}, false
	}
	return c, true
}

// validPendingKey reports whether s has the form of a key put made.
func validPendingKey(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// confirmButton is what a confirm or cancel button of /clearwarnings or
// /privacy erase carries in its custom ID, after the command's route. The
// key names the confirmation waiting in a pendingConfirms: a press takes
// it, so the action is confirmed or cancelled once.
type confirmButton struct {
	route           string
	invoker, target snowflake.ID
	issued          time.Time // whole seconds
	key             string
	confirm         bool
}

// customID encodes b as a button route, under Discord's 100 characters.
func (b confirmButton) customID() string {
	action := "cancel"
	if b.confirm {
		action = "confirm"
	}
	return fmt.Sprintf("%s/%s/%s/%d/%s/%s", b.route, b.invoker, b.target, b.issued.Unix(), b.key, action)
}

// parseConfirmButton reads the segments of a button's custom ID after its
// route. A forged or cut-short ID is refused, never indexed past its end;
// the segments stay out of the error, which is logged, since they hold
// user IDs.
func parseConfirmButton(route string, args []string) (confirmButton, error) {
	bad := errForgedCustomID
	if len(args) != 5 || (args[4] != "confirm" && args[4] != "cancel") || !validPendingKey(args[3]) {
		return confirmButton{}, bad
	}
	invoker, err1 := snowflake.Parse(args[0])
	target, err2 := snowflake.Parse(args[1])
	issued, err3 := strconv.ParseInt(args[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || invoker == 0 || target == 0 {
		return confirmButton{}, bad
	}
	return confirmButton{route: route, invoker: invoker, target: target, issued: time.Unix(issued, 0), key: args[3], confirm: args[4] == "confirm"}, nil
}

// askToConfirm answers a command that acts only once confirmed: privately
// and deferred, since preview reads the store, and then with what preview
// shows (its confirm and cancel buttons included) or the reason it failed.
func (h *handlers) askToConfirm(e *event, command string, preview func(context.Context) (discord.MessageUpdate, error)) error {
	if err := e.deferEphemeral(); err != nil {
		return fmt.Errorf("defer /%s: %w", command, err)
	}
	log := h.interactionLog(e, command)
	upd, err := preview(e.ctx)
	if err != nil {
		content := h.failureText(e, log, err)
		upd = discord.MessageUpdate{Content: &content, Embeds: &[]discord.Embed{}, Components: &[]discord.ContainerComponent{}}
	}
	upd.AllowedMentions = noMentions()
	if err := e.updateResponse(upd); err != nil {
		log.Warn("could not fill in the deferred reply", errAttr(err))
	}
	return nil
}
