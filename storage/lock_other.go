//go:build !unix && !windows

package storage

import "os"

// lockFile does nothing where the platform has no file locks (js, wasip1,
// plan9): the lock file still records the holder, but nothing enforces it.
func lockFile(*os.File) error { return nil }
