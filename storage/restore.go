package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modbot/bot/internal/atomicfile"
)

// VerifyLevel says how thoroughly a database file is checked.
type VerifyLevel int

const (
	// VerifyQuick checks everything but the consistency of each index with
	// its table: SQLite's quick_check (every page and record well formed),
	// the header, the bot's marker, the schema version, the whole schema
	// against the migrations, the checksum of a `bot backup` file, and (by
	// the caller) the keys. It reads the file once.
	VerifyQuick VerifyLevel = iota
	// VerifyFull adds SQLite's integrity_check, which also looks up every
	// row in each of its table's indexes: several times the cost of the
	// quick level on a large database.
	VerifyFull
)

// String names the level as the command line does.
func (l VerifyLevel) String() string {
	if l == VerifyFull {
		return "full"
	}
	return "quick"
}

// ParseVerifyLevel reads "quick" or "full".
func ParseVerifyLevel(s string) (VerifyLevel, error) {
	switch s {
	case "quick":
		return VerifyQuick, nil
	case "full":
		return VerifyFull, nil
	}
	return 0, fmt.Errorf("%w: verification level %q: use quick or full", ErrInvalid, s)
}

// VerifyResult describes a database file that Verify accepted.
type VerifyResult struct {
	// Path is the file that was verified.
	Path string
	// Size is its length in bytes.
	Size int64
	// SchemaVersion is its schema version; LatestVersion is the newest this
	// binary knows (SchemaVersion is never above it).
	SchemaVersion, LatestVersion int64
	// Checksummed is true when the file carries the plain checksum `bot
	// backup` writes without keys, and it matched. A plain copy of a
	// database has none and is vouched for by the other checks alone.
	Checksummed bool
	// Sealed is true when the file carries a seal, a MAC under the
	// installation's index keys over the whole file, and CheckKeys found it
	// intact.
	Sealed bool
	// CreatedAt is when `bot backup` took the snapshot; zero for a plain copy.
	CreatedAt time.Time
	// KeysBundle is the passphrase-sealed keysets stored in the backup, or
	// nil when the keys were kept separately.
	KeysBundle []byte
	// Erasures is the sealed erasure ledger stored in the backup, or nil
	// when it carries none.
	Erasures []byte
	// Level is how thoroughly the file was checked.
	Level VerifyLevel
	// StaleIndexes lists what the check found out of step between a table
	// and its indexes, the tables themselves intact: Restore rebuilds the
	// indexes of its copy. Empty for a sound file.
	StaleIndexes []string
	// Records is what CheckRecords found: the audit chain and every record
	// checked against it. Nil until it ran.
	Records *FullReport

	sentinel []byte
	// sealed says the file carries a seal; digest is its SHA-256 and slot
	// the checksum slot, which CheckKeys compares with the keys' MAC.
	sealed       bool
	digest, slot []byte
}

// CheckKeys proves that k opens the file's key sentinel and, for a sealed
// backup, that the seal is intact under k's index keys. It returns
// ErrNoSentinel if the file has none, the checker's error (wrapping
// keys.ErrWrongKeys when these are other keys), or an error wrapping
// ErrSealBroken when the file was changed after it was sealed.
func (r *VerifyResult) CheckKeys(k SentinelChecker) error {
	if len(r.sentinel) == 0 {
		return fmt.Errorf("%s: %w, so no keys can be shown to belong to it; back up an installation made by 'bot init'", r.Path, ErrNoSentinel)
	}
	if err := k.CheckSentinel(r.sentinel); err != nil {
		return err
	}
	if !r.sealed {
		return nil
	}
	bk, ok := k.(BackupKeys)
	if !ok {
		return fmt.Errorf("%w: these keys cannot check the backup's seal", ErrInvalid)
	}
	for _, want := range bk.BlindIndexes(sealDomain, sealInput(r.slot, r.digest)) {
		if bytes.Equal(want, r.slot[sha256.Size:]) {
			r.Sealed = true
			return nil
		}
	}
	return fmt.Errorf("%s: %w: the file was changed after bot backup made it (an edit, or damage the other checks missed); use another backup", r.Path, ErrSealBroken)
}

