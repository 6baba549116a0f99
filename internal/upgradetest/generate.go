package upgradetest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/modbot/bot/keys"
	"github.com/modbot/bot/migrations"
)

// migration1SHA256 is the digest of 00001_initial.sql as released. The
// generator refuses to run if the file changed: the data set must have the
// schema databases in the field have.
const migration1SHA256 = "a9e969d8509a3b25056122b969e0bc614330015141cbf6dbbde05e47bcad0fde"

// The people and places of the v1 data set. IDs are snowflake-shaped.
const (
	guildA = "100000000000000001" // settings saved twice, most of the cases
	guildB = "100000000000000002" // DMs off, a permanent-ban escalation
	guildC = "100000000000000003" // never saved settings: the defaults
	guildD = "100000000000000004" // every case erased with a member's data

	owner = "300000000000000001"
	mia   = "300000000000000011" // a moderator with a name beyond ASCII
	sam   = "300000000000000012"
	self  = "300000000000000099" // the bot, acting by itself

	alice = "400000000000000001"
	bob   = "400000000000000002"
	carol = "400000000000000003"
	dave  = "400000000000000004"
	erin  = "400000000000000005"
	frank = "400000000000000006"
	grace = "400000000000000007" // erased with 'user data deletion'
	heidi = "400000000000000008"
)

// Names of the moderators as the cases recorded them.
var modNames = map[string]string{owner: "owner", mia: "Mia 🛡️ Zoë", sam: "sam_mod", self: "ModBot"}

// base is when the v1 installation was first used. Times carry
// milliseconds, which the schema keeps.
var base = time.Date(2026, time.March, 2, 9, 0, 0, 123_000_000, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

const (
	minute = time.Minute
	hour   = time.Hour
	day    = 24 * time.Hour
)

// GenerateV1 writes the v1 data set into dir: data/bot.db, data/keys and
// expected.json. dir must not hold a data directory yet. The database is
// migrated to version 1 only, by goose with the embedded 00001_initial.sql,
// and its records are written as the bot of that schema wrote them, with
// new random keys (one rotation along the way).
func GenerateV1(ctx context.Context, dir string) (err error) {
	sum := sha256.Sum256(mustRead(migrations.FS, "00001_initial.sql"))
	if got := hex.EncodeToString(sum[:]); got != migration1SHA256 {
		return fmt.Errorf("migrations/00001_initial.sql has changed (sha256 %s): a released migration must never be edited", got)
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s exists: remove it (and %s) to generate the data set again", data, ExpectedFile)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	db, err := openV1(ctx, filepath.Join(data, "bot.db"))
	if err != nil {
		return err
	}
	defer func() {
		// Closing the last connection checkpoints the WAL into the file
		// and removes it, as a clean stop of the bot did.
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	k, err := keys.Create(keys.Options{Dir: filepath.Join(data, "keys")})
	if err != nil {
		return err
	}
	exp := &Expected{SchemaVersion: 1, Writer: "storage of commit 4cb6743 (schema version 1), as internal/upgradetest/v1.go", AEADKeys: 2}
	w := &v1Writer{db: db, k: k, exp: exp}
	if err := w.setSentinel(ctx, at(-hour)); err != nil {
		return err
	}
	if err := scenarioV1(ctx, w); err != nil {
		return err
	}
	exp.finish()
	b, err := exp.encode()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ExpectedFile), b, 0o644)
}

func mustRead(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(err)
	}
	return b
}

