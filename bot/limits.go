package bot

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disgoorg/disgo/discord"
	"github.com/disgoorg/snowflake/v2"

	"github.com/modbot/bot/storage"
)

// Limits bound how often commands may be used and how many are handled at
// once (the limits.* settings). A zero field takes its default from
// DefaultLimits.
type Limits struct {
	// MemberBurst commands a member may send at once; one more is earned
	// every MemberEvery.
	MemberBurst int
	MemberEvery time.Duration
	// ModeratorBurst and ModeratorEvery are a moderator's allowance,
	// large enough for a raid, when every moderator acts at once.
	ModeratorBurst int
	ModeratorEvery time.Duration
	// GuildBurst and GuildEvery are a server's allowance for its members'
	// commands together; moderators do not draw on it, so a raid of
	// spamming accounts cannot lock them out.
	GuildBurst int
	GuildEvery time.Duration
	// InFlight interactions are handled at once; Queue more may wait for
	// a turn, and any beyond those are told the bot is busy.
	InFlight int
	Queue    int
	// MassAction bans and kicks a moderator may make in a minute; the
	// next one is refused and pauses them for the rest of the minute.
	MassAction int
}

// DefaultLimits are limits a real server never meets and a spammer always
// does.
func DefaultLimits() Limits {
	return Limits{
		MemberBurst: 5, MemberEvery: 2 * time.Second,
		ModeratorBurst: 20, ModeratorEvery: time.Second,
		GuildBurst: 60, GuildEvery: time.Second,
		InFlight: 64, Queue: 256,
		MassAction: 10,
	}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	fillD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&l.MemberBurst, d.MemberBurst)
	fillD(&l.MemberEvery, d.MemberEvery)
	fill(&l.ModeratorBurst, d.ModeratorBurst)
	fillD(&l.ModeratorEvery, d.ModeratorEvery)
	fill(&l.GuildBurst, d.GuildBurst)
	fillD(&l.GuildEvery, d.GuildEvery)
	fill(&l.InFlight, d.InFlight)
	fill(&l.Queue, d.Queue)
	fill(&l.MassAction, d.MassAction)
	return l
}

// queueWait is how long an interaction waits for a turn before it is told
// the bot is busy: Discord gives up on an unanswered interaction after
// three seconds, and the answer must reach it before then.
const queueWait = 1500 * time.Millisecond

// autocompleteCost is the share of a command one autocomplete costs.
// Discord sends one for each pause in typing, so a few of them go with
// every command; counted in full, they would use up a member's allowance
// before the command itself.
const autocompleteCost = 0.25

// bucket is a token bucket: it holds up to burst tokens and earns one
// every interval. A bucket that has refilled is the same as a new one,
// which is what lets idle buckets be forgotten.
type bucket struct {
	tokens float64
	at     time.Time
}

// refill adds the tokens earned since the bucket was last used.
func (b *bucket) refill(now time.Time, burst int, every time.Duration) {
	if now.After(b.at) {
		b.tokens = math.Min(float64(burst), b.tokens+float64(now.Sub(b.at))/float64(every))
		b.at = now
	}
}

// wait is how long until the bucket holds cost tokens.
func (b *bucket) wait(cost float64, every time.Duration) time.Duration {
	if b.tokens >= cost {
		return 0
	}
	return time.Duration((cost - b.tokens) * float64(every))
}

// full reports whether the bucket has earned back its whole burst by now.
func (b *bucket) full(now time.Time, burst int, every time.Duration) bool {
	return b.tokens+float64(now.Sub(b.at))/float64(every) >= float64(burst)
}

// memberKey is a member in a guild; the guild is 0 outside a server.
type memberKey struct{ guild, user snowflake.ID }

// limiter applies Limits: the in-flight cap and queue, the per-member and
// per-guild allowances, and the raid brake. It holds everything in memory:
// a restart forgets the counts, which costs at most one more burst.
//
// A reload may replace the Limits while commands run (set), so each
// admission and each check reads them once, through cur, and uses that
// copy throughout.
type limiter struct {
	cur      atomic.Pointer[Limits]
	now      func() time.Time
	log      *slog.Logger
	settings SettingsStore

	// slots holds a token per interaction being handled. A new in-flight
	// cap gets a new channel; an interaction gives its token back to the
	// channel it took it from.
	slots atomic.Pointer[chan struct{}]
	// admitted counts interactions handled or waiting for a slot.
	admitted atomic.Int64

	mu      sync.Mutex
	members map[memberKey]*bucket
	guilds  map[snowflake.ID]*bucket
	swept   time.Time

	brake raidBrake
}

func newLimiter(lim Limits, now func() time.Time, log *slog.Logger, settings SettingsStore) *limiter {
	l := &limiter{
		now: now, log: log, settings: settings,
		members: map[memberKey]*bucket{},
		guilds:  map[snowflake.ID]*bucket{},
		brake:   raidBrake{counts: map[memberKey]*massCount{}},
	}
	l.set(lim)
	return l
}

