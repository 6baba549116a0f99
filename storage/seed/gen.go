package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/modbot/bot/storage"
)

// discordEpoch is the start of Discord snowflake time, 2015-01-01 UTC.
const discordEpoch = 1420070400000

// benchCases is how many active warnings each guild's bench member gets:
// the member /warnings is measured on.
const benchCases = 20

// plan is the shape of the data set, fixed by the flags and the seed before
// any case is made. Generating cases from the same plan twice gives the same
// cases, which lets the tool fill the encrypted and the bare database one
// after the other without holding a million cases in memory.
type plan struct {
	seed   uint64
	total  int
	start  time.Time // time of the oldest case
	end    time.Time // time of the newest case
	guilds []guild
	// order[i] is the guild of the i-th case overall, oldest first.
	order []uint8
}

type guild struct {
	id         string
	expiry     time.Duration // the guild's warning_expiry setting
	roleID     string        // its moderator role
	modlogID   string        // its modlog channel
	ownerID    string
	moderators []person
	members    []person // members[0] is the bench member
	cases      int      // how many cases the guild gets
	// benchAt holds the guild-local ordinals of the bench member's cases.
	benchAt map[int]bool
}

type person struct {
	id, name string
}

// newPlan draws guilds, members and moderators and decides which guild each
// case belongs to. Guild sizes follow a power law (a few big servers, many
// small ones), as do cases per member within a guild.
func newPlan(seed uint64, cases, guilds, members int, end time.Time) (*plan, error) {
	if guilds < 1 || guilds > 255 {
		return nil, fmt.Errorf("-guilds must be 1 to 255, not %d", guilds)
	}
	if members < guilds*2 {
		return nil, fmt.Errorf("-members must be at least twice -guilds")
	}
	if cases < guilds*(benchCases+1) {
		return nil, fmt.Errorf("-cases must be at least %d for %d guilds", guilds*(benchCases+1), guilds)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64626f74))
	p := &plan{seed: seed, total: cases, start: end.AddDate(-3, 0, 0), end: end}

	weights := make([]float64, guilds)
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.8)
	}
	memberCounts := apportion(members, weights, 2)
	caseCounts := apportion(cases, weights, benchCases+1)

	ids := newIDs(rng)
	for g := range guilds {
		gd := guild{
			id:       ids.at(randTime(rng, 2016, 2022)),
			roleID:   ids.at(randTime(rng, 2016, 2022)),
			modlogID: ids.at(randTime(rng, 2016, 2022)),
			ownerID:  ids.at(randTime(rng, 2016, 2020)),
			cases:    caseCounts[g],
			benchAt:  map[int]bool{},
		}
		// A third of the servers let warnings expire after 90 days.
		if g%3 == 0 {
			gd.expiry = 90 * 24 * time.Hour
		}
		for range 3 + rng.IntN(6) {
			gd.moderators = append(gd.moderators, newPerson(rng, ids))
		}
		gd.members = make([]person, memberCounts[g])
		for i := range gd.members {
			gd.members[i] = newPerson(rng, ids)
		}
		for len(gd.benchAt) < benchCases {
			gd.benchAt[rng.IntN(gd.cases)] = true
		}
		p.guilds = append(p.guilds, gd)
	}

	p.order = make([]uint8, 0, cases)
	for g, n := range caseCounts {
		for range n {
			p.order = append(p.order, uint8(g))
		}
	}
	rng.Shuffle(len(p.order), func(i, j int) { p.order[i], p.order[j] = p.order[j], p.order[i] })
	return p, nil
}

// apportion splits total over weights, largest remainder first, giving each
// share at least minimum.
func apportion(total int, weights []float64, minimum int) []int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	free := total - minimum*len(weights)
	out := make([]int, len(weights))
	given := 0
	for i, w := range weights {
		out[i] = minimum + int(float64(free)*w/sum)
		given += out[i]
	}
	for i := 0; given < total; i = (i + 1) % len(out) {
		out[i]++
		given++
	}
	return out
}

// ids hands out unique snowflakes.
type ids struct {
	rng  *rand.Rand
	seen map[uint64]bool
}

func newIDs(rng *rand.Rand) *ids { return &ids{rng: rng, seen: map[uint64]bool{}} }

