package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"run", "run", 0},
		{"rn", "run", 1},
		{"backpu", "backup", 2},
		{"", "abc", 3},
		// Counted in runes: one changed letter is one edit, however many
		// bytes it takes.
		{"café", "cafe", 1},
		{"größe", "grösse", 2},
		{"日本", "日本語", 1},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) got=%d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) got=%d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	cmds := []string{"audit", "backup", "health", "restore", "run"}
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"backpu", 3, "backup"},
		{"rnu", 2, "run"},
		{"helth", 2, "health"},
		{"zzzzzzzz", 3, ""},
		{"restor", 0, ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.s, cmds, tt.max); got != tt.want {
			t.Errorf("Nearest(%q, max %d) got=%q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}
