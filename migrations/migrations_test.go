package migrations

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// TestFilesAreNumberedInOrder guards the rules goose relies on: numbers start
// at 1 with no gap or duplicate, and every file has an Up and a Down section.
func TestFilesAreNumberedInOrder(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, name := range names {
		prefix := fmt.Sprintf("%05d_", i+1)
		if !strings.HasPrefix(name, prefix) {
			t.Errorf("file %d is %q, want a name starting with %q", i+1, name, prefix)
		}
		body, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, marker := range []string{"-- +goose Up", "-- +goose Down"} {
			if !strings.Contains(string(body), marker) {
				t.Errorf("%s: missing %q", name, marker)
			}
		}
	}
}
