package conn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/disgoorg/disgo/rest"

	"github.com/modbot/bot/internal/resterr"
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
		if resterr.Status(err) == http.StatusUnauthorized {
			return "", errors.New("the token was rejected by Discord: copy it again from the Bot page of the developer portal")
		}
		return "", fmt.Errorf("ask Discord who the token belongs to: %w", err)
	}
	return u.Username, nil
}
