package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/internal/upgradetest"
	"github.com/modbot/bot/storage"
)

// upgradeDataSets are installations written by earlier versions of the
// bot, under internal/upgradetest/testdata. Every migration runs over each
// of them; a version that writes records differently from all of them
// adds a data set of its own.
var upgradeDataSets = []string{"v1"}

// upgradeBinEnv names a bot binary (a release build, the packaged
// /usr/bin/bot) that the upgrade tests run instead of the command line
// in-process, so that the same checks hold for what owners install.
const upgradeBinEnv = "UPGRADE_BOT_BIN"

// upgradeEnviron turns off the health server of the data sets'
// configuration, which a test must not bind.
var upgradeEnviron = []string{"BOT_HTTP_LISTEN="}

// upgradeAuditActions are the audit entries that opening a database of an
// older schema may append after the ones the older version wrote.
var upgradeAuditActions = []string{"records.seal"}

// afterMigration holds, per migration, what it must have done to a data set
// written before it, beyond the records reading back as they were (which
// is checked for every version). A migration that changes or adds stored
// data adds its check here.
var afterMigration = map[int64]func(t *testing.T, in *datadir.Installation, exp *upgradetest.Expected){
	// Every row the older version wrote is sealed, and the case numbers
	// its erasures left as gaps are recorded as erased (otherwise
	// verification would report them as deleted outside the bot).
	3: func(t *testing.T, in *datadir.Installation, exp *upgradetest.Expected) {
		rep, err := storage.VerifyDatabase(context.Background(), in.DB, in.Keys)
		if err != nil {
			t.Fatalf("verify after the upgrade: %v", err)
		}
		if want := sealedRowsOf(exp); rep.Unsealed || rep.Records != want || rep.Bad != 0 {
			t.Errorf("records after the upgrade: %+v, want %d sealed rows, none bad", rep, want)
		}
	},
	// The tables of members' erasures, modlog messages, guild retention and
	// departures start empty.
	4: func(t *testing.T, in *datadir.Installation, _ *upgradetest.Expected) {
		for _, table := range []string{"member_erasures", "modlog_messages", "guild_retention", "guild_departures"} {
			if n := countRows(t, in.DB.Path(), table); n != 0 {
				t.Errorf("%s holds %d rows after the upgrade, want none", table, n)
			}
		}
	},
	// Reason presets, the manual-actions switch and the audit-log entries
	// already recorded, and cases' message links start empty: no server
	// has set any, and no older case came from a message.
	5: emptyTables("reason_presets"),
	6: emptyTables("guild_manual_actions", "manual_action_entries"),
	7: emptyTables("case_message_links"),
	// Only an index, which /modstats reads: the older cases are in it.
	8: func(t *testing.T, in *datadir.Installation, _ *upgradetest.Expected) {
		all := countRows(t, in.DB.Path(), "cases")
		indexed := countRows(t, in.DB.Path(), "cases INDEXED BY cases_by_kind WHERE guild_id > ''")
		if all == 0 || indexed != all {
			t.Errorf("cases_by_kind covers %d of %d cases after the upgrade", indexed, all)
		}
	},
}

// emptyTables is the check of a migration that adds tables no older
// version wrote.
func emptyTables(tables ...string) func(*testing.T, *datadir.Installation, *upgradetest.Expected) {
	return func(t *testing.T, in *datadir.Installation, _ *upgradetest.Expected) {
		for _, table := range tables {
			if n := countRows(t, in.DB.Path(), table); n != 0 {
				t.Errorf("%s holds %d rows after the upgrade, want none", table, n)
			}
		}
	}
}

// TestUpgrade opens each data set written by an earlier version as an
// owner upgrading the binary would ('bot migrate up' opens the data as
// 'bot run' does at start): every migration is applied, every record reads
// back as the older version wrote it, the audit chain and the records'
// seals verify, and the installation is healthy. Keys rotated by the older
// version can then be re-encrypted and retired, new cases continue the
// numbering, and a member's data can be erased.
func TestUpgrade(t *testing.T) {
	for _, name := range upgradeDataSets {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join("..", "internal", "upgradetest", "testdata", name)
			exp, err := upgradetest.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			testUpgrade(t, src, exp)
		})
	}
}