// Verify checks, without writing to it or beside it, that the file at path
// is a complete database of this program that this binary can use, at
// VerifyFull: the SQLite header and size agree, integrity_check passes, it carries the
// bot's application ID, its schema version is known, its schema is exactly
// what this binary's migrations create at that version (ErrSchemaAltered),
// and the checksum of a `bot backup` file matches. Errors wrap ErrNotDatabase (empty, not SQLite,
// another program's), ErrCorrupt (truncated, damaged, altered) or
// ErrSchemaTooNew (a *SchemaTooNewError), each saying what to do.
//
// The file is opened with SQLite's immutable flag: no locks, no -wal or
// -shm, so a backup in a read-only place or on a share stays untouched.
// Verify must therefore not be used on the live database of a running bot.
func Verify(ctx context.Context, path string) (_ *VerifyResult, err error) {
	defer wrap(&err, "verify "+path)
	return verify(ctx, path, false, VerifyFull)
}

// verify is Verify. private says that the file is this process's own
// temporary file, which nobody else can change or truncate: SQLite may then
// map it into memory, which makes integrity_check several times as fast
// (BENCHMARKS.md, Backup). A mapped file that shrinks under the process
// kills it with SIGBUS, so a file the owner named is read instead.
func verify(ctx context.Context, path string, private bool, level VerifyLevel) (*VerifyResult, error) {
	h, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	res, slot, err := verifyContents(ctx, path, h, private, level)
	if err != nil {
		return nil, err
	}
	if slot != nil {
		sum, _, err := fileChecksum(path, h.pageSize, slot)
		if err != nil {
			return nil, err
		}
		if res.sealed {
			// Only the keys can tell whether it matches: CheckKeys.
			res.digest, res.slot = sum, slot
			return res, nil
		}
		if !bytes.Equal(sum, slot[len(slot)-len(sum):]) {
			return nil, fmt.Errorf("%w: its checksum does not match: bytes changed since bot backup wrote it (disk or copy error, or an edit); use another backup", ErrCorrupt)
		}
		res.Checksummed = true
	}
	return res, nil
}

