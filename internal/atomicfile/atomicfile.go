// Package atomicfile replaces files so that a crash or a power cut leaves
// either the old content or the new, never a mix or a truncated file.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data: it writes a temporary file in the same
// directory (a rename across file systems is not atomic), syncs it, renames
// it over path and syncs the directory so the rename itself is durable. The
// file gets mode perm whatever the umask. On failure path is untouched and
// the temporary file is removed; the error names path and says what to
// check.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	const hint = "make the directory writable by the user that runs bot, and check free disk space"
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w; %s", path, err, hint)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Windows has no Unix modes; its ACLs follow the directory.
	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w; %s", path, err, hint)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w; %s", path, err, hint)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w; %s", path, err, hint)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w; %s", path, err, hint)
	}
	return SyncDir(dir)
}

// SyncDir makes a rename or a link in dir durable. Windows cannot open a
// directory for syncing, and journals its renames, so it is skipped there.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