// limits returns the limits in force.
func (l *limiter) limits() Limits { return *l.cur.Load() }

// set puts lim in force, its zero fields filled from DefaultLimits.
//
// Decided: the buckets keep their state. A member who has just spent
// their allowance does not get a fresh one because the operator reloaded;
// a smaller burst caps a fuller bucket at its next refill, and a larger
// one is earned at the new pace.
//
// A new in-flight cap applies to the interactions admitted from now on:
// those already holding a slot keep it in the old semaphore, so for as
// long as they run, the two caps together bound the interactions in
// flight. The queue and the raid brake's maximum apply at the next
// admission and the next ban or kick.
func (l *limiter) set(lim Limits) {
	lim = lim.withDefaults()
	old := l.cur.Swap(&lim)
	if old == nil || old.InFlight != lim.InFlight {
		slots := make(chan struct{}, lim.InFlight)
		l.slots.Store(&slots)
	}
	l.brake.setMax(lim.MassAction)
}

// run handles e with dispatch once a slot is free and e is within its
// member's and its guild's allowances. Otherwise e is told to try again:
// no interaction goes unanswered, except autocompletes, which Discord shows
// no message for and get no choices instead.
func (l *limiter) run(e *event, dispatch func(*event)) {
	lim := l.limits()
	if l.admitted.Add(1) > int64(lim.InFlight+lim.Queue) {
		l.admitted.Add(-1)
		l.refuse(e, errBusy)
		return
	}
	defer l.admitted.Add(-1)
	slots := *l.slots.Load()
	timer := time.NewTimer(queueWait)
	select {
	case slots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		l.refuse(e, errBusy)
		return
	case <-e.ctx.Done():
		timer.Stop()
		return
	}
	defer func() { <-slots }()
	if err := l.allow(e); err != nil {
		l.refuse(e, err)
		return
	}
	dispatch(e)
}

// errBusy answers an interaction past the in-flight cap and the queue.
var errBusy = &UserError{"The bot is busy, try again in a few seconds."}

// refuse tells the user why e was not handled.
func (l *limiter) refuse(e *event, err error) {
	e.failed(err, "")
	var rerr error
	if e.Type() == discord.InteractionTypeAutocomplete {
		rerr = e.autocompleteResult([]discord.AutocompleteChoice{})
	} else {
		rerr = e.reply(err.Error(), true)
	}
	if rerr != nil {
		l.log.Warn("could not tell a user to slow down", errAttr(rerr))
	}
}

// allow takes e's cost from its member's allowance and, unless a
// moderator sent it, from its guild's. Both must have enough, or neither
// is charged.
func (l *limiter) allow(e *event) error {
	cost := 1.0
	if e.Type() == discord.InteractionTypeAutocomplete {
		cost = autocompleteCost
	}
	key := memberKey{user: e.User().ID}
	if g := e.GuildID(); g != nil {
		key.guild = *g
	}
	mod := l.isModerator(e)
	lim := l.limits()
	burst, every := lim.MemberBurst, lim.MemberEvery
	if mod {
		burst, every = lim.ModeratorBurst, lim.ModeratorEvery
	}
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, lim)
	mb := l.members[key]
	if mb == nil {
		mb = &bucket{tokens: float64(burst), at: now}
		l.members[key] = mb
	}
	// A member made moderator a moment ago may hold more than a member's
	// burst; refill caps it.
	mb.refill(now, burst, every)
	if w := mb.wait(cost, every); w > 0 {
		return slowDown("", w)
	}
	if mod || key.guild == 0 {
		mb.tokens -= cost
		return nil
	}
	gb := l.guilds[key.guild]
	if gb == nil {
		gb = &bucket{tokens: float64(lim.GuildBurst), at: now}
		l.guilds[key.guild] = gb
	}
	gb.refill(now, lim.GuildBurst, lim.GuildEvery)
	if w := gb.wait(cost, lim.GuildEvery); w > 0 {
		return slowDown(" from this server", w)
	}
	mb.tokens -= cost
	gb.tokens -= cost
	return nil
}

// slowDown is the refusal of a command over an allowance; whose names the
// allowance ("" for the member's own).
func slowDown(whose string, wait time.Duration) error {
	return userErrorf("Too many commands%s: slow down, try again in %d s.", whose, int(math.Ceil(wait.Seconds())))
}

// bucketSweep is how often buckets that have refilled are forgotten, so
// memory follows the members active in the last minute, not all time.
const bucketSweep = time.Minute