// at returns a fresh snowflake created at t, with random worker, process
// and increment bits as Discord's would have.
func (s *ids) at(t time.Time) string {
	for {
		id := uint64(t.UnixMilli()-discordEpoch)<<22 | s.rng.Uint64()&(1<<22-1)
		if !s.seen[id] {
			s.seen[id] = true
			return strconv.FormatUint(id, 10)
		}
	}
}

func randTime(rng *rand.Rand, fromYear, toYear int) time.Time {
	from := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	to := time.Date(toYear, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	return time.UnixMilli(from + rng.Int64N(to-from)).UTC()
}

var (
	nameFirst = []string{"quiet", "lucky", "dark", "tiny", "mega", "sleepy", "neon", "cosmic", "salty", "frosty",
		"wild", "pixel", "shadow", "happy", "rusty", "silent", "golden", "crispy", "lazy", "swift"}
	nameSecond = []string{"fox", "panda", "gamer", "wolf", "otter", "knight", "ninja", "toast", "raven", "cat",
		"dragon", "bean", "ghost", "falcon", "moth", "noodle", "tiger", "slime", "bard", "yeti"}
)

func newPerson(rng *rand.Rand, s *ids) person {
	name := nameFirst[rng.IntN(len(nameFirst))] + nameSecond[rng.IntN(len(nameSecond))]
	if rng.IntN(3) > 0 {
		name += strconv.Itoa(rng.IntN(10000))
	}
	return person{id: s.at(randTime(rng, 2016, 2025)), name: name}
}

var (
	warnReasons = []string{
		"Spamming in #general",
		"Posting invite links to other servers",
		"Slurs in voice chat",
		"Repeatedly pinging moderators for no reason",
		"NSFW image outside the NSFW channel",
		"Harassing another member in DMs after being asked to stop (screenshots in the mod channel)",
		"Off-topic arguing in #help, ignored two verbal warnings",
		"Ban evasion suspected: alt account of a banned user",
		"Posting a phishing link (\"free nitro\")",
		"Trolling new members in #introductions",
		"Excessive caps and emoji spam",
		"Self-promotion without permission",
		"Political flame war in #off-topic, warned by %s earlier",
		"Doxxing attempt: posted another member's real name",
		"Impersonating a staff member",
		"Mic spam in Gaming VC #%d",
		"Rule %d: no begging for roles",
		"Sharing pirated game links",
	}
	noteReasons = []string{
		"Talked to them in DMs, seemed receptive; keep an eye on #general",
		"Appealed their last warning; appeal denied after review by the team",
		"Possible alt of a banned user, same avatar and writing style; not confirmed",
		"Reported by several members for being rude in voice chat; no evidence yet",
		"Asked for their warnings to be cleared; told to wait 30 days",
	}
	actionReasons = []string{
		"Continued spamming after warning",
		"Third strike",
		"Raid participant",
		"Compromised account posting scam links",
		"Ban appeal accepted",
		"Timeout served, behaving now",
	}
	revokeReasons = []string{"Warned the wrong person", "Appeal accepted", "Duplicate of an earlier case", ""}
)

func reason(rng *rand.Rand, list []string) string {
	r := list[rng.IntN(len(list))]
	switch {
	case strings.Contains(r, "%s"):
		return fmt.Sprintf(r, nameFirst[rng.IntN(len(nameFirst))])
	case strings.Contains(r, "%d"):
		return fmt.Sprintf(r, 1+rng.IntN(9))
	}
	return r
}

// generator makes the plan's cases, oldest first. Two generators of one
// plan make the same cases.
type generator struct {
	p       *plan
	rng     *rand.Rand
	i       int           // index of the next case overall
	seen    []int         // cases made so far, per guild
	counts  []map[int]int // cases per member, per guild
	revoked int           // revoked cases made so far
}

func (p *plan) generator() *generator {
	g := &generator{p: p, rng: rand.New(rand.NewPCG(p.seed, 0x6361736573)), seen: make([]int, len(p.guilds))}
	g.counts = make([]map[int]int, len(p.guilds))
	for i := range g.counts {
		g.counts[i] = map[int]int{}
	}
	return g
}

// seeded is one generated case: the input of CreateBatch, the guild's index
// in the plan, and the member's index in the guild.
type seeded struct {
	storage.BatchCase
	guild, member int
	number        int64
}

// next returns the next case, or false when all are made.
func (g *generator) next() (seeded, bool) {
	if g.i >= g.p.total {
		return seeded{}, false
	}
	rng, p := g.rng, g.p
	gi := int(p.order[g.i])
	gd := &p.guilds[gi]
	ordinal := g.seen[gi]
	g.seen[gi]++
	step := p.end.Sub(p.start) / time.Duration(p.total)
	at := p.start.Add(time.Duration(g.i)*step + time.Duration(rng.Int64N(int64(step)))).Truncate(time.Millisecond)
	g.i++

	mod := gd.moderators[rng.IntN(len(gd.moderators))]
	s := seeded{guild: gi, number: int64(ordinal + 1)}
	n := storage.NewCase{GuildID: gd.id, ModeratorID: mod.id, ModeratorName: mod.name, CreatedAt: at}
	if gd.benchAt[ordinal] {
		// The bench member's cases are plain active warnings, so all 20
		// show in /warnings whatever day the benchmark runs.
		s.member = 0
		n.Kind, n.Points, n.Reason = storage.CaseWarning, 1, reason(rng, warnReasons)
	} else {
		// Few members collect most cases: u² puts the density near the
		// front of the member list.
		u := rng.Float64()
		s.member = 1 + int(float64(len(gd.members)-1)*u*u)
		g.fill(&n, &s.BatchCase, gd)
	}
	m := gd.members[s.member]
	n.TargetID, n.TargetName = m.id, m.name
	s.NewCase = n
	g.counts[gi][s.member]++
	if s.Revocation != nil {
		g.revoked++
	}
	return s, true
}

// fill chooses a case's kind and the fields that go with it.
func (g *generator) fill(n *storage.NewCase, bc *storage.BatchCase, gd *guild) {
	rng := g.rng
	switch r := rng.Float64(); {
	case r < 0.70:
		n.Kind, n.Reason = storage.CaseWarning, reason(rng, warnReasons)
		n.Points = 1
		if r := rng.IntN(10); r >= 9 {
			n.Points = 3
		} else if r >= 7 {
			n.Points = 2
		}
		switch {
		case gd.expiry > 0:
			n.ExpiresAt = n.CreatedAt.Add(gd.expiry)
		case rng.IntN(5) == 0:
			n.ExpiresAt = n.CreatedAt.Add(30 * 24 * time.Hour)
		}
		if rng.IntN(20) == 0 {
			by := gd.moderators[rng.IntN(len(gd.moderators))]
			bc.Revocation = &storage.Revocation{
				At:     n.CreatedAt.Add(time.Hour + time.Duration(rng.Int64N(int64(14*24*time.Hour)))).Truncate(time.Millisecond),
				ByID:   by.id,
				Reason: reason(rng, revokeReasons),
			}
		}
	case r < 0.85:
		n.Kind, n.Reason = storage.CaseNote, reason(rng, noteReasons)
	case r < 0.93:
		n.Kind, n.Reason = storage.CaseTimeout, reason(rng, actionReasons)
		n.Duration = []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}[rng.IntN(4)]
	case r < 0.97:
		n.Kind, n.Reason = storage.CaseKick, reason(rng, actionReasons)
	case r < 0.99:
		n.Kind, n.Reason = storage.CaseBan, reason(rng, actionReasons)
		if rng.IntN(4) == 0 {
			n.Duration = 7 * 24 * time.Hour
		}
	default:
		n.Kind, n.Reason = storage.CaseUnban, reason(rng, actionReasons)
	}
}

// baselineRow is the bare database's copy of a generated case.
func (s seeded) baselineRow() storage.BaselineRow {
	r := storage.BaselineRow{
		GuildID: s.GuildID, Number: s.number, Kind: s.Kind, TargetID: s.TargetID, TargetName: s.TargetName,
		ModeratorID: s.ModeratorID, ModeratorName: s.ModeratorName, Reason: s.Reason, Points: s.Points,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
	}
	if s.Revocation != nil {
		r.RevokedAt = s.Revocation.At
	}
	return r
}
