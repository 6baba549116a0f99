package diskfree

import (
	"runtime"
	"testing"
)

func TestAvailable(t *testing.T) {
	free, err := Available(t.TempDir())
	if runtime.GOOS != "windows" && !isUnix() {
		if err == nil {
			t.Errorf("got=%d, want an error on %s", free, runtime.GOOS)
		}
		return
	}
	if err != nil || free == 0 {
		t.Errorf("got=%d %v, want some free space", free, err)
	}
	if _, err := Available("/no/such/dir/at/all"); err == nil {
		t.Error("a missing directory got no error")
	}
}

func isUnix() bool {
	switch runtime.GOOS {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux", "netbsd", "openbsd", "solaris":
		return true
	}
	return false
}
