//go:build !unix && !windows

package main

import "errors"

// diskFree is not available on this platform.
func diskFree(path string) (uint64, error) {
	return 0, errors.New("free space is not reported on this platform")
}
