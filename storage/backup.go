package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modbot/bot/internal/atomicfile"
)

// A backup is one SQLite file in rollback-journal mode, so that it is
// self-contained (no -wal beside it) and opens anywhere. Besides the data it
// holds meta rows that exist only in backups and that Restore removes:
const (
	// metaBackupChecksum is a random 32-byte nonce followed by the SHA-256
	// of the whole file, computed with the hash half zeroed. SQLite keeps no
	// page checksums, so without it a flipped byte in a reason or in free
	// space would pass integrity_check.
	metaBackupChecksum = "backup_checksum"
	// metaBackupKeys is the keys bundle (opaque here, sealed by the keys
	// package under a passphrase), when the backup was made with keys.
	metaBackupKeys = "backup_keys"
	// metaBackupCreatedAt is when the snapshot was taken, unix milliseconds.
	metaBackupCreatedAt = "backup_created_at"
	// metaBackupSeal says that the checksum's second half is not the plain
	// SHA-256 but a MAC of it under the installation's index keys
	// (sealVersion). Without it, anyone could recompute the checksum of an
	// edited file; with it, only someone holding the keys.
	metaBackupSeal = "backup_seal"
	// metaBackupErasures is the installation's erasure ledger (opaque
	// here, sealed by the data directory under the keys), carried by a
	// backup made with keys so that a fresh machine restored from it
	// knows which members were erased.
	metaBackupErasures = "backup_erasures"
)

// backupOnlyMeta lists the meta rows that exist only in backups: Verify
// reads them, and a restored copy loses them.
var backupOnlyMeta = []string{metaBackupChecksum, metaBackupKeys, metaBackupCreatedAt, metaBackupSeal, metaBackupErasures}

// sealVersion is metaBackupSeal's value: the MAC is the blind index, in
// domain sealDomain, of the checksum's nonce followed by the file's SHA-256.
const (
	sealVersion = "mac-v1"
	sealDomain  = "backup-seal"
)

// BackupKeys are the keys a backup is checked and sealed with. *keys.Keyring
// implements it.
type BackupKeys interface {
	SentinelChecker
	// BlindIndex is the MAC a new backup is sealed with (under the primary
	// index key); BlindIndexes those it may have been sealed with.
	BlindIndex(domain string, value []byte) []byte
	BlindIndexes(domain string, value []byte) [][]byte
}

// Temporary files are named with these prefixes and tempSuffix in the
// directory of their final name, so a rename publishes them atomically and
// an interrupted run's leftovers can be recognised and removed.
const (
	backupTempPrefix  = ".bot-backup-"
	restoreTempPrefix = ".bot-restore-"
	tempSuffix        = ".tmp"
)

// checksumSize is the length of the metaBackupChecksum value.
const checksumSize = 2 * sha256.Size

// BackupOptions adjusts DB.BackupWithOptions.
type BackupOptions struct {
	// Progress, if set, is called as the copy advances with the bytes
	// copied so far and the size of the database.
	Progress func(done, total int64)
	// KeysBundle, if set, is stored inside the backup: the keysets sealed
	// under a passphrase (keys.ExportBundle). Storage does not look inside.
	KeysBundle []byte
	// Erasures, if set, is stored inside the backup: the erasure ledger,
	// sealed by the caller. Storage does not look inside.
	Erasures []byte
	// Keys, if set, seal the backup (a MAC over the whole file) and must
	// open its key sentinel before it is kept: proof that the keys the
	// owner holds can read it. Without them the file carries only a plain
	// checksum.
	Keys BackupKeys
	// Verify is how thoroughly the new file is checked before it is kept;
	// the zero value is VerifyQuick.
	Verify VerifyLevel
}

// Backup writes a consistent snapshot of the database to destPath while
// other connections, in this process or another (a running bot), keep
// reading and writing. See BackupWithOptions.
func (db *DB) Backup(ctx context.Context, destPath string, progress func(done, total int64)) error {
	_, err := db.BackupWithOptions(ctx, destPath, BackupOptions{Progress: progress})
	return err
}

