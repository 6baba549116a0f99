package bot

import (
	"net/http"
	"testing"

	"github.com/modbot/bot/discordtest"
)

// TestServerErrorBurstCommands: 500, 502 and 503 answers on the ban,
// kick and timeout routes. A short burst is ridden out: the action is
// done, its case stored and the reply says so. An outage longer than the
// bot retries is refused with a message to try again, storing nothing
// and doing nothing. Either way the action's request is sent no more
// often than the retries allow, and the bot then serves normally.
func TestServerErrorBurstCommands(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		command, method, route string
	}{
		{"ban", "PUT", routeBan},
		{"timeout", "PATCH", routeMember},
		{"kick", "DELETE", routeMember},
	} {
		c := faultCommandOf(t, tc.command)
		t.Run(tc.command+"/Burst", func(t *testing.T) {
			from := len(h.srv.Requests())
			for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
				h.srv.FailNext(tc.method, tc.route, status, 1)
			}
			if !h.runUnderFault(t, c) {
				t.Errorf("/%s was refused after a burst of three server errors, want it ridden out", tc.command)
			}
			if n := countRequests(h.srv.Requests()[from:], tc.method, tc.route); n != 4 {
				t.Errorf("%s %s sent %d times, want the failed three and one that worked", tc.method, tc.route, n)
			}
		})
		t.Run(tc.command+"/Outage", func(t *testing.T) {
			from := len(h.srv.Requests())
			h.srv.FailNext(tc.method, tc.route, http.StatusServiceUnavailable, 100)
			defer h.srv.ClearFaults()
			if h.runUnderFault(t, c) {
				t.Errorf("/%s reported done while Discord refused every try", tc.command)
			}
			if n := countRequests(h.srv.Requests()[from:], tc.method, tc.route); n > 4 {
				t.Errorf("%s %s sent %d times during the outage, want at most 4", tc.method, tc.route, n)
			}
		})
	}
	pingOK(t, h)
	for _, name := range []string{"ban", "kick", "timeout"} {
		if !h.runUnderFault(t, faultCommandOf(t, name)) {
			t.Errorf("/%s refused after the outage ended", name)
		}
	}
}

func countRequests(reqs []discordtest.Request, method, route string) int {
	n := 0
	for _, r := range reqs {
		if r.Is(method, route) {
			n++
		}
	}
	return n
}