func testUpgrade(t *testing.T, src string, exp *upgradetest.Expected) {
	bot := upgradeRunner(t)
	dir := copyInstallation(t, src)
	dbPath := filepath.Join(dir, "data", datadir.DBFile)
	latest := storage.LatestVersion()

	// Before: read-only tooling opens the older schema, and changes nothing
	// in the database.
	before := readAll(t, dbPath)
	checkMigrations(t, bot, dir, exp.SchemaVersion)
	verify := auditVerify(t, bot, dir)
	if verify.Entries != len(exp.Audit) || verify.RecordsSealed {
		t.Errorf("bot audit verify before the upgrade: %+v, want %d entries and records not sealed yet", verify, len(exp.Audit))
	}
	if !bytes.Equal(readAll(t, dbPath), before) {
		t.Error("bot migrate status or bot audit verify changed the database of an older schema")
	}

	// The upgrade.
	if code, out, errOut := bot(t, dir, "migrate", "up"); code != exitOK {
		t.Fatalf("bot migrate up: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	checkMigrations(t, bot, dir, latest)

	in := installed(t, dir)
	if n := len(in.Keys.Status().AEAD.Keys); n != exp.AEADKeys {
		t.Errorf("AEAD keys got=%d, want %d", n, exp.AEADKeys)
	}
	compareRecords(t, in, exp)
	tail := auditTail(t, in, exp)
	for _, e := range tail {
		if !slices.Contains(upgradeAuditActions, e.Action) {
			t.Errorf("the upgrade appended audit entry %d %q (%s); want only %v", e.Seq, e.Action, e.Details, upgradeAuditActions)
		}
	}
	for v := exp.SchemaVersion + 1; v <= latest; v++ {
		if check := afterMigration[v]; check != nil {
			t.Run(fmt.Sprintf("migration%d", v), func(t *testing.T) { check(t, in, exp) })
		}
	}
	in.Close()

	verify = auditVerify(t, bot, dir)
	if want := len(exp.Audit) + len(tail); verify.Entries != want || !verify.RecordsSealed {
		t.Errorf("bot audit verify after the upgrade: %+v, want %d entries and sealed records", verify, want)
	}
	checkHealth(t, bot, dir, latest)

	// A second start finds nothing to do.
	if code, _, errOut := bot(t, dir, "migrate", "up"); code != exitOK {
		t.Fatalf("second bot migrate up: exit %d: %s", code, errOut)
	}
	in = installed(t, dir)
	if again := auditTail(t, in, exp); len(again) != len(tail) {
		t.Errorf("a second start appended %d audit entries", len(again)-len(tail))
	}
	in.Close()

	t.Run("KeysReencryptedAndOldKeyRetired", func(t *testing.T) {
		if code, _, errOut := bot(t, dir, "keys", "reencrypt"); code != exitOK {
			t.Fatalf("bot keys reencrypt: exit %d: %s", code, errOut)
		}
		in := installed(t, dir)
		var retire []string
		for _, k := range in.Keys.Status().AEAD.Keys {
			if !k.Primary {
				retire = append(retire, fmt.Sprint(k.ID))
			}
		}
		in.Close()
		for _, id := range retire {
			// Refused while any value, of any table the older version
			// wrote, is still sealed under the key.
			if code, out, errOut := bot(t, dir, "keys", "retire", id); code != exitOK {
				t.Fatalf("bot keys retire %s: exit %d\nstdout: %s\nstderr: %s", id, code, out, errOut)
			}
		}
		in = installed(t, dir)
		compareRecords(t, in, exp)
		in.Close()
		auditVerify(t, bot, dir)
	})

	t.Run("NewCasesContinueTheNumbering", func(t *testing.T) {
		in := installed(t, dir)
		defer in.Close()
		cases := storage.NewCases(in.DB, in.Keys)
		for _, g := range exp.Guilds {
			c, err := cases.Create(context.Background(), storage.NewCase{
				GuildID: g.GuildID, Kind: storage.CaseNote, TargetID: "500000000000000001", TargetName: "newcomer",
				ModeratorID: "500000000000000002", ModeratorName: "new mod", Reason: "after the upgrade",
			})
			if err != nil {
				t.Fatalf("new case in %s: %v", g.GuildID, err)
			}
			if want := highestNumber(exp, g.GuildID) + 1; c.Number != want {
				t.Errorf("new case in %s got number %d, want %d: numbers are never reused", g.GuildID, c.Number, want)
			}
		}
		if _, err := storage.VerifyDatabase(context.Background(), in.DB, in.Keys); err != nil {
			t.Errorf("verify after new cases: %v", err)
		}
	})

	t.Run("MemberErased", func(t *testing.T) {
		user := mostCases(exp)
		code, out, errOut := bot(t, dir, "privacy", "erase", "--all-guilds", "--user", user, "--yes")
		if code != exitOK {
			t.Fatalf("bot privacy erase: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		auditVerify(t, bot, dir)
		rest := *exp
		rest.Cases = slices.DeleteFunc(slices.Clone(exp.Cases), func(c upgradetest.Case) bool { return c.TargetID == user })
		rest.Points = slices.DeleteFunc(slices.Clone(exp.Points), func(p upgradetest.Points) bool { return p.UserID == user })
		rest.ErasedMembers = append(slices.Clone(exp.ErasedMembers), user)
		for _, c := range exp.Cases {
			if c.TargetID == user {
				rest.Erased = append(rest.Erased, upgradetest.CaseRef{GuildID: c.GuildID, Number: c.Number})
			}
		}
		in := installed(t, dir)
		defer in.Close()
		compareRecords(t, in, &rest)
	})
}

// TestOlderBinaryRefusesNewerDatabase: a bot older than the database (one
// a newer bot migrated) refuses to open it, saying what happened and what
// to do, and leaves every file of the data directory as it was. The newer
// bot is simulated by a migration version past the newest this one knows.
func TestOlderBinaryRefusesNewerDatabase(t *testing.T) {
	bot := upgradeRunner(t)
	dir := copyInstallation(t, filepath.Join("..", "internal", "upgradetest", "testdata", upgradeDataSets[0]))
	if code, _, errOut := bot(t, dir, "migrate", "up"); code != exitOK {
		t.Fatalf("bot migrate up: exit %d: %s", code, errOut)
	}
	latest := storage.LatestVersion()
	newer := latest + 1
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", datadir.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, newer); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, filepath.Join(dir, "data"))
	wants := []string{
		fmt.Sprintf("this database is at schema version %d but this bot knows up to %d", newer, latest),
		"written by a newer version of the bot", "upgrade the binary",
	}
	for _, args := range [][]string{
		{"run"}, {"migrate", "up"}, {"migrate", "status"}, {"audit", "verify"}, {"health", "--offline"},
		{"backup"}, {"keys", "status"}, {"keys", "reencrypt"}, {"privacy", "export", "--guild", "1", "--user", "2"},
	} {
		code, out, errOut := bot(t, dir, args...)
		said := out + errOut
		if code == exitOK {
			t.Errorf("bot %s: exit 0 on a newer database\n%s", strings.Join(args, " "), said)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(said, want) {
				t.Errorf("bot %s: output lacks %q:\n%s", strings.Join(args, " "), want, said)
			}
		}
	}
	if after := snapshot(t, filepath.Join(dir, "data")); !maps.Equal(before, after) {
		t.Errorf("the data directory changed:\nbefore: %v\nafter:  %v", keysOf(before), keysOf(after))
	}

	if os.Getenv(upgradeBinEnv) != "" {
		return // the commands above ran in that binary already
	}
	// As a process of its own, the way an owner meets it. The test binary
	// acts as the bot (childEnv).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runBinary(t, self, dir, []string{childEnv + "=1", "BOT_DISCORD_TOKEN=a.b.c"}, "run")
	if code != exitFailure || !strings.Contains(errOut, wants[0]) || !strings.Contains(errOut, wants[2]) {
		t.Errorf("bot run as a process: exit %d, stdout %q, stderr %q; want exit 1 and the refusal", code, out, errOut)
	}
	if after := snapshot(t, filepath.Join(dir, "data")); !maps.Equal(before, after) {
		t.Error("the data directory changed under bot run as a process")
	}
}

// botFunc runs a bot command with dir as the working directory.
type botFunc func(t *testing.T, dir string, args ...string) (code int, stdout, stderr string)

// upgradeRunner runs commands in-process, or in the binary named by
// UPGRADE_BOT_BIN.
func upgradeRunner(t *testing.T) botFunc {
	if bin := os.Getenv(upgradeBinEnv); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		return func(t *testing.T, dir string, args ...string) (int, string, string) {
			return runBinary(t, abs, dir, []string{"BOT_DISCORD_TOKEN=a.b.c"}, args...)
		}
	}
	return func(t *testing.T, dir string, args ...string) (int, string, string) {
		environ := upgradeEnviron
		if len(args) > 0 && args[0] == "run" {
			environ = append(slices.Clone(environ), "BOT_DISCORD_TOKEN=a.b.c")
		}
		return runCLI(t, dir, environ, args...)
	}
}

// runBinary runs bin in dir with the environment of the test process,
// less any BOT_ variable of the developer's, plus upgradeEnviron and env.
func runBinary(t *testing.T, bin, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, upgradeEnviron...), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errOut.String()
	case err != nil:
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return exitOK, out.String(), errOut.String()
}

// copyInstallation copies a data set's config.toml and data directory
// into a new directory, with the modes 'bot init' gives them (git keeps
// none of them).
func copyInstallation(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.toml", "data"} {
		err := filepath.WalkDir(filepath.Join(src, name), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o700)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), b, 0o600)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkMigrations checks, with 'bot migrate status --json', that exactly
// the migrations up to version are applied, out of one per version from 1
// to the newest this bot carries.
func checkMigrations(t *testing.T, bot botFunc, dir string, version int64) {
	t.Helper()
	code, out, errOut := bot(t, dir, "migrate", "status", "--json")
	if code != exitOK {
		t.Fatalf("bot migrate status: exit %d: %s", code, errOut)
	}
	var rows []struct {
		Version int64 `json:"version"`
		Applied bool  `json:"applied"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("bot migrate status --json: %v\n%s", err, out)
	}
	if int64(len(rows)) != storage.LatestVersion() {
		t.Fatalf("bot migrate status lists %d migrations, want %d", len(rows), storage.LatestVersion())
	}
	for i, r := range rows {
		if r.Version != int64(i+1) || r.Applied != (r.Version <= version) {
			t.Errorf("migration %d: version %d applied=%v, want version %d applied=%v", i, r.Version, r.Applied, i+1, int64(i+1) <= version)
		}
	}
}

// verifyReport is 'bot audit verify --json'.
type verifyReport struct {
	OK            bool `json:"ok"`
	Entries       int  `json:"entries"`
	Records       int  `json:"records"`
	RecordsSealed bool `json:"records_sealed"`
}

func auditVerify(t *testing.T, bot botFunc, dir string) verifyReport {
	t.Helper()
	code, out, errOut := bot(t, dir, "audit", "verify", "--json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.OK {
		t.Fatalf("bot audit verify: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}
	return rep
}

// checkHealth checks 'bot health --offline': healthy, at schema version
// latest, the records last verified intact.
func checkHealth(t *testing.T, bot botFunc, dir string, latest int64) {
	t.Helper()
	code, out, errOut := bot(t, dir, "health", "--offline", "--json")
	var rep struct {
		Healthy bool    `json:"healthy"`
		Checks  []check `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.Healthy {
		t.Fatalf("bot health --offline: exit %d (%v)\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}
	for _, want := range []check{
		{"database", "ok", fmt.Sprintf("schema version %d", latest)},
		{"keys", "ok", "sentinel opens"},
		{"records", "ok", "intact"},
	} {
		i := slices.IndexFunc(rep.Checks, func(c check) bool { return c.Name == want.Name })
		if i < 0 || rep.Checks[i].Status != want.Status || !strings.Contains(rep.Checks[i].Detail, want.Detail) {
			t.Errorf("health check %s: got %+v, want %s with %q", want.Name, rep.Checks, want.Status, want.Detail)
		}
	}
}

// compareRecords reads every record of exp through storage's read APIs
// and checks that it reads as exp says, that the erased cases and members
// are gone, and that the lists and sums by member agree.
func compareRecords(t *testing.T, in *datadir.Installation, exp *upgradetest.Expected) {
	t.Helper()
	ctx := context.Background()
	cases := storage.NewCases(in.DB, in.Keys)
	created, err := storage.NewMeta(in.DB).CreatedAt(ctx)
	if err != nil || !created.Equal(exp.CreatedAt) {
		t.Errorf("installation created at %v (%v), want %v", created, err, exp.CreatedAt)
	}
	for _, want := range exp.Guilds {
		s, err := storage.NewGuilds(in.DB, in.Keys).Get(ctx, want.GuildID)
		if err != nil {
			t.Fatalf("settings of %s: %v", want.GuildID, err)
		}
		sameJSON(t, "settings of "+want.GuildID, want, guildOf(s))
	}
	for _, want := range exp.Cases {
		c, err := cases.Get(ctx, want.GuildID, want.Number)
		if err != nil {
			t.Fatalf("case %d of %s: %v", want.Number, want.GuildID, err)
		}
		h, err := cases.History(ctx, want.GuildID, want.Number)
		if err != nil {
			t.Fatalf("history of case %d of %s: %v", want.Number, want.GuildID, err)
		}
		sameJSON(t, fmt.Sprintf("case %d of %s", want.Number, want.GuildID), want, caseOf(c, h))
	}
	for _, e := range exp.Erased {
		if _, err := cases.Get(ctx, e.GuildID, e.Number); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("erased case %d of %s: got err=%v, want ErrNotFound", e.Number, e.GuildID, err)
		}
	}
	// Lookups by member go through the blind indexes the older version
	// stored.
	byMember := map[[2]string][]int64{}
	byUser := map[string][]upgradetest.CaseRef{}
	for _, c := range exp.Cases {
		byMember[[2]string{c.GuildID, c.TargetID}] = append(byMember[[2]string{c.GuildID, c.TargetID}], c.Number)
		byUser[c.TargetID] = append(byUser[c.TargetID], upgradetest.CaseRef{GuildID: c.GuildID, Number: c.Number})
	}
	for m, want := range byMember {
		list, err := cases.ListForUser(ctx, m[0], m[1], true, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int64, 0, len(list))
		for _, c := range list {
			got = append(got, c.Number)
		}
		if !slices.Equal(got, want) {
			t.Errorf("cases of %s in %s got=%v, want %v", m[1], m[0], got, want)
		}
	}
	for _, u := range exp.ErasedMembers {
		byUser[u] = nil
	}
	for u, want := range byUser {
		all, err := cases.AllForUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var got []upgradetest.CaseRef
		for _, c := range all {
			got = append(got, upgradetest.CaseRef{GuildID: c.GuildID, Number: c.Number})
		}
		if !slices.Equal(got, want) {
			t.Errorf("cases of %s in every guild got=%v, want %v", u, got, want)
		}
	}
	for _, p := range exp.Points {
		if got, err := cases.ActivePoints(ctx, p.GuildID, p.UserID, p.At); err != nil || got != p.Points {
			t.Errorf("active points of %s in %s at %v got=%d (%v), want %d", p.UserID, p.GuildID, p.At, got, err, p.Points)
		}
	}
	sched := storage.NewSchedule(in.DB, in.Keys)
	pending := 0
	for _, want := range exp.Scheduled {
		a, err := sched.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("scheduled action %d: %v", want.ID, err)
		}
		sameJSON(t, fmt.Sprintf("scheduled action %d", want.ID), want, actionOf(a))
		if want.State == string(storage.StatePending) {
			pending++
		}
	}
	if got, err := sched.Pending(ctx); err != nil || got != pending {
		t.Errorf("pending actions got=%d (%v), want %d", got, err, pending)
	}
	entries, err := storage.NewAudit(in.DB, in.Keys).List(ctx, 0, len(exp.Audit))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]upgradetest.AuditEntry, 0, len(entries))
	for _, e := range entries {
		got = append(got, upgradetest.AuditEntry{Seq: e.Seq, At: e.At, GuildID: e.GuildID, ActorID: e.ActorID, Action: e.Action, Details: e.Details})
	}
	sameJSON(t, "audit log", exp.Audit, got)
}

