package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modbot/bot/storage"
)

// crashWithWAL leaves dir as a killed bot would: a case committed only to
// the WAL, bot.db-wal beside bot.db, and no process holding them.
func crashWithWAL(t *testing.T, dir string) {
	t.Helper()
	db := filepath.Join(dir, "data", "bot.db")
	in := installed(t, dir)
	_, err := storage.NewCases(in.DB, in.Keys).Create(context.Background(), storage.NewCase{
		GuildID: "200000000000000001", Kind: storage.CaseWarning,
		TargetID: "400000000000000002", TargetName: "someone",
		ModeratorID: "400000000000000001", ModeratorName: "mod",
		Reason: "only in the WAL", Points: 1, CreatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	main, err1 := os.ReadFile(db)
	wal, err2 := os.ReadFile(db + "-wal")
	if err1 != nil || err2 != nil || len(wal) == 0 {
		t.Fatalf("read the live files: %v %v (WAL %d bytes)", err1, err2, len(wal))
	}
	in.Close()
	os.Remove(db + "-shm")
	os.WriteFile(db, main, 0o600)
	os.WriteFile(db+"-wal", wal, 0o600)
}

func TestRestoreRoundTrip(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	want := casesIn(t, dir)
	file := backupOf(t, dir, nil)
	// The bot carries on after the backup, then is killed with part of
	// its work only in the WAL.
	addCase(t, dir)
	crashWithWAL(t, dir)

	code, out, errOut := runCLI(t, dir, nil, "restore", file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{"checksum matches", "the keys in data/keys open it", "kept the previous database as data/bot.db.before-restore-", "To undo", "bot restore data/bot.db.before-restore-"} {
		if !strings.Contains(out, w) {
			t.Errorf("output got=%q, want it to contain %q", out, w)
		}
	}
	if got := casesIn(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("restored cases got=%+v, want %+v", got, want)
	}
	// The previous database kept everything, WAL included: undoing the
	// restore brings back all three cases.
	prev, _ := filepath.Glob(filepath.Join(dir, "data", "bot.db.before-restore-*"))
	if len(prev) != 1 {
		t.Fatalf("previous databases: %v, want one", prev)
	}
	if code, out, errOut := runCLI(t, dir, nil, "restore", prev[0]); code != exitOK {
		t.Fatalf("undo: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(casesIn(t, dir)); n != 3 {
		t.Errorf("after undoing: %d cases, want 3", n)
	}
}

func TestRestoreFreshMachine(t *testing.T) {
	src := initDir(t)
	addCase(t, src)
	want := casesIn(t, src)
	file := backupOf(t, src, withPass, "--with-keys")

	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, withPass, "restore", file)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{"created the data directory data", "installed the keys from the backup in data/keys", "nothing to undo", "bot init"} {
		if !strings.Contains(out, w) {
			t.Errorf("output got=%q, want it to contain %q", out, w)
		}
	}
	if code, _, errOut := runCLI(t, dir, nil, "init"); code != exitOK {
		t.Fatalf("init after restore: %s", errOut)
	}
	if got := casesIn(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("restored cases got=%+v, want %+v", got, want)
	}

	t.Run("ReplacesOtherKeysKeepingThem", func(t *testing.T) {
		other := initDir(t)
		code, out, errOut := runCLI(t, other, withPass, "restore", "--with-keys", file)
		if code != exitOK || !strings.Contains(out, "kept the previous keys as data/keys.before-restore-") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		if got := casesIn(t, other); !reflect.DeepEqual(got, want) {
			t.Errorf("restored cases got=%+v, want %+v", got, want)
		}
	})
}

// TestRestoreRefuses feeds restore each kind of bad input and checks that
// it exits 1 with a clear message and leaves the data directory (database,
// WAL, keys) byte for byte as it was.
func TestRestoreRefuses(t *testing.T) {
	other := initDir(t)
	addCase(t, other)
	otherPlain := backupOf(t, other, nil)
	otherWithKeys := backupOf(t, other, withPass, "--with-keys")

	tests := []struct {
		name    string
		file    func(t *testing.T, dir, good string) string
		environ []string
		want    []string
	}{
		{"Empty", func(t *testing.T, _, _ string) string { return writeTemp(t, nil) }, nil,
			[]string{"empty", "check the path"}},
		{"Truncated", func(t *testing.T, _, good string) string {
			return writeTemp(t, readAll(t, good)[:4096*10])
		}, nil, []string{"cut short", "use another backup"}},
		{"FlippedByte", func(t *testing.T, _, good string) string {
			b := readAll(t, good)
			b[len(b)/2+123] ^= 0x01
			return writeTemp(t, b)
		}, nil, []string{"use another backup"}},
		{"TextFile", func(t *testing.T, _, _ string) string { return writeTemp(t, []byte("user_id,reason\n1,spam\n")) }, nil,
			[]string{"not an SQLite database file"}},
		{"OtherProgram", func(t *testing.T, _, _ string) string {
			path := filepath.Join(t.TempDir(), "photos.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, []string{"another program's SQLite database"}},
		{"NewerVersion", func(t *testing.T, _, good string) string {
			path := writeTemp(t, readAll(t, good))
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, 1)`); err != nil {
				t.Fatal(err)
			}
			return path
		}, nil, []string{"schema version 99", "upgrade"}},
		{"KeysDoNotMatch", func(t *testing.T, _, _ string) string { return otherPlain }, nil,
			[]string{"do not open this backup", "does not carry its keys"}},
		{"WrongPassphrase", func(t *testing.T, _, _ string) string { return otherWithKeys },
			[]string{passphraseEnv + "=not the passphrase"}, []string{"passphrase does not open"}},
		{"NoPassphrase", func(t *testing.T, _, _ string) string { return otherWithKeys }, nil,
			[]string{passphraseEnv}},
		{"Missing", func(t *testing.T, _, _ string) string { return filepath.Join(t.TempDir(), "nope.db") }, nil,
			[]string{"no such file", "check the path"}},
		{"LiveDatabase", func(t *testing.T, dir, _ string) string { return filepath.Join(dir, "data", "bot.db") }, nil,
			[]string{"live database itself"}},
		{"BotRunning", func(t *testing.T, dir, good string) string {
			lock, err := storage.Lock(filepath.Join(dir, "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lock.Close() })
			return good
		}, nil, []string{"in use by process", "stop it first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initDir(t)
			addCase(t, dir)
			good := backupOf(t, dir, nil)
			file := tt.file(t, dir, good)
			crashWithWAL(t, dir)
			before := snapshot(t, dir)
			code, out, errOut := runCLI(t, dir, tt.environ, "restore", file)
			if code != exitFailure {
				t.Fatalf("exit got=%d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, w := range append(tt.want, "Nothing was changed") {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr got=%q, want it to contain %q", errOut, w)
				}
			}
			if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
				t.Errorf("the data directory changed: before %v, after %v", keysOf(before), keysOf(after))
			}
		})
	}
}

func TestRestoreDryRun(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	file := backupOf(t, dir, nil)
	addCase(t, dir)
	before := snapshot(t, dir)
	code, out, errOut := runCLI(t, dir, nil, "restore", "--dry-run", file)
	if code != exitOK || !strings.Contains(out, "Dry run: nothing was changed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
		t.Error("a dry run changed the data directory")
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keysOf lists a snapshot's files with their sizes, for failure messages.
func keysOf(m map[string]string) []string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s (%d bytes)", k, len(v)))
	}
	sort.Strings(ks)
	return ks
}

// TestRestoreRefusesHostileBackup: a genuine backup, edited with a SQLite
// shell (its backup-only rows deleted so it passes for a plain copy, the
// record of migration 2 deleted, a table and triggers on goose's table,
// cases and the audit log added), is refused by --dry-run and by restore,
// naming the planted trigger, and the live database, its WAL and the keys
// stay byte for byte as they were.
func TestRestoreRefusesHostileBackup(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	file := backupOf(t, dir, nil)
	edit, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{
		`DELETE FROM meta WHERE key LIKE 'backup_%'`,
		`DELETE FROM goose_db_version WHERE version_id = 2`,
		`CREATE TABLE pwned (x)`,
		`CREATE TRIGGER t_goose AFTER INSERT ON goose_db_version BEGIN INSERT INTO pwned VALUES (1); END`,
		`CREATE TRIGGER t_cases AFTER INSERT ON cases BEGIN INSERT INTO pwned VALUES (2); END`,
		`CREATE TRIGGER t_audit AFTER INSERT ON audit_log BEGIN INSERT INTO pwned VALUES (3); END`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
		`PRAGMA journal_mode=DELETE`,
	} {
		if _, err := edit.Exec(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
	edit.Close()
	addCase(t, dir)
	crashWithWAL(t, dir)
	before := snapshot(t, dir)

	for _, args := range [][]string{{"restore", "--dry-run", file}, {"restore", file}} {
		code, out, errOut := runCLI(t, dir, nil, args...)
		if code != exitFailure {
			t.Fatalf("%v: exit %d, want 1\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
		if !strings.Contains(errOut, "schema was altered") || !strings.Contains(errOut, `trigger "t_goose" was added`) {
			t.Errorf("%v: stderr %q does not say the schema was altered and name the trigger", args, errOut)
		}
		if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
			t.Errorf("%v changed the data directory: %v", args, keysOf(after))
		}
	}
}

// TestRestoreRefusesEditedSealedBackup: a backup whose plain columns were
// edited and whose checksum was recomputed by hand is refused by restore
// and --dry-run, because its seal (a MAC under the installation's keys) no
// longer matches; the data directory is left as it was.
func TestRestoreRefusesEditedSealedBackup(t *testing.T) {
	dir := initDir(t)
	addCase(t, dir)
	file := backupOf(t, dir, nil)
	edit, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{`UPDATE cases SET points = 50`, `PRAGMA journal_mode=DELETE`} {
		if _, err := edit.Exec(e); err != nil {
			t.Fatal(err)
		}
	}
	edit.Close()
	rechecksum(t, file)
	before := snapshot(t, dir)
	for _, args := range [][]string{{"restore", "--dry-run", file}, {"restore", file}} {
		code, out, errOut := runCLI(t, dir, nil, args...)
		if code != exitFailure || !strings.Contains(errOut, "changed after bot backup made it") {
			t.Errorf("%v: exit %d, stderr %q; want the broken seal refused\nstdout: %s", args, code, errOut, out)
		}
		if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
			t.Errorf("%v changed the data directory", args)
		}
	}
}

// rechecksum recomputes a backup's plain checksum (the SHA-256 of the file
// with the checksum's second half zeroed), as someone who knows the file
// format but not the keys can.
func rechecksum(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var slot []byte
	err = db.QueryRow(`SELECT value FROM meta WHERE key = 'backup_checksum'`).Scan(&slot)
	db.Close()
	if err != nil || len(slot) != 64 {
		t.Fatalf("read the checksum slot: %v (%d bytes)", err, len(slot))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, slot)
	if at < 0 || bytes.Contains(data[at+1:], slot) {
		t.Fatal("the checksum slot is not in the file exactly once")
	}
	clear(data[at+32 : at+64])
	sum := sha256.Sum256(data)
	copy(data[at+32:], sum[:])
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
