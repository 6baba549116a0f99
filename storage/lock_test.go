package storage

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	first, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrLocked", func(t *testing.T) {
		_, err := Lock(dir)
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("got=%v, want ErrLocked", err)
		}
		want := fmt.Sprintf("the data directory %s is in use by process %d (", dir, os.Getpid())
		if le.PID != os.Getpid() || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "; stop it first") {
			t.Errorf("got=%q, want it to name this process: %q...", err, want)
		}
	})
	t.Run("AfterClose", func(t *testing.T) {
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		second, err := Lock(dir)
		if err != nil {
			t.Fatalf("got=%v, want the lock free after Close", err)
		}
		second.Close()
	})
	t.Run("MissingDir", func(t *testing.T) {
		_, err := Lock(dir + "/missing")
		if err == nil || errors.Is(err, ErrLocked) {
			t.Errorf("got=%v, want an error that is not ErrLocked", err)
		}
	})
}

func TestLockedErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  LockedError
		want string
	}{
		{"PIDAndCommand", LockedError{Dir: "/x", PID: 1234, Command: "bot run"}, "the data directory /x is in use by process 1234 (bot run); stop it first"},
		{"PIDOnly", LockedError{Dir: "/x", PID: 1234}, "the data directory /x is in use by process 1234; stop it first"},
		{"Unknown", LockedError{Dir: "/x"}, "the data directory /x is in use by another process; stop it first"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got=%q, want %q", got, tt.want)
			}
		})
	}
}