// BackupWithOptions writes a consistent snapshot of the database to
// destPath and returns what Verify found in it. It never overwrites a file:
// if destPath exists it returns an error wrapping fs.ErrExist.
//
// The snapshot is one committed state, taken inside one read transaction,
// so writers are never blocked (see snapshot). It goes to a temporary file beside destPath, which is
// finalized (rollback journal, checksum), synced, verified and only then
// linked into place; the directory is synced after. A crash at any point
// leaves either no file at destPath or a complete, verified one; leftovers
// of interrupted runs are removed by the next backup.
func (db *DB) BackupWithOptions(ctx context.Context, destPath string, opts BackupOptions) (_ *VerifyResult, err error) {
	defer wrap(&err, "back up to "+destPath)
	if destPath == "" || strings.ContainsAny(destPath, "?#") {
		return nil, fmt.Errorf("%w: backup file name %q is empty or contains '?' or '#'; choose another", ErrInvalid, destPath)
	}
	if _, err := os.Lstat(destPath); err == nil {
		return nil, fmt.Errorf("%w: the file already exists; choose another name (a backup never overwrites a file)", fs.ErrExist)
	}
	dir := filepath.Dir(destPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the backup directory: %w; make it writable by the user that runs bot, or set backup.dir", err)
	}
	cleanTemps(dir, backupTempPrefix)
	tmp, err := createTemp(dir, backupTempPrefix)
	if err != nil {
		return nil, err
	}
	defer tmp.discard()

	if err := snapshot(ctx, db.path, db.file, tmp.f, db.backupChunk, opts.Progress); err != nil {
		return nil, err
	}
	if err := finalizeBackup(ctx, tmp.path, opts.KeysBundle, opts.Erasures, opts.Keys != nil); err != nil {
		return nil, err
	}
	var mac func([]byte) []byte
	if opts.Keys != nil {
		mac = func(v []byte) []byte { return opts.Keys.BlindIndex(sealDomain, v) }
	}
	res, err := sealAndVerify(ctx, tmp.path, opts.Verify, mac)
	if err != nil {
		return nil, fmt.Errorf("the new backup failed verification, so it was not kept: %w", err)
	}
	if opts.Keys != nil {
		if err := res.CheckKeys(opts.Keys); err != nil {
			return nil, fmt.Errorf("the keys do not open the new backup, so it was not kept: %w", err)
		}
	}
	// A backup of records edited outside the bot is not kept: retention
	// would otherwise let it push out the older backups that predate the
	// edit.
	if c, ok := opts.Keys.(Cipher); ok && opts.Verify == VerifyFull {
		if _, err := res.CheckRecords(ctx, c); err != nil {
			return nil, fmt.Errorf("%w: %w; the new backup was not kept (older backups are untouched): "+
				"run 'bot audit verify', and restore a backup from before the change", ErrRecordAltered, err)
		}
	}
	if err := tmp.publish(destPath); err != nil {
		return nil, err
	}
	res.Path = destPath
	return res, nil
}