// scenarioV1 is what moderators did with the v1 bot: every kind of case,
// revocations, reason edits, settings saved and replaced, temporary bans
// ended, cancelled, failing and still pending, escalations, a key rotation
// and one member's data deleted.
func scenarioV1(ctx context.Context, w *v1Writer) error {
	var s steps
	c := func(n newCase) int64 {
		if s.err != nil {
			return 0
		}
		if n.modName == "" {
			n.modName = modNames[n.moderator]
		}
		num, err := w.createCase(ctx, n)
		s.err = err
		return num
	}
	expiresA := 30 * day // guild A's warning expiry until it is changed

	s.do(func() error {
		return w.saveSettings(ctx, Guild{
			GuildID: guildA, ModlogChannelID: "110000000000000001", DMEnabled: true,
			WarningExpiryMS: expiresA.Milliseconds(), ShowModeratorNames: true,
			ModeratorRoleIDs: []string{"120000000000000002", "120000000000000001", "120000000000000001"},
			Escalations: []Rule{
				{Points: 8, Action: "ban", DurationMS: (7 * day).Milliseconds()},
				{Points: 3, Action: "timeout", DurationMS: hour.Milliseconds()},
				{Points: 5, Action: "kick"},
			},
		}, owner, at(0))
	})
	s.do(func() error {
		return w.saveSettings(ctx, Guild{
			GuildID: guildB, DMEnabled: false, ModeratorRoleIDs: []string{"120000000000000003"},
			Escalations: []Rule{{Points: 2, Action: "ban"}},
		}, owner, at(minute))
	})

	// Guild A: warnings that expire, a note, a revoked warning, an
	// escalation to a timeout, and a reason edited twice.
	w1 := at(hour)
	c(newCase{guild: guildA, kind: "warning", target: alice, targetName: "alice", moderator: mia,
		reason: "spam in #general", points: 1, at: w1, expires: w1.Add(expiresA)})
	c(newCase{guild: guildA, kind: "note", target: alice, targetName: "alice", moderator: sam,
		reason: "asked to calm down; seemed receptive", at: at(2 * hour)})
	w3 := at(3 * hour)
	bobWarn := c(newCase{guild: guildA, kind: "warning", target: bob, targetName: "bob", moderator: mia,
		reason: "slurs in voice chat", points: 2, at: w3, expires: w3.Add(expiresA)})
	s.do(func() error {
		return w.revoke(ctx, guildA, bobWarn, sam, "appeal accepted: it was his brother", at(4*hour))
	})
	w4 := at(5 * hour)
	raid := c(newCase{guild: guildA, kind: "warning", target: alice, targetName: "alice", moderator: mia,
		reason: "raid link", points: 2, at: w4, expires: w4.Add(expiresA)})
	c(newCase{guild: guildA, kind: "timeout", target: alice, targetName: "alice", moderator: self,
		reason:   fmt.Sprintf("Automatic: 3 points of active warnings reached the 3-point rule (warning case #%d)", raid),
		duration: hour, at: w4.Add(1500 * time.Millisecond), linked: raid})
	s.do(func() error {
		return w.updateReason(ctx, guildA, raid, mia, "raid link posted in #general", at(6*hour))
	})
	s.do(func() error {
		return w.updateReason(ctx, guildA, raid, sam, "raid link posted in #general and #memes", at(6*hour+30*minute))
	})

	// Kicks and bans: a kick with its reason edited, a temporary ban still
	// pending, one that ended on time.
	kick := c(newCase{guild: guildA, kind: "kick", target: carol, targetName: "carol_the_alt", moderator: mia,
		reason: "alt account", at: at(day)})
	s.do(func() error {
		return w.updateReason(ctx, guildA, kick, owner, "alt account of a banned member", at(day+10*minute))
	})
	banDave := at(day + hour)
	daveBan := c(newCase{guild: guildA, kind: "ban", target: dave, targetName: "dave", moderator: sam,
		reason: "scam DMs", duration: 7 * day, at: banDave})
	s.do(func() error {
		_, err := w.schedule(ctx, guildA, "unban", dave, banDave.Add(7*day), daveBan, banDave)
		return err
	})
	banErin := at(day + 2*hour)
	erinBan := c(newCase{guild: guildA, kind: "ban", target: erin, targetName: "erin", moderator: mia,
		reason: "spam bot", duration: day, at: banErin})
	s.do(func() error {
		_, err := w.schedule(ctx, guildA, "unban", erin, banErin.Add(day), erinBan, banErin)
		return err
	})
	unbanErin := banErin.Add(day + 2*time.Second)
	s.do(func() error {
		ids, err := w.claimDue(ctx, unbanErin)
		if err == nil && len(ids) != 1 {
			err = fmt.Errorf("claimed %v, want erin's unban", ids)
		}
		if err != nil {
			return err
		}
		c(newCase{guild: guildA, kind: "unban", target: erin, targetName: "erin", moderator: self,
			reason: fmt.Sprintf("temporary ban ended (case #%d)", erinBan), at: unbanErin.Add(300 * time.Millisecond), linked: erinBan})
		if s.err != nil {
			return s.err
		}
		return w.finish(ctx, ids[0], "done", "", time.Time{}, unbanErin.Add(400*time.Millisecond))
	})
	c(newCase{guild: guildA, kind: "timeout", target: frank, targetName: "frank", moderator: mia,
		reason: "flooding", duration: 10 * minute, at: at(day + 3*hour)})
	c(newCase{guild: guildA, kind: "untimeout", target: frank, targetName: "frank", moderator: mia,
		reason: "wrong member", at: at(day + 3*hour + 5*minute)})

	// Guild A's settings replaced: shorter expiry, one role fewer, other
	// rules.
	expiresA = 14 * day
	s.do(func() error {
		return w.saveSettings(ctx, Guild{
			GuildID: guildA, ModlogChannelID: "110000000000000002", DMEnabled: true,
			WarningExpiryMS: expiresA.Milliseconds(), ShowModeratorNames: false,
			ModeratorRoleIDs: []string{"120000000000000001"},
			Escalations: []Rule{
				{Points: 4, Action: "timeout", DurationMS: (6 * hour).Milliseconds()},
				{Points: 10, Action: "ban"},
			},
		}, mia, at(2*day))
	})
	banGrace := at(2*day + hour)
	graceBan := c(newCase{guild: guildA, kind: "ban", target: grace, targetName: "grace", moderator: mia,
		reason: "phishing links", duration: 3 * day, at: banGrace})
	s.do(func() error {
		_, err := w.schedule(ctx, guildA, "unban", grace, banGrace.Add(3*day), graceBan, banGrace)
		return err
	})

	// Guild B: a warning that never expires, an escalation to a permanent
	// ban, a temporary ban lifted early by hand, one whose end failed.
	c(newCase{guild: guildB, kind: "warning", target: alice, targetName: "alice", moderator: sam,
		reason: "off-topic", points: 1, at: at(2*day + 2*hour)})
	hw := at(2*day + 3*hour)
	heidiWarn := c(newCase{guild: guildB, kind: "warning", target: heidi, targetName: "heidi", moderator: sam,
		reason: "harassment", points: 2, at: hw})
	c(newCase{guild: guildB, kind: "ban", target: heidi, targetName: "heidi", moderator: self,
		reason: fmt.Sprintf("Automatic: 2 points of active warnings reached the 2-point rule (warning case #%d)", heidiWarn),
		at:     hw.Add(time.Second), linked: heidiWarn})
	s.do(func() error { return w.cancel(ctx, guildB, "unban", heidi, hw.Add(time.Second)) })
	c(newCase{guild: guildB, kind: "warning", target: grace, targetName: "grace", moderator: sam,
		reason: "phishing links here too", points: 1, at: at(2*day + 4*hour)})
	banBob := at(2*day + 5*hour)
	bobBan := c(newCase{guild: guildB, kind: "ban", target: bob, targetName: "bob", moderator: sam,
		reason: "ban evasion", duration: 2 * day, at: banBob})
	s.do(func() error {
		_, err := w.schedule(ctx, guildB, "unban", bob, banBob.Add(2*day), bobBan, banBob)
		return err
	})
	unbanBob := banBob.Add(hour)
	s.do(func() error { return w.cancel(ctx, guildB, "unban", bob, unbanBob) })
	c(newCase{guild: guildB, kind: "unban", target: bob, targetName: "bob", moderator: sam,
		reason: "appeal", at: unbanBob.Add(200 * time.Millisecond)})
	banFrank := at(2*day + 6*hour)
	frankBan := c(newCase{guild: guildB, kind: "ban", target: frank, targetName: "frank", moderator: owner,
		reason: "raid organiser", duration: day, at: banFrank})
	s.do(func() error {
		_, err := w.schedule(ctx, guildB, "unban", frank, banFrank.Add(day), frankBan, banFrank)
		return err
	})
	s.do(func() error {
		due := banFrank.Add(day)
		ids, err := w.claimDue(ctx, due)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := w.finish(ctx, id, "pending", "Discord had a problem (HTTP 503)", due.Add(minute), due.Add(time.Second)); err != nil {
				return err
			}
		}
		if ids, err = w.claimDue(ctx, due.Add(minute)); err != nil {
			return err
		}
		for _, id := range ids {
			if err := w.finish(ctx, id, "failed", "Missing Permissions (50013)", time.Time{}, due.Add(minute+time.Second)); err != nil {
				return err
			}
		}
		return nil
	})

	// The AEAD keys rotated ('bot keys rotate'): what follows is sealed
	// under the new primary, what came before stays under the old key.
	s.do(w.k.Rotate)

	// Guild C never saved settings; guild D has one case, of grace's.
	c(newCase{guild: guildC, kind: "note", target: carol, targetName: "carol", moderator: mia,
		reason: "prefers to be contacted in French: « merci »", at: at(3*day + hour)})
	c(newCase{guild: guildC, kind: "warning", target: alice, targetName: "alice", moderator: mia,
		reason: "line one\nline two 🎉 — with a \"quote\" and a tab\there", points: 3, at: at(3*day + 2*hour)})
	c(newCase{guild: guildC, kind: "note", target: grace, targetName: "grace", moderator: mia,
		reason: "same person as in A?", at: at(3*day + 2*hour + 30*minute)})
	c(newCase{guild: guildD, kind: "note", target: grace, targetName: "grace", moderator: owner,
		reason: "watch", at: at(3*day + 2*hour + 45*minute)})
	w13 := at(3*day + 3*hour)
	bob2 := c(newCase{guild: guildA, kind: "warning", target: bob, targetName: "bob", moderator: mia,
		reason: "", points: 1, at: w13, expires: w13.Add(expiresA)})
	s.do(func() error { return w.revoke(ctx, guildA, bob2, mia, "", at(3*day+4*hour)) })
	c(newCase{guild: guildA, kind: "warning", target: heidi, targetName: "heidi", moderator: sam,
		reason: "reposting", points: 1, at: at(3*day + 5*hour), expires: at(3*day + 5*hour).Add(expiresA)})

	// grace asked for her data to be deleted: her cases in every guild and
	// her pending unban go, leaving gaps in the case numbers (in guilds C
	// and D, at the end).
	s.do(func() error { return w.deleteUserData(ctx, grace, "cli", at(4*day)) })
	return s.err
}

