package storage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
)

// defaultBackupChunk is how much of the database file the snapshot copies
// between two progress reports, cancellation checks and syncs. The sync
// bounds the unwritten data the copy leaves to the kernel: without it up to
// the whole database could wait in dirty pages, and on a journaling file
// system the bot's next commit may wait in fsync for what the journal must
// flush first.
const defaultBackupChunk int64 = 16 << 20

// snapshot copies the database at srcPath, as one committed state, into
// dest, an empty file opened for writing.
//
// It copies the database file with the kernel (copy_file_range on Linux)
// instead of page by page through SQLite, which is several times slower
// (BENCHMARKS.md, Backup), and then rewrites from SQLite every page the
// write-ahead log holds a version of. That is exact because a read
// transaction is open throughout and because of how WAL mode works
// (https://sqlite.org/wal.html and the file format's section on the WAL):
//
//   - The transaction sees the database file overlaid with the log's frames
//     up to its end mark. A page it sees in the file, with no frame in the
//     log, is what the copy reads, since a checkpoint writes a page into the
//     file only from a frame of the log.
//   - While the transaction is open, a checkpoint copies only frames up to
//     its end mark, and the log is neither restarted nor truncated under a
//     reader that uses it. So every page whose bytes in the file change
//     during the copy, or whose version in the snapshot is in the log, has
//     a frame in the log file when the copy ends.
//   - Those pages are read through the transaction from sqlite_dbpage,
//     which gives each page as the transaction sees it, and written over
//     the copy. Every frame header in the log counts, committed or not, so
//     the set can only be too large, which costs time and not correctness.
//
// Writers go on committing meanwhile; their changes are not in the copy.
// Verify's integrity_check is the second line of defence.
func snapshot(ctx context.Context, srcPath string, file *dbFile, dest *os.File, chunk int64, progress func(done, total int64)) error {
	if chunk <= 0 {
		chunk = defaultBackupChunk
	}
	// A connection of its own, so a long backup takes none of the bot's.
	src, err := sql.Open("sqlite", dsn(srcPath, true))
	if err != nil {
		return err
	}
	defer src.Close()
	conn, err := src.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	// BEGIN alone starts no read transaction: it starts at the first read
	// of a table, and the snapshot is the state at that moment.
	var pageSize, pageCount int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(new(int64)); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pageCount); err != nil {
		return err
	}
	total := pageSize * pageCount

	// The database file is read through the one descriptor DB keeps open
	// for the purpose (see DB.file): opening and closing another would
	// drop SQLite's locks on the file in this process.
	file.mu.Lock()
	defer file.mu.Unlock()
	if file.f == nil {
		return errors.New("the database was closed during the backup")
	}
	// SQLite never uses the page holding the byte at 1 GiB: on Windows its
	// lock bytes are there, under mandatory locks that make reading them
	// fail. It is left out of the copy (a hole, which reads as zeros).
	lockStart := int64(lockByteOffset) / pageSize * pageSize
	segments := [][2]int64{{0, min(total, lockStart)}}
	if total > lockStart+pageSize {
		segments = append(segments, [2]int64{lockStart + pageSize, total})
	}
copying:
	for _, seg := range segments {
		if _, err := file.f.Seek(seg[0], io.SeekStart); err != nil {
			return err
		}
		if _, err := dest.Seek(seg[0], io.SeekStart); err != nil {
			return writeErr(dest, err)
		}
		for done := seg[0]; done < seg[1]; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := io.CopyN(dest, file.f, min(chunk, seg[1]-done))
			done += n
			if errors.Is(err, io.EOF) {
				// The file ends before the snapshot does: the missing
				// pages are in the log, and are written below.
				break copying
			}
			if err != nil {
				return writeErr(dest, err)
			}
			if err := dest.Sync(); err != nil {
				return writeErr(dest, err)
			}
			if progress != nil {
				progress(done, total)
			}
		}
	}

	pages, err := walPages(srcPath+"-wal", pageCount)
	if err != nil {
		return err
	}
	stmt, err := conn.PrepareContext(ctx, "SELECT data FROM sqlite_dbpage WHERE pgno = ?")
	if err != nil {
		return fmt.Errorf("read pages through SQLite: %w", err)
	}
	defer stmt.Close()
	var page []byte
	for _, pgno := range pages {
		if err := stmt.QueryRowContext(ctx, pgno).Scan(&page); err != nil {
			return fmt.Errorf("read page %d: %w", pgno, err)
		}
		if int64(len(page)) != pageSize {
			return fmt.Errorf("page %d has %d bytes, want %d", pgno, len(page), pageSize)
		}
		if _, err := dest.WriteAt(page, int64(pgno-1)*pageSize); err != nil {
			return writeErr(dest, err)
		}
	}
	if err := dest.Truncate(total); err != nil {
		return writeErr(dest, err)
	}
	if err := dest.Sync(); err != nil {
		return writeErr(dest, err)
	}
	if progress != nil {
		progress(total, total)
	}
	return nil
}

// lockByteOffset is where SQLite's lock bytes start (its PENDING_BYTE).
const lockByteOffset = 0x40000000

// dbFile is a descriptor of the database file that stays open as long as
// the DB: closing any descriptor of a file drops all of the process's POSIX
// locks on it, SQLite's included, so the file must not be opened and
// closed again while connections are open. mu serialises the users of its
// offset.
type dbFile struct {
	mu sync.Mutex
	f  *os.File
}

// walPages returns, sorted and once each, the page numbers up to maxPage
// that the frame headers of the WAL file at path name. A missing or empty
// log names none.
func walPages(path string, maxPage int64) ([]uint32, error) {
	// Opening and closing the log is safe, unlike the database file:
	// SQLite takes no POSIX locks on it (WAL mode locks the -shm file).
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// The log's header (32 bytes) gives its page size; each frame is a
	// 24-byte header, whose first 4 bytes are the page number, then a page.
	var head [32]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // shorter than its header: no frames
		}
		return nil, err
	}
	pageSize := int64(binary.BigEndian.Uint32(head[8:12]))
	if pageSize == 1 {
		pageSize = 65536 // as the database header, 1 means 64 KiB
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return nil, nil // a header being written: no frame follows it yet
	}
	seen := map[uint32]bool{}
	var fh [4]byte
	for off := int64(32); off+24 <= st.Size(); off += 24 + pageSize {
		if _, err := f.ReadAt(fh[:], off); err != nil {
			return nil, err
		}
		if pgno := binary.BigEndian.Uint32(fh[:]); pgno >= 1 && int64(pgno) <= maxPage {
			seen[pgno] = true
		}
	}
	pages := make([]uint32, 0, len(seen))
	for p := range seen {
		pages = append(pages, p)
	}
	slices.Sort(pages)
	return pages, nil
}

// writeErr explains a failure to write the backup file, most often a full
// disk.
func writeErr(f *os.File, err error) error {
	return fmt.Errorf("write %s: %w; check free disk space where backups go", f.Name(), err)
}
