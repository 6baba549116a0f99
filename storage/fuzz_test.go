package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modbot/bot/keys"
)

// verifyFixture is a small `bot backup` file and a plain copy of the same
// database, with 512-byte pages so that each fuzz iteration verifies a few
// dozen kilobytes.
type verifyFixture struct {
	backup, plain []byte
	content       string // dumpContent of the backup
}

var (
	verifyOnce sync.Once
	verifyFix  verifyFixture
	verifyErr  error
)

// loadVerifyFixture makes the fixture once per process (each fuzz worker
// is one). Its files differ from run to run only in the backup's checksum
// nonce, hash and creation time: a saved input means the same every run.
func loadVerifyFixture(t testing.TB) verifyFixture {
	t.Helper()
	verifyOnce.Do(func() { verifyFix, verifyErr = makeVerifyFixture() })
	if verifyErr != nil {
		t.Fatalf("fuzz fixture: %v", verifyErr)
	}
	return verifyFix
}

func makeVerifyFixture() (fx verifyFixture, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "storage-fuzz-")
	if err != nil {
		return fx, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bot.db")
	// The page size is fixed when the first table is written, before Open
	// turns on WAL.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return fx, err
	}
	_, err = raw.Exec(`PRAGMA page_size = 512; CREATE TABLE t (x); DROP TABLE t`)
	raw.Close()
	if err != nil {
		return fx, err
	}
	db, err := Open(ctx, path)
	if err != nil {
		return fx, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fx, err
	}
	k, err := keys.Create(keys.Options{Dir: filepath.Join(dir, "keys")})
	if err != nil {
		return fx, err
	}
	sentinel, err := k.NewSentinel()
	if err != nil {
		return fx, err
	}
	if err := NewMeta(db).SetSentinel(ctx, sentinel); err != nil {
		return fx, err
	}
	n := warning("333333333333333333", "spam in #general")
	if _, err := NewCases(db, k).Create(ctx, n); err != nil {
		return fx, err
	}
	dest := filepath.Join(dir, "backup.db")
	if _, err := db.BackupWithOptions(ctx, dest, BackupOptions{KeysBundle: []byte("keys bundle")}); err != nil {
		return fx, err
	}
	if fx.backup, err = os.ReadFile(dest); err != nil {
		return fx, err
	}
	if err := db.Close(); err != nil {
		return fx, err
	}
	if fx.plain, err = os.ReadFile(path); err != nil {
		return fx, err
	}
	if fx.content, err = dumpContent(ctx, dest); err != nil {
		return fx, err
	}
	return fx, nil
}

// dumpContent returns every row of every table of the file at path, and
// the schema, as text that two files share exactly when their content is
// the same.
func dumpContent(ctx context.Context, path string) (string, error) {
	db, err := openImmutable(path, "")
	if err != nil {
		return "", err
	}
	defer db.Close()
	tables, err := queryStrings(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return "", err
	}
	out, err := queryStrings(ctx, db, `SELECT type || ' ' || name || ' ' || ifnull(sql, '') FROM sqlite_schema ORDER BY name`)
	if err != nil {
		return "", err
	}
	for _, table := range tables {
		rows, err := queryRows(ctx, db, table)
		if err != nil {
			return "", err
		}
		slices.Sort(rows)
		out = append(out, "table "+table)
		out = append(out, rows...)
	}
	return strings.Join(out, "\n"), nil
}

// queryStrings returns the first column of every row of query.
func queryStrings(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// queryRows returns each row of table as the %q of its values.
func queryRows(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(table, `"`, `""`)+`"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%q", vals))
	}
	return out, rows.Err()
}

// FuzzVerify verifies mutated database files: a `bot backup` file, or a
// plain copy of the live database, with patch written over it at off
// (modulo its length, extending it if the patch runs past the end) and, if
// cut is not zero, cut down to cut bytes (modulo its length).
//
// A mutated backup must be refused with ErrNotDatabase, ErrCorrupt or
// ErrSchemaTooNew, or verify as the original: checksummed, with the same
// content. A plain copy carries no checksum, and integrity_check cannot see
// a changed byte in a value, so an accepted one is only checked to be a
// sound file of a known schema version.
func FuzzVerify(f *testing.F) {
	fx := loadVerifyFixture(f)
	f.Add(false, uint32(0), []byte(nil), uint32(0))
	f.Add(true, uint32(0), []byte(nil), uint32(0))
	f.Add(false, uint32(16), []byte{0x10, 0x00}, uint32(0)) // page size
	f.Add(false, uint32(28), []byte{0, 0, 0, 1}, uint32(0)) // page count
	f.Add(false, uint32(68), []byte{0, 0, 0, 0}, uint32(0)) // application ID
	f.Add(false, uint32(0), []byte(nil), uint32(len(fx.backup)-512))
	f.Add(true, uint32(0), []byte("SQLite format 2\x00"), uint32(0))
	f.Add(true, uint32(len(fx.plain)), make([]byte, 512), uint32(0))
	for _, off := range []int{1000, 3000, 7000, 12000} {
		f.Add(false, uint32(off), []byte{0xff}, uint32(0))
	}
	if i := strings.Index(string(fx.backup), "keys bundle"); i >= 0 {
		f.Add(false, uint32(i), []byte("KEYS"), uint32(0))
	}
	if i := strings.Index(string(fx.backup), "backup_checksum"); i >= 0 {
		f.Add(false, uint32(i), []byte("X"), uint32(0))
	}
	f.Fuzz(func(t *testing.T, plain bool, off uint32, patch []byte, cut uint32) {
		ctx := context.Background()
		data := fx.backup
		if plain {
			data = fx.plain
		}
		data = slices.Clone(data)
		if len(patch) > 0 {
			at := int(off % uint32(len(data)))
			if end := at + len(patch); end > len(data) {
				data = append(data, make([]byte, end-len(data))...)
			}
			copy(data[at:], patch)
		}
		if cut != 0 {
			data = data[:cut%uint32(len(data))]
		}
		path := filepath.Join(t.TempDir(), "fuzzed.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Verify(ctx, path)
		if err != nil {
			if !errors.Is(err, ErrNotDatabase) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchemaTooNew) && !errors.Is(err, ErrSchemaAltered) {
				t.Fatalf("Verify: %v, want ErrNotDatabase, ErrCorrupt or ErrSchemaTooNew", err)
			}
			return
		}
		if res.SchemaVersion < 1 || res.SchemaVersion > res.LatestVersion || res.Size != int64(len(data)) {
			t.Fatalf("Verify accepted a file with schema version %d (latest %d), size %d (file %d)",
				res.SchemaVersion, res.LatestVersion, res.Size, len(data))
		}
		if plain {
			return
		}
		content, err := dumpContent(ctx, path)
		if err != nil {
			t.Fatalf("Verify accepted a file whose content cannot be read: %v", err)
		}
		if !res.Checksummed || content != fx.content || string(res.KeysBundle) != "keys bundle" {
			t.Fatalf("Verify accepted a changed backup (checksummed %v):\n%s\nwant:\n%s", res.Checksummed, content, fx.content)
		}
	})
}
