package conn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/disgoorg/disgo/rest"
)

// CheckToken asks Discord (or the REST proxy at apiURL, "" for Discord's
// own) who the token belongs to, and returns the bot's username. It is how
// `bot health` proves the token is accepted without opening a gateway
// connection. ctx's deadline is turned into a cancellation, as for every
// REST call of this package.
func CheckToken(ctx context.Context, apiURL, token string) (string, error) {
	var opts []rest.ConfigOpt
	if apiURL != "" {
		opts = append(opts, rest.WithURL(apiURL))
	}
	c := rest.New(deadlineGuard{rest.NewClient(token, opts...)})
	u, err := c.GetCurrentUser("", rest.WithCtx(ctx))
	if err != nil {
		if httpStatus(err) == http.StatusUnauthorized {
			return "", errors.New("the token was rejected by Discord: copy it again from the Bot page of the developer portal")
		}
		return "", fmt.Errorf("ask Discord who the token belongs to: %w", err)
	}
	return u.Username, nil
}

// httpStatus returns the HTTP status of a REST error, or 0. disgo returns
// its Error by pointer or by value depending on the path.
func httpStatus(err error) int {
	var re rest.Error
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	var rp *rest.Error
	if errors.As(err, &rp) && rp != nil && rp.Response != nil {
		return rp.Response.StatusCode
	}
	return 0
}
