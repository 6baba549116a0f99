package resterr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/disgoorg/disgo/rest"
)

func TestStatusAndCode(t *testing.T) {
	resp := &http.Response{StatusCode: http.StatusForbidden}
	value := rest.Error{Response: resp, Code: 50013}
	tests := []struct {
		name         string
		err          error
		status, code int
	}{
		{"Value", fmt.Errorf("ban: %w", value), 403, 50013},
		{"Pointer", fmt.Errorf("ban: %w", &value), 403, 50013},
		{"NoResponse", rest.Error{Code: 10007}, 0, 10007},
		{"Other", errors.New("dial tcp: refused"), 0, 0},
		{"Nil", nil, 0, 0},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.status {
			t.Errorf("%s: Status got=%d, want %d", tt.name, got, tt.status)
		}
		if got := Code(tt.err); got != tt.code {
			t.Errorf("%s: Code got=%d, want %d", tt.name, got, tt.code)
		}
	}
}