// auditTail returns the audit entries after the ones of exp.
func auditTail(t *testing.T, in *datadir.Installation, exp *upgradetest.Expected) []storage.AuditEntry {
	t.Helper()
	tail, err := storage.NewAudit(in.DB, in.Keys).List(context.Background(), int64(len(exp.Audit)), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return tail
}

func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("%s:\ngot:  %s\nwant: %s", what, g, w)
	}
}

func guildOf(s storage.GuildSettings) upgradetest.Guild {
	g := upgradetest.Guild{
		GuildID: s.GuildID, Saved: !s.UpdatedAt.IsZero(), ModlogChannelID: s.ModlogChannelID, DMEnabled: s.DMEnabled,
		WarningExpiryMS: s.WarningExpiry.Milliseconds(), ShowModeratorNames: s.ShowModeratorNames,
		ModeratorRoleIDs: s.ModeratorRoleIDs, UpdatedAt: timeOrNil(s.UpdatedAt),
	}
	for _, r := range s.Escalations {
		g.Escalations = append(g.Escalations, upgradetest.Rule{Points: r.Points, Action: string(r.Action), DurationMS: r.Duration.Milliseconds()})
	}
	return g
}

func caseOf(c storage.Case, history []storage.ReasonChange) upgradetest.Case {
	out := upgradetest.Case{
		GuildID: c.GuildID, Number: c.Number, Kind: string(c.Kind), TargetID: c.TargetID, TargetName: c.TargetName,
		ModeratorID: c.ModeratorID, ModeratorName: c.ModeratorName, Reason: c.Reason, Points: c.Points,
		DurationMS: c.Duration.Milliseconds(), CreatedAt: c.CreatedAt, ExpiresAt: timeOrNil(c.ExpiresAt),
		LinkedCase: c.LinkedCase,
	}
	if c.Revoked != nil {
		out.Revoked = &upgradetest.Revocation{At: c.Revoked.At, ByID: c.Revoked.ByID, Reason: c.Revoked.Reason}
	}
	for _, h := range history {
		out.History = append(out.History, upgradetest.ReasonChange{Revision: h.Revision, OldReason: h.OldReason, ChangedByID: h.ChangedByID, ChangedAt: h.ChangedAt})
	}
	return out
}

