package cli

import (
	"fmt"
	"time"

	"github.com/modbot/bot/config"
	"github.com/modbot/bot/conn"
	"github.com/modbot/bot/datadir"
)

// gatewayCheck reports what 'bot run' records of its starts: a wait before
// connecting (a crash loop's backoff, or Discord's limit of session starts
// used up) fails, since the bot is offline meanwhile; recent starts that
// ended without a clean stop warn.
func gatewayCheck(cfg *config.Config, now time.Time) check {
	st, err := datadir.LoadStarts(cfg)
	if err != nil {
		return check{"gateway", "warn", err.Error()}
	}
	if now.Before(st.WaitUntil) {
		return check{"gateway", "fail", fmt.Sprintf("the bot waits %s, until %s, before connecting: %s; look in its log for why it restarted so often",
			st.WaitUntil.Sub(now).Round(time.Second), st.WaitUntil.Local().Format(time.DateTime), st.WaitReason)}
	}
	// The running bot's own start is among the unclean ones.
	n := 0
	for _, t := range st.Unclean {
		if now.Sub(t) < conn.CrashWindow {
			n++
		}
	}
	if n > 1 {
		return check{"gateway", "warn", fmt.Sprintf("%d starts in the last %s without a clean stop: look in the bot's log for why it stops; from the third, each start waits longer before connecting",
			n, conn.CrashWindow)}
	}
	return check{"gateway", "ok", "no restart loop"}
}
