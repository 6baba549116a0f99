//go:build unix

package diskfree

import "golang.org/x/sys/unix"

// Available returns the bytes available to this user on the file system
// holding path.
func Available(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