// steps runs a scenario's steps until one fails.
type steps struct{ err error }

func (s *steps) do(fn func() error) {
	if s.err == nil {
		s.err = fn()
	}
}

// finish puts the expected records in their read order and adds what
// follows from them: the guilds without settings, and members' active
// points at two times, before and after the 14 and 30-day warnings expire.
func (e *Expected) finish() {
	slices.SortFunc(e.Cases, func(a, b Case) int {
		return cmp.Or(cmp.Compare(a.GuildID, b.GuildID), cmp.Compare(a.Number, b.Number))
	})
	slices.SortFunc(e.Erased, func(a, b CaseRef) int {
		return cmp.Or(cmp.Compare(a.GuildID, b.GuildID), cmp.Compare(a.Number, b.Number))
	})
	for _, g := range []string{guildC, guildD} {
		e.Guilds = append(e.Guilds, Guild{GuildID: g, DMEnabled: true})
	}
	type member struct{ guild, user string }
	var members []member
	for _, c := range e.Cases {
		if m := (member{c.GuildID, c.TargetID}); !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	for _, t := range []time.Time{at(10 * day), at(60 * day)} {
		for _, m := range members {
			p := Points{GuildID: m.guild, UserID: m.user, At: t}
			for _, c := range e.Cases {
				if c.GuildID == m.guild && c.TargetID == m.user && c.Revoked == nil &&
					(c.ExpiresAt == nil || c.ExpiresAt.After(t)) {
					p.Points += c.Points
				}
			}
			e.Points = append(e.Points, p)
		}
	}
}