// finalizeBackup turns the fresh copy into a self-contained file and adds
// the backup's own meta rows, with a placeholder for the checksum.
func finalizeBackup(ctx context.Context, path string, bundle, erasures []byte, sealed bool) (err error) {
	// The copy carries the live database's WAL flag in its header; rollback
	// mode makes it one file that opens without creating a -wal.
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(DELETE)&_pragma=synchronous(FULL)")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "delete" {
		return fmt.Errorf("could not take the backup out of WAL mode (journal_mode is %q)", mode)
	}
	placeholder := make([]byte, checksumSize)
	if _, err := rand.Read(placeholder[:sha256.Size]); err != nil {
		return err
	}
	copy(placeholder[sha256.Size:], placeholder[:sha256.Size])
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows := map[string][]byte{
		metaBackupCreatedAt: []byte(strconv.FormatInt(time.Now().UnixMilli(), 10)),
		metaBackupChecksum:  placeholder,
	}
	if bundle != nil {
		rows[metaBackupKeys] = bundle
	}
	if erasures != nil {
		rows[metaBackupErasures] = erasures
	}
	if sealed {
		rows[metaBackupSeal] = []byte(sealVersion)
	}
	for k, v := range rows {
		if err := putMeta(ctx, tx, k, v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// sealAndVerify checks the finished copy at level and seals its checksum:
// the SHA-256 of the file, or with mac (the keys' MAC) the MAC of the nonce
// and that SHA-256.
// The two read the same bytes at once, on two cores: SQLite's check and the
// schema comparison on one, the hash on the other. The checksum's
// placeholder (a nonce written twice) is the only thing that changes after
// both have read it: it becomes the nonce and the hash, computed with the
// slot holding the nonce and zeros, which Verify can recreate. The slot is
// read back after the file is synced.
func sealAndVerify(ctx context.Context, path string, level VerifyLevel, mac func([]byte) []byte) (*VerifyResult, error) {
	h, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	placeholder, err := readChecksumSlot(ctx, path)
	if err != nil {
		return nil, err
	}
	var (
		wg      sync.WaitGroup
		sum     []byte
		off     int64
		hashErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sum, off, hashErr = fileChecksum(path, h.pageSize, placeholder)
	}()
	res, slot, err := verifyContents(ctx, path, h, true, level)
	wg.Wait()
	switch {
	case err != nil:
		return nil, err
	case hashErr != nil:
		return nil, hashErr
	case !bytes.Equal(slot, placeholder):
		return nil, fmt.Errorf("%w: the checksum placeholder changed while the backup was checked", ErrCorrupt)
	}
	if res.sealed != (mac != nil) {
		return nil, fmt.Errorf("%w: the backup's seal marker is not the one written", ErrCorrupt)
	}
	if mac != nil {
		res.digest = sum
		sum = mac(sealInput(placeholder, sum))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteAt(sum, off+sha256.Size); err != nil {
		return nil, fmt.Errorf("write the checksum into %s: %w; check free disk space", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync %s: %w; check free disk space", path, err)
	}
	back := make([]byte, checksumSize)
	if _, err := f.ReadAt(back, off); err != nil {
		return nil, err
	}
	if !bytes.Equal(back[:sha256.Size], placeholder[:sha256.Size]) || !bytes.Equal(back[sha256.Size:], sum) {
		return nil, fmt.Errorf("%w: the checksum read back from %s is not the one written; check the disk", ErrCorrupt, path)
	}
	res.slot = back
	res.Checksummed = mac == nil
	return res, f.Close()
}

// sealInput is what a backup's MAC is computed over: the checksum's nonce
// and the file's SHA-256.
func sealInput(slot, digest []byte) []byte {
	return append(append([]byte(nil), slot[:sha256.Size]...), digest...)
}

// readChecksumSlot reads the checksum placeholder of a backup being made.
func readChecksumSlot(ctx context.Context, path string) ([]byte, error) {
	db, err := openImmutable(path, "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var slot []byte
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaBackupChecksum).Scan(&slot); err != nil {
		return nil, fmt.Errorf("read the checksum placeholder: %w", err)
	}
	return slot, nil
}

// fileChecksum hashes the file page by page with the checksum slot (found
// by its current content, which must occur exactly once) replaced by its
// nonce and zeros. It returns the hash and the slot's offset. The slot is a
// small value stored in a table leaf cell, so it never straddles two pages.
func fileChecksum(path string, pageSize int, slot []byte) (sum []byte, offset int64, err error) {
	if len(slot) != checksumSize {
		return nil, 0, fmt.Errorf("%w: the backup checksum has %d bytes, want %d", ErrCorrupt, len(slot), checksumSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	hash := sha256.New()
	page := make([]byte, pageSize)
	canonical := append(append([]byte(nil), slot[:sha256.Size]...), make([]byte, sha256.Size)...)
	offset, found := int64(-1), 0
	for pos := int64(0); ; pos += int64(pageSize) {
		n, err := io.ReadFull(f, page)
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, err
		}
		buf := page[:n]
		for from := 0; ; {
			i := bytes.Index(buf[from:], slot)
			if i < 0 {
				break
			}
			found++
			offset = pos + int64(from+i)
			copy(buf[from+i:], canonical)
			from += i + len(slot)
		}
		hash.Write(buf)
	}
	if found != 1 {
		return nil, 0, fmt.Errorf("%w: the stored checksum was found %d times in the file, want once: a byte changed since bot backup wrote it; use another backup",
			ErrCorrupt, found)
	}
	return hash.Sum(nil), offset, nil
}

// tempFile is a temporary file this process is filling. It stays open and
// locked until it is published or discarded, so that cleanTemps in another
// process never removes it from under a backup in progress. Closing it only
// after SQLite is done with the file matters: closing any descriptor of a
// file drops the process's POSIX locks on it, which SQLite relies on.
type tempFile struct {
	path string
	f    *os.File
}

func createTemp(dir, prefix string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, prefix+"*"+tempSuffix)
	if err != nil {
		return nil, fmt.Errorf("create a temporary file in %s: %w; make it writable by the user that runs bot", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return &tempFile{path: f.Name(), f: f}, nil
}

// publish links the finished file to dest, refusing to replace a file
// there, and syncs the directory so the new name survives a power cut.
func (t *tempFile) publish(dest string) error {
	if err := os.Link(t.path, dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s appeared while the backup was written; choose another name", fs.ErrExist, dest)
		}
		// No hard links here (some network or FAT file systems): rename,
		// after checking again that nothing took the name.
		if _, serr := os.Lstat(dest); serr == nil {
			return fmt.Errorf("%w: %s appeared while the backup was written; choose another name", fs.ErrExist, dest)
		}
		if err := os.Rename(t.path, dest); err != nil {
			return fmt.Errorf("move the backup into place: %w", err)
		}
	}
	t.discard()
	return atomicfile.SyncDir(filepath.Dir(dest))
}

// discard removes the temporary file and SQLite's files beside it. It is
// safe to call twice.
func (t *tempFile) discard() {
	if t.f == nil {
		return
	}
	if runtime.GOOS == "windows" {
		t.f.Close() // Windows cannot remove an open file
	}
	removeWithSiblings(t.path)
	t.f.Close()
	t.f = nil
}

// removeWithSiblings removes a database file and its journal, WAL and
// shared-memory files, which SQLite names after it.
func removeWithSiblings(path string) {
	for _, suffix := range []string{"-journal", "-wal", "-shm", ""} {
		os.Remove(path + suffix)
	}
}

// cleanTemps removes the temporary files with prefix in dir that no live
// process holds: what a crash or kill -9 left behind. Only names this
// package generates are touched. Errors are ignored: a leftover costs disk
// space, not correctness, and the next run tries again.
func cleanTemps(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, tempSuffix) {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if lockFile(f) != nil {
			f.Close() // in use by a backup in another process
			continue
		}
		(&tempFile{path: path, f: f}).discard()
	}
}
