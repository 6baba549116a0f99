//go:build !unix && !windows

package diskfree

import "errors"

// Available is not available on this platform.
func Available(path string) (uint64, error) {
	return 0, errors.New("free space is not reported on this platform")
}
