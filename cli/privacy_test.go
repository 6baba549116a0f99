package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/datadir"
	"github.com/modbot/bot/privacy"
	"github.com/modbot/bot/storage"
)

const (
	privGuild  = "200000000000000001"
	privMember = "400000000000000009"
	privOther  = "400000000000000008"
)

// seedMember gives privMember a warning with an edited reason and a note,
// and privOther one warning, in privGuild.
func seedMember(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	in := installed(t, dir)
	defer in.Close()
	cs := storage.NewCases(in.DB, in.Keys)
	at := time.Now().Add(-time.Hour)
	for _, n := range []storage.NewCase{
		{Kind: storage.CaseWarning, TargetID: privMember, TargetName: "member-name", Reason: "first reason", Points: 1},
		{Kind: storage.CaseNote, TargetID: privMember, TargetName: "member-name", Reason: "a private note"},
		{Kind: storage.CaseWarning, TargetID: privOther, TargetName: "other-name", Reason: "other reason", Points: 1},
	} {
		n.GuildID, n.ModeratorID, n.ModeratorName, n.CreatedAt = privGuild, "400000000000000001", "mod", at
		if _, err := cs.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.UpdateReason(ctx, privGuild, 1, "400000000000000001", "edited reason", at); err != nil {
		t.Fatal(err)
	}
}

// memberCaseCount counts user's cases in dir, and checks every record
// against its seal.
func memberCaseCount(t *testing.T, dir, user string) int {
	t.Helper()
	in := installed(t, dir)
	defer in.Close()
	if _, err := storage.VerifyDatabase(context.Background(), in.DB, in.Keys); err != nil {
		t.Errorf("VerifyDatabase: %v", err)
	}
	cs, err := storage.NewCases(in.DB, in.Keys).AllForUser(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// auditActions lists the actions in dir's audit log.
func auditActions(t *testing.T, dir string) []string {
	t.Helper()
	in := installed(t, dir)
	defer in.Close()
	entries, err := storage.NewAudit(in.DB, in.Keys).List(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

// runCLITerminal runs the command line with input typed on stdin, taken
// for a terminal.
func runCLITerminal(t *testing.T, dir, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := testEnv(dir, nil, &out, &errOut)
	e.stdin, e.stdinTerminal = strings.NewReader(input), true
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestPrivacyExport(t *testing.T) {
	dir := initDir(t)
	seedMember(t, dir)
	code, out, errOut := runCLI(t, dir, nil, "privacy", "export", "--guild", privGuild, "--user", privMember)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc privacy.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, out)
	}
	if doc.UserID != privMember || doc.GuildID != privGuild || len(doc.Cases) != 2 {
		t.Fatalf("got=%+v, want the member's 2 cases", doc)
	}
	if doc.Cases[0].Reason != "edited reason" || len(doc.Cases[0].ReasonHistory) != 1 || doc.Cases[0].ReasonHistory[0].Reason != "first reason" {
		t.Errorf("case 1 got=%+v, want the edited reason and the first in its history", doc.Cases[0])
	}
	if doc.Cases[0].Moderator != nil {
		t.Error("the moderator is named, but the guild does not show moderators' names")
	}
	if strings.Contains(out, "other reason") {
		t.Error("the export holds another member's case")
	}

	t.Run("Out", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "privacy", "export", "--guild", privGuild, "--user", privMember, "--out", "export.json")
		if code != exitOK || out != "" || !strings.Contains(errOut, "Wrote export.json: 2 cases") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		st, err := os.Stat(filepath.Join(dir, "export.json"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("export.json: %v, %v; want mode 0600", st, err)
		}
	})
	t.Run("OutOneCase", func(t *testing.T) {
		code, _, errOut := runCLI(t, dir, nil, "privacy", "export", "--guild", privGuild, "--user", privOther, "--out", "other.json")
		if code != exitOK || !strings.Contains(errOut, "Wrote other.json: 1 case and 0 scheduled actions") {
			t.Fatalf("exit %d, stderr %q; want the count in the singular", code, errOut)
		}
	})
	t.Run("RefusedWhileLocked", func(t *testing.T) {
		lock, err := storage.Lock(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		code, _, errOut := runCLI(t, dir, nil, "privacy", "export", "--guild", privGuild, "--user", privMember)
		if code != exitFailure || !strings.Contains(errOut, "process "+strconv.Itoa(os.Getpid())) || !strings.Contains(errOut, "stop it first") {
			t.Errorf("exit %d, stderr %q; want a refusal naming the PID", code, errOut)
		}
	})
}

func TestPrivacyUsage(t *testing.T) {
	dir := initDir(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"NoSubcommand", []string{"privacy"}, "missing subcommand"},
		{"Unknown", []string{"privacy", "forget"}, `unknown subcommand "forget"`},
		{"NoUser", []string{"privacy", "export", "--guild", privGuild}, "--user"},
		{"NoGuild", []string{"privacy", "erase", "--user", privMember}, "or --all-guilds"},
		{"AllGuildsBadGuild", []string{"privacy", "erase", "--guild", "server", "--all-guilds", "--user", privMember}, `--guild "server"`},
		{"OutWithErase", []string{"privacy", "erase", "--guild", privGuild, "--user", privMember, "--out", "x"}, "--out goes with"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, dir, nil, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestPrivacyErase(t *testing.T) {
	dir := initDir(t)
	seedMember(t, dir)
	args := []string{"privacy", "erase", "--guild", privGuild, "--user", privMember}

	t.Run("RefusedWithoutTerminal", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, args...)
		if code != exitFailure || !strings.Contains(errOut, "--yes") || !strings.Contains(out, "1 note, 1 warning") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		if n := memberCaseCount(t, dir, privMember); n != 2 {
			t.Errorf("%d cases left, want 2: nothing may be erased", n)
		}
	})
	t.Run("NotConfirmed", func(t *testing.T) {
		code, _, errOut := runCLITerminal(t, dir, "yes\n", args...)
		if code != exitFailure || !strings.Contains(errOut, "not confirmed") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if n := memberCaseCount(t, dir, privMember); n != 2 {
			t.Errorf("%d cases left, want 2", n)
		}
	})
	t.Run("Confirmed", func(t *testing.T) {
		code, out, errOut := runCLITerminal(t, dir, "erase\n", args...)
		if code != exitOK {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		for _, w := range []string{"Erased 2 cases and 1 earlier reason", "data/" + datadir.LedgerFile, "Backups on disk"} {
			if !strings.Contains(out, w) {
				t.Errorf("stdout %q, want %q", out, w)
			}
		}
		if n := memberCaseCount(t, dir, privMember); n != 0 {
			t.Errorf("%d cases of the member left, want 0", n)
		}
		if n := memberCaseCount(t, dir, privOther); n != 1 {
			t.Errorf("%d cases of the other member, want 1", n)
		}
		if wal, err := os.ReadFile(filepath.Join(dir, "data", "bot.db-wal")); err == nil && len(wal) > 0 {
			t.Errorf("the WAL holds %d bytes after the erasure, want it checkpointed empty", len(wal))
		}
		if a := auditActions(t, dir); !strings.Contains(strings.Join(a, " "), "privacy.erase") {
			t.Errorf("audit actions %v, want privacy.erase", a)
		}
		// The chain still verifies, and says that records were erased.
		if code, out, _ := runCLI(t, dir, nil, "audit", "verify"); code != exitOK ||
			!strings.Contains(out, "1 of the entries record members' records erased") {
			t.Errorf("audit verify after the erasure: exit %d\n%s", code, out)
		}
		in := installed(t, dir)
		ledger, err := datadir.ReadLedger(in)
		in.Close()
		if err != nil || len(ledger) == 0 {
			t.Errorf("ledger: %v, %v; want the erasure in it", ledger, err)
		}
	})
	t.Run("NothingLeft", func(t *testing.T) {
		code, out, _ := runCLI(t, dir, nil, append(args, "--yes")...)
		if code != exitOK || !strings.Contains(out, "nothing to erase") {
			t.Errorf("exit %d, stdout %q", code, out)
		}
	})
	t.Run("GuildAndAllGuilds", func(t *testing.T) {
		// privThird has two warnings in privGuild and one in another
		// guild: --all-guilds erases all three, the --guild given
		// being one of the guilds.
		const privThird, otherGuild = "400000000000000007", "200000000000000002"
		in := installed(t, dir)
		cs := storage.NewCases(in.DB, in.Keys)
		for _, g := range []string{privGuild, privGuild, otherGuild} {
			if _, err := cs.Create(context.Background(), storage.NewCase{Kind: storage.CaseWarning, GuildID: g, TargetID: privThird,
				TargetName: "third-name", ModeratorID: "400000000000000001", ModeratorName: "mod", Reason: "r", Points: 1,
				CreatedAt: time.Now().Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		in.Close()
		code, out, errOut := runCLI(t, dir, nil, "privacy", "erase", "--guild", privGuild, "--user", privThird, "--all-guilds", "--yes")
		for _, w := range []string{"guild " + privGuild + ": 2 cases (2 warnings)", "guild " + otherGuild + ": 1 case (1 warning)", "Erased 3 cases"} {
			if code != exitOK || !strings.Contains(out, w) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant %q", code, out, errOut, w)
			}
		}
		if n := memberCaseCount(t, dir, privThird); n != 0 {
			t.Errorf("%d cases left, want 0 in every guild", n)
		}
	})
	t.Run("AllGuildsYes", func(t *testing.T) {
		code, out, errOut := runCLI(t, dir, nil, "privacy", "erase", "--all-guilds", "--user", privOther, "--yes")
		if code != exitOK || !strings.Contains(out, "guild "+privGuild+": 1 case (1 warning)") || !strings.Contains(out, "Erased 1 case") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
		if n := memberCaseCount(t, dir, privOther); n != 0 {
			t.Errorf("%d cases left, want 0", n)
		}
	})
}

// TestRestoreReappliesErasures: restoring a backup made before an erasure
// erases the member again, says so, and leaves records that match their
// seals, with the re-application in the audit log.
func TestRestoreReappliesErasures(t *testing.T) {
	dir := initDir(t)
	seedMember(t, dir)
	old := backupOf(t, dir, nil)
	if code, out, errOut := runCLI(t, dir, nil, "privacy", "erase", "--guild", privGuild, "--user", privMember, "--yes"); code != exitOK {
		t.Fatalf("erase: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, dir, nil, "restore", old)
	if code != exitOK {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "re-applied 1 erasure (2 cases erased again)") {
		t.Errorf("stdout %q, want it to report the erasure re-applied", out)
	}
	if n := memberCaseCount(t, dir, privMember); n != 0 {
		t.Errorf("%d cases of the erased member after the restore, want 0", n)
	}
	if n := memberCaseCount(t, dir, privOther); n != 1 {
		t.Errorf("%d cases of the other member, want 1", n)
	}
	if a := strings.Join(auditActions(t, dir), " "); !strings.Contains(a, "privacy.reapply") {
		t.Errorf("audit actions %q, want privacy.reapply", a)
	}
	// Restoring it again: the same, and nothing more to say the next time
	// the installation opens.
	code, out, _ = runCLI(t, dir, nil, "restore", old)
	if code != exitOK || !strings.Contains(out, "re-applied 1 erasure") {
		t.Errorf("second restore: exit %d, stdout %q", code, out)
	}

	t.Run("CarriedByWithKeys", func(t *testing.T) {
		file := backupOf(t, dir, withPass, "--with-keys")
		res, err := storage.Verify(context.Background(), file)
		if err != nil || res.Erasures == nil {
			t.Fatalf("verify: %v; erasures %d bytes, want the ledger", err, len(res.Erasures))
		}
		fresh := t.TempDir()
		if code, out, errOut := runCLI(t, fresh, withPass, "restore", file); code != exitOK {
			t.Fatalf("restore on a fresh machine: exit %d\n%s\n%s", code, out, errOut)
		}
		data, err := os.ReadFile(filepath.Join(fresh, "data", datadir.LedgerFile))
		if err != nil || !bytes.HasPrefix(data, []byte("modbot-erasures")) {
			t.Fatalf("the fresh machine's ledger: %v", err)
		}
		// The old backup, which predates the erasure, restored there.
		code, out, errOut := runCLI(t, fresh, nil, "restore", old)
		if code != exitOK || !strings.Contains(out, "re-applied 1 erasure") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})
}