// verifyContents is verify without the checksum: everything SQLite and the
// schema can tell. It returns the checksum slot of a `bot backup` file (nil
// for a plain copy) for the caller to check or to seal.
func verifyContents(ctx context.Context, path string, h fileHeader, private bool, level VerifyLevel) (_ *VerifyResult, _ []byte, err error) {
	defer func() { err = unreadable(ctx, err) }()
	tuning := verifyCache
	if private {
		tuning = verifyMmap
	}
	db, err := openImmutable(path, tuning)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	// Identity, version and schema first: they read only sqlite_schema and
	// goose's table, once its definition is known to be goose's. SQLite's
	// check comes after, since it evaluates what the schema defines (every
	// expression index, for one).
	if err := checkIdentity(ctx, db); err != nil {
		return nil, nil, err
	}
	res := &VerifyResult{Path: path, Size: h.size, LatestVersion: LatestVersion(), Level: level}
	if res.SchemaVersion, err = schemaVersion(ctx, db); err != nil {
		if errors.Is(err, ErrSchemaAltered) {
			err = fmt.Errorf("%w; use another backup", err)
		}
		return nil, nil, err
	}
	if res.SchemaVersion > res.LatestVersion {
		return nil, nil, &SchemaTooNewError{Database: res.SchemaVersion, Known: res.LatestVersion}
	}
	if res.SchemaVersion == 0 {
		return nil, nil, fmt.Errorf("%w: it holds no bot data (schema version 0); check the path", ErrNotDatabase)
	}
	if err := checkSchema(ctx, db, res.SchemaVersion); err != nil {
		return nil, nil, fmt.Errorf("%w; use another backup", err)
	}
	check := "integrity_check"
	if level == VerifyQuick {
		check = "quick_check"
	}
	if res.StaleIndexes, err = integrityCheck(ctx, db, check); err != nil {
		return nil, nil, err
	}
	meta := map[string][]byte{}
	wanted := append([]string{metaSentinel}, backupOnlyMeta...)
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM meta WHERE key IN (`+placeholders(len(wanted))+`)`,
		anys(wanted)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, nil, err
		}
		meta[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	res.sentinel, res.KeysBundle, res.Erasures = meta[metaSentinel], meta[metaBackupKeys], meta[metaBackupErasures]
	if ms, err := strconv.ParseInt(string(meta[metaBackupCreatedAt]), 10, 64); err == nil {
		res.CreatedAt = time.UnixMilli(ms).UTC()
	}
	switch seal, ok := meta[metaBackupSeal]; {
	case ok && string(seal) == sealVersion:
		res.sealed = true
	case ok:
		return nil, nil, fmt.Errorf("%w: its seal is of a kind this bot does not know (%q); upgrade bot, or use another backup", ErrCorrupt, seal)
	}
	slot, ok := meta[metaBackupChecksum]
	if !ok && (res.KeysBundle != nil || res.Erasures != nil || meta[metaBackupCreatedAt] != nil || res.sealed) {
		// Written by bot backup, yet its checksum is gone: altered.
		return nil, nil, fmt.Errorf("%w: its checksum is missing: the file was changed since bot backup wrote it; use another backup", ErrCorrupt)
	}
	if ok && slot == nil {
		slot = []byte{} // present but empty: fileChecksum refuses it
	}
	return res, slot, nil
}

// fileHeader is what Verify needs from the 100-byte SQLite header.
type fileHeader struct {
	pageSize int
	size     int64
}

// readHeader refuses files that are not SQLite, or whose size disagrees with
// their header (a truncated copy), before SQLite opens them.
func readHeader(path string) (fileHeader, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileHeader{}, fmt.Errorf("%w; check the path", err)
	}
	if err != nil {
		return fileHeader{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fileHeader{}, err
	}
	useAnother := "use another backup"
	switch {
	case !st.Mode().IsRegular():
		return fileHeader{}, fmt.Errorf("%w: it is not a regular file; check the path", ErrNotDatabase)
	case st.Size() == 0:
		return fileHeader{}, fmt.Errorf("%w: the file is empty (0 bytes); check the path, or %s", ErrNotDatabase, useAnother)
	}
	head := make([]byte, 100)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fileHeader{}, err
	}
	if n < len(sqliteHeader) || !bytes.Equal(head[:len(sqliteHeader)], sqliteHeader) {
		return fileHeader{}, fmt.Errorf("%w: it is not an SQLite database file; check the path", ErrNotDatabase)
	}
	if n < len(head) {
		return fileHeader{}, fmt.Errorf("%w: only %d bytes, the file was cut short; %s", ErrCorrupt, n, useAnother)
	}
	h := fileHeader{pageSize: int(binary.BigEndian.Uint16(head[16:18])), size: st.Size()}
	if h.pageSize == 1 {
		h.pageSize = 65536
	}
	if h.pageSize < 512 || h.pageSize > 65536 || h.pageSize&(h.pageSize-1) != 0 {
		return fileHeader{}, fmt.Errorf("%w: its header is damaged (page size %d); %s", ErrCorrupt, h.pageSize, useAnother)
	}
	if h.size%int64(h.pageSize) != 0 {
		return fileHeader{}, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte pages: the file was cut short or damaged (an interrupted copy?); %s",
			ErrCorrupt, h.size, h.pageSize, useAnother)
	}
	// The page count in the header is trustworthy only when written by the
	// same transaction as the change counter (SQLite's own rule).
	changes, pages, validFor := binary.BigEndian.Uint32(head[24:28]), binary.BigEndian.Uint32(head[28:32]), binary.BigEndian.Uint32(head[92:96])
	if pages != 0 && changes == validFor && int64(pages)*int64(h.pageSize) != h.size {
		return fileHeader{}, fmt.Errorf("%w: the file has %d bytes but its header says %d: it was cut short or damaged (an interrupted copy?); %s",
			ErrCorrupt, h.size, int64(pages)*int64(h.pageSize), useAnother)
	}
	return h, nil
}

// Connection settings for a full check of a file (see verify). The cache is
// freed when the check's connection closes, and a larger one than SQLite's
// default speeds up integrity_check, which looks up every row in each of
// its table's indexes. SQLite maps at most 2 GB (its compile-time limit).
const (
	verifyCache = "_pragma=cache_size(-65536)"
	verifyMmap  = "_pragma=mmap_size(2147418112)"
)

// openImmutable opens path read-only as a file nothing else changes: SQLite
// takes no locks and never creates a journal, -wal or -shm beside it.
//
// tuning is added to the URI's query: verifyCache or verifyMmap for a
// check that reads the whole file, or "".
func openImmutable(path, tuning string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:///C:/...
	}
	// trusted_schema off: nothing the file's schema defines (a view, a
	// trigger, a default) may call a function with side effects, even
	// before checkSchema has looked at it.
	q := "mode=ro&immutable=1&_pragma=trusted_schema(0)"
	if tuning != "" {
		q += "&" + tuning
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// integrityCheck runs PRAGMA integrity_check or quick_check (pragma) on a
// backup being verified; its error tells the owner to pick another backup.
// Problems that lie only in indexes (an entry missing from an index, or
// one too many), with the tables intact, are not an error: an index is
// derived from its table, and Restore rebuilds them. They are returned.
func integrityCheck(ctx context.Context, db *sql.DB, pragma string) (staleIndexes []string, err error) {
	problems, err := checkProblems(ctx, db, pragma)
	if err != nil || problems == nil {
		return nil, err
	}
	if len(problems) > 0 && !slices.ContainsFunc(problems, func(p string) bool { return !staleIndexProblem.MatchString(p) }) {
		return problems, nil
	}
	return nil, fmt.Errorf("%w: SQLite's integrity check failed (%s); use another backup", ErrCorrupt, strings.Join(problems, "; "))
}

// staleIndexProblem matches what integrity_check reports of an index out of
// step with its table. A duplicate in a unique index is not among them:
// rebuilding it would fail, since the table's rows themselves conflict.
var staleIndexProblem = regexp.MustCompile(`^(row \d+ missing from index \S+|wrong # of entries in index \S+)$`)

// rebuildIndexes runs REINDEX on the file at path, Restore's own copy,
// whose schema was compared with the migrations' and whose checksum and
// keys were checked before. The backup's own rows go first (Restore
// removes them in any case): the rebuilt file no longer has the bytes its
// checksum covered.
func rebuildIndexes(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=trusted_schema(0)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{`DELETE FROM meta WHERE key IN (` + placeholders(len(backupOnlyMeta)) + `)`, "REINDEX"} {
		var args []any
		if q != "REINDEX" {
			args = anys(backupOnlyMeta)
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("rebuild the backup's indexes: %w; use another backup", err)
		}
	}
	return db.Close()
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	// Previous is where the replaced database was kept, or "" if there was
	// none.
	Previous string
	// MovedAside lists the old database's WAL and shared-memory files, moved
	// beside Previous because the old database could not be checkpointed.
	MovedAside []string
	// FromVersion is the backup's schema version, ToVersion the restored
	// database's after migration.
	FromVersion, ToVersion int64
	// RebuiltIndexes lists the index problems the backup had, which the
	// restore repaired by rebuilding its indexes; empty for a sound backup.
	RebuiltIndexes []string
	// Records is what the full record verification of the backup found;
	// nil when Restore had no keys to run it with. Records.Unsealed: the
	// backup's records predate sealing, and were sealed as they stood.
	Records *FullReport
}

// Restore replaces the database at dest with the verified backup at src.
// The caller holds the data directory's lock (Lock) and has checked src with
// Verify and the keys with CheckKeys; keys, when not nil, are those keys,
// and the copy is checked with them again. Nothing is deleted; in order:
//
//  1. Copy src to a temporary file beside dest, sync it, and verify the copy
//     fully, with keys its sentinel and seal too (src may have changed
//     since it was checked: a file swapped in meanwhile is refused).
//  2. Open the copy, migrate it up if it is older than this binary, remove
//     the backup-only rows (checksum, keys bundle), checkpoint and close
//     it: it is now a complete database, still under a temporary name.
//  3. Checkpoint the old database if it opens, so that nothing of it lives
//     only in its WAL.
//  4. Keep the old database as dest.before-restore-<now>, by hard link (or
//     copy), so that dest always exists; move any WAL and shared-memory
//     files it still has beside that copy, where they stay a pair. A WAL
//     left beside dest would be replayed into the restored database.
//  5. Rename the copy over dest and sync the directory.
//
// A failure in steps 1-4 leaves dest as it was. A crash in step 4, when
// the old database could not be checkpointed, leaves dest without its WAL;
// the kept copy and its WAL still hold everything.
func Restore(ctx context.Context, src, dest string, now time.Time, keys SentinelChecker) (_ *RestoreResult, err error) {
	defer wrap(&err, "restore "+src)
	if SameFile(src, dest) {
		return nil, fmt.Errorf("%w: %s is the live database itself; give a backup file", ErrInvalid, src)
	}
	dir := filepath.Dir(dest)
	cleanTemps(dir, restoreTempPrefix)
	tmp, err := createTemp(dir, restoreTempPrefix)
	if err != nil {
		return nil, err
	}
	defer tmp.discard()
	if err := copyFile(tmp.f, src); err != nil {
		return nil, err
	}
	copied, err := verify(ctx, tmp.path, true, VerifyFull)
	if err != nil {
		return nil, fmt.Errorf("the copy in %s failed verification (was the backup changed meanwhile?): %w", dir, err)
	}
	c, _ := keys.(Cipher)
	if keys != nil {
		if err := copied.CheckKeys(keys); err != nil {
			return nil, fmt.Errorf("the copy in %s does not pass the key check the backup passed (was the backup changed meanwhile?): %w", dir, err)
		}
		if c != nil {
			if _, err := copied.CheckRecords(ctx, c); err != nil {
				return nil, fmt.Errorf("%w: %w; use another backup", ErrRecordAltered, err)
			}
		}
	}
	res := &RestoreResult{Records: copied.Records}
	if len(copied.StaleIndexes) > 0 {
		if err := rebuildIndexes(ctx, tmp.path); err != nil {
			return nil, err
		}
		if again, err := verify(ctx, tmp.path, true, VerifyFull); err != nil || len(again.StaleIndexes) > 0 {
			return nil, fmt.Errorf("%w: the backup's indexes are still out of step after rebuilding them (%v); use another backup", ErrCorrupt, err)
		}
		res.RebuiltIndexes = copied.StaleIndexes
	}
	if res.FromVersion, res.ToVersion, err = prepareRestored(ctx, tmp.path, c); err != nil {
		return nil, err
	}

	prev := freeName(dest + ".before-restore-" + now.UTC().Format("20060102T150405Z"))
	if _, err := os.Lstat(dest); err == nil {
		checkpointOld(ctx, dest)
		if err := keepPrevious(dest, prev); err != nil {
			return nil, fmt.Errorf("keep the current database as %s: %w; nothing was changed, check free disk space", prev, err)
		}
		res.Previous = prev
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(dest + suffix); err != nil {
			continue
		}
		if err := os.Rename(dest+suffix, prev+suffix); err != nil {
			return nil, fmt.Errorf("move %s aside: %w; the current database is unchanged", dest+suffix, err)
		}
		res.MovedAside = append(res.MovedAside, prev+suffix)
	}
	if runtime.GOOS == "windows" {
		tmp.f.Close() // Windows cannot rename an open file
	}
	if err := os.Rename(tmp.path, dest); err != nil {
		// The old database is still in place: give it back its WAL.
		for _, m := range res.MovedAside {
			os.Rename(m, dest+strings.TrimPrefix(m, prev))
		}
		return nil, fmt.Errorf("move the restored database into place: %w", err)
	}
	return res, atomicfile.SyncDir(dir)
}

// prepareRestored makes the copy at path a live database: migrated, without
// the backup's own rows, its records sealed when c is set, checkpointed
// into one file.
func prepareRestored(ctx context.Context, path string, c Cipher) (from, to int64, err error) {
	db, err := Open(ctx, path)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
		// A clean close deletes these; a checkpointed WAL holds nothing.
		if err == nil {
			os.Remove(path + "-wal")
			os.Remove(path + "-shm")
		}
	}()
	if from, err = db.SchemaVersion(ctx); err != nil {
		return 0, 0, err
	}
	if err := db.Migrate(ctx); err != nil {
		return 0, 0, err
	}
	if to, err = db.SchemaVersion(ctx); err != nil {
		return 0, 0, err
	}
	// secure_delete is on: the keys bundle is zeroed, not left in a free page.
	if _, err := db.write.ExecContext(ctx, `DELETE FROM meta WHERE key IN (`+placeholders(len(backupOnlyMeta))+`)`,
		anys(backupOnlyMeta)...); err != nil {
		return 0, 0, err
	}
	if c != nil {
		if _, err := SealRecords(ctx, db, c, "restore"); err != nil {
			return 0, 0, err
		}
	}
	return from, to, db.Checkpoint(ctx)
}

// checkpointOld folds the old database's WAL into its file, if it opens.
// When it does not (damaged, from a newer bot), its WAL is moved aside with
// it instead.
func checkpointOld(ctx context.Context, path string) {
	db, err := Open(ctx, path)
	if err != nil {
		return
	}
	db.Checkpoint(ctx)
	db.Close()
}

// keepPrevious makes prev a second name (or a copy) of the file at path.
func keepPrevious(path, prev string) error {
	if err := os.Link(path, prev); err == nil {
		return nil
	}
	f, err := os.OpenFile(prev, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := copyFile(f, path); err != nil {
		f.Close()
		os.Remove(prev)
		return err
	}
	return f.Close()
}

// copyFile copies the file at src into dst from its start, and syncs dst.
func copyFile(dst *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(dst, in); err != nil {
		return fmt.Errorf("copy %s: %w; check free disk space", src, err)
	}
	return dst.Sync()
}

// freeName returns name, or name with a -2, -3... suffix if it is taken.
func freeName(name string) string {
	for i, try := 2, name; ; i++ {
		if _, err := os.Lstat(try); errors.Is(err, fs.ErrNotExist) {
			return try
		}
		try = name + "-" + strconv.Itoa(i)
	}
}

// SameFile reports whether a and b name the same existing file, so that a
// command can refuse to restore the live database onto itself before it
// verifies it (Verify must not read a file that is being written).
func SameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// unreadable gives an error met while SQLite reads a file being verified
// the sentinel Verify promises: unless the caller gave up, a query that
// fails on a file SQLite opened (a table renamed in an edited schema, a
// page integrity_check cannot get past) means the file was damaged or
// altered.
func unreadable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrNotDatabase) || errors.Is(err, ErrCorrupt) ||
		errors.Is(err, ErrSchemaTooNew) || errors.Is(err, ErrSchemaAltered) {
		return err
	}
	return fmt.Errorf("%w: SQLite cannot read it (%v); use another backup", ErrCorrupt, err)
}

// placeholders returns n comma-separated SQL parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// anys converts keys to query arguments.
func anys(keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}
