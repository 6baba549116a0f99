//go:build unix

package config

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedBySelf reports whether the file is owned by the user this process
// runs as.
func ownedBySelf(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}