func actionOf(a storage.ScheduledAction) upgradetest.Action {
	return upgradetest.Action{
		ID: a.ID, GuildID: a.GuildID, Kind: string(a.Kind), TargetID: a.TargetID, DueAt: a.DueAt, State: string(a.State),
		Attempts: a.Attempts, LastError: a.LastError, CaseNumber: a.CaseNumber, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// sealedRowsOf counts the rows of exp in the tables whose rows are sealed:
// settings, moderator roles and escalation rules of saved guilds, cases
// with their history, case counters (one per guild that ever had a case),
// scheduled actions, and erased case numbers.
func sealedRowsOf(exp *upgradetest.Expected) int {
	n := len(exp.Cases) + len(exp.Scheduled) + len(exp.Erased)
	counters := map[string]bool{}
	for _, c := range exp.Cases {
		n += len(c.History)
		counters[c.GuildID] = true
	}
	for _, e := range exp.Erased {
		counters[e.GuildID] = true
	}
	for _, g := range exp.Guilds {
		if g.Saved {
			n += 1 + len(g.ModeratorRoleIDs) + len(g.Escalations)
		}
	}
	return n + len(counters)
}

// highestNumber is the highest case number a guild of exp used, stored or
// erased.
func highestNumber(exp *upgradetest.Expected, guild string) int64 {
	var n int64
	for _, c := range exp.Cases {
		if c.GuildID == guild {
			n = max(n, c.Number)
		}
	}
	for _, e := range exp.Erased {
		if e.GuildID == guild {
			n = max(n, e.Number)
		}
	}
	return n
}

// mostCases is the member with the most cases, in the most guilds.
func mostCases(exp *upgradetest.Expected) string {
	count := map[string]int{}
	for _, c := range exp.Cases {
		count[c.TargetID]++
	}
	var best string
	for u, n := range count {
		if n > count[best] || (n == count[best] && u < best) {
			best = u
		}
	}
	return best
}

// countRows counts a table's rows through a connection of its own.
func countRows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