// sweep forgets the buckets that are full again. Member buckets are
// checked against the larger, moderators', burst, so a moderator's bucket
// is never forgotten while it still counts.
func (l *limiter) sweep(now time.Time, lim Limits) {
	if now.Sub(l.swept) < bucketSweep {
		return
	}
	l.swept = now
	slowest := max(lim.MemberEvery, lim.ModeratorEvery)
	for k, b := range l.members {
		if b.full(now, max(lim.MemberBurst, lim.ModeratorBurst), slowest) {
			delete(l.members, k)
		}
	}
	for k, b := range l.guilds {
		if b.full(now, lim.GuildBurst, lim.GuildEvery) {
			delete(l.guilds, k)
		}
	}
}

// bucketCount returns how many buckets are held, for tests.
func (l *limiter) bucketCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.members) + len(l.guilds)
}

// isModerator decides, the way the moderation commands do (IsModerator),
// whether the member who sent e moderates. The permission is read from the
// interaction; the guild's moderator roles are read only for a member who
// lacks it and holds roles, so most refusals cost no lookup.
func (l *limiter) isModerator(e *event) bool {
	gid, m := e.GuildID(), e.Member()
	if gid == nil || m == nil {
		return false
	}
	a := actorFrom(*m)
	if hasPermissions(a.Permissions, discord.PermissionModerateMembers) {
		return true
	}
	if len(a.RoleIDs) == 0 || l.settings == nil {
		return false
	}
	s, err := l.settings.Get(e.ctx, gid.String())
	if err != nil {
		// Counted as a member: the smaller allowance, never a larger one.
		l.log.Warn("could not read the moderator roles for the command limit", slog.String("guild", gid.String()), errAttr(err))
		return false
	}
	var g GuildFacts
	for _, r := range s.ModeratorRoleIDs {
		if id, err := snowflake.Parse(r); err == nil {
			g.ModRoleIDs = append(g.ModRoleIDs, id)
		}
	}
	return IsModerator(a, g)
}

// raidWindow is the span over which the raid brake counts a moderator's
// bans and kicks.
const raidWindow = time.Minute

// raidBrake counts each moderator's bans and kicks in a guild. Past max in
// a window, the moderator is paused until the window ends: a compromised
// moderator account cannot empty a server faster than that.
type raidBrake struct {
	mu     sync.Mutex
	max    int
	counts map[memberKey]*massCount
}

// massCount is one moderator's bans and kicks in the window from start.
type massCount struct {
	start  time.Time
	n      int
	paused bool
}

// take counts one ban or kick by key at now. When the moderator is past
// the limit, ok is false, until says when the pause ends, and first is
// true for the refusal that started the pause, so that it is reported
// once.
func (r *raidBrake) take(key memberKey, now time.Time) (ok, first bool, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, c := range r.counts {
		if now.Sub(c.start) >= raidWindow {
			delete(r.counts, k)
		}
	}
	c := r.counts[key]
	if c == nil {
		c = &massCount{start: now}
		r.counts[key] = c
	}
	until = c.start.Add(raidWindow)
	if c.paused {
		return false, false, until
	}
	if c.n >= r.max {
		c.paused = true
		return false, true, until
	}
	c.n++
	return true, false, until
}

// setMax sets how many bans and kicks a moderator may make in a window.
// A moderator already past a lowered maximum is paused at their next one.
func (r *raidBrake) setMax(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.max = n
}

// limit returns how many bans and kicks a moderator may make in a window.
func (r *raidBrake) limit() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.max
}

// giveBack uncounts a ban or kick that did not happen.
func (r *raidBrake) giveBack(key memberKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.counts[key]; c != nil && c.n > 0 {
		c.n--
	}
}

// lift ends a moderator's pause and starts their count afresh. It reports
// whether they were paused; a moderator who is not keeps their count.
func (r *raidBrake) lift(key memberKey, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts[key]
	if c == nil || !c.paused || now.Sub(c.start) >= raidWindow {
		return false
	}
	delete(r.counts, key)
	return true
}

// raidPaused is the refusal of a ban or kick by a paused moderator.
func raidPaused(max int, until time.Time) error {
	return userErrorf("You have banned or kicked %d members within a minute, so your bans and kicks are paused until %s, in case your account is being misused. "+
		"If this is a real raid, ask a server admin to lift the pause with /config limits lift.", max, relativeTime(until))
}

// raidAlert is the modlog post that a moderator was paused.
func raidAlert(moderatorID snowflake.ID, max int, until time.Time) discord.Embed {
	return discord.Embed{
		Title: "Raid brake: a moderator was paused",
		Description: fmt.Sprintf("<@%s> banned or kicked %d members within a minute, so their bans and kicks are paused until %s. "+
			"If their account may be compromised, remove their moderator roles and reset their password; "+
			"if this is a real raid, an admin can lift the pause with /config limits lift.", moderatorID, max, discordTime(until)),
		Color: kindColor(storage.CaseBan),
	}
}
