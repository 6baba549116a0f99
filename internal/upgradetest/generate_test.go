package upgradetest

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGenerateV1 regenerates the v1 data set and compares it with the one
// committed: the same plaintexts (expected.json, byte for byte), the same
// schema at version 1, a file the schema-1 bot could have left (WAL mode,
// no WAL beside it). The ciphertexts differ, under new random keys.
func TestGenerateV1(t *testing.T) {
	committed := filepath.Join("testdata", "v1")
	dir := t.TempDir()
	if err := GenerateV1(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(committed, ExpectedFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ExpectedFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the generator's %s differs from the committed one: regenerate the data set (see %s/README.md)", ExpectedFile, committed)
	}
	gen := readDB(t, filepath.Join(dir, "data", "bot.db"))
	old := readDB(t, filepath.Join(committed, "data", "bot.db"))
	if !slices.Equal(gen.schema, old.schema) {
		t.Errorf("schema of a generated database:\n%q\nof the committed one:\n%q", gen.schema, old.schema)
	}
	for name, d := range map[string]dbFacts{"generated": gen, "committed": old} {
		if !slices.Equal(d.versions, []int64{0, 1}) || d.journal != "wal" || d.appID != 0x4D4F4442 {
			t.Errorf("%s database: goose versions %v, journal %s, application_id %#x; want [0 1], wal, 0x4d4f4442",
				name, d.versions, d.journal, d.appID)
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		for _, d := range []string{dir, committed} {
			if _, err := os.Stat(filepath.Join(d, "data", "bot.db"+suffix)); err == nil {
				t.Errorf("%s: bot.db%s left beside the database", d, suffix)
			}
		}
	}
}

// TestGenerateV1RefusesExistingData: the generator never writes over a
// data set's keys and database.
func TestGenerateV1RefusesExistingData(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := GenerateV1(context.Background(), dir); err == nil {
		t.Fatal("GenerateV1 wrote into an existing data directory")
	}
}

type dbFacts struct {
	schema   []string
	versions []int64
	journal  string
	appID    int64
}

// readDB reads what TestGenerateV1 compares, from a copy so that the
// committed file is never opened for writing.
func readDB(t *testing.T, path string) dbFacts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", cp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var f dbFacts
	rows, err := db.Query(`SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		f.schema = append(f.schema, s)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err = db.Query(`SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		f.versions = append(f.versions, v)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&f.journal); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA application_id`).Scan(&f.appID); err != nil {
		t.Fatal(err)
	}
	return f
}
