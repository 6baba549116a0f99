// Package resterr reads the HTTP status and Discord's JSON error code out of
// the errors disgo's REST client returns, for the packages that turn them
// into advice (bot) or into a verdict on a token (conn).
package resterr

import (
	"errors"

	"github.com/disgoorg/disgo/rest"
)

// asRestError finds disgo's REST error in err's chain. disgo returns it by
// value or by pointer depending on the path.
func asRestError(err error) (rest.Error, bool) {
	var re rest.Error
	if errors.As(err, &re) {
		return re, true
	}
	var rp *rest.Error
	if errors.As(err, &rp) && rp != nil {
		return *rp, true
	}
	return rest.Error{}, false
}

// Status returns the HTTP status of a REST error, or 0 when err carries
// none (no answer at all, or not a REST error).
func Status(err error) int {
	if re, ok := asRestError(err); ok && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// Code returns Discord's JSON error code of a REST error (such as 10007,
// unknown member), or 0.
func Code(err error) int {
	if re, ok := asRestError(err); ok {
		return int(re.Code)
	}
	return 0
}
