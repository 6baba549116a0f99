package conn

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/disgoorg/disgo/rest"
)

// restTimeout bounds one REST request, from sending it to the end of its
// response body, so that a hung connection cannot hold a command forever.
const restTimeout = 20 * time.Second

// closingTransport bounds each request by timeout and closes its response
// body once it has been read to the end. disgo reads bodies but never
// closes them, and http.Client's own Timeout stops its timer only on Close,
// so each request's timer, context and goroutine would live for the whole
// timeout. Here the request's context is cancelled at the end of its body.
type closingTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

// RoundTrip sends r with the timeout and wraps the body that comes back.
func (t closingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.timeout)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &closeAtEOF{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// closeAtEOF closes the body it wraps, and cancels its request's context,
// when a read reaches its end.
type closeAtEOF struct {
	io.ReadCloser
	cancel context.CancelFunc
	closed bool
}

func (c *closeAtEOF) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if err == io.EOF && !c.closed {
		c.Close()
	}
	return n, err
}

func (c *closeAtEOF) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// deadlineGuard is a rest.Client that hides the deadline of every
// request's context, keeping its cancellation.
//
// disgo's rate limiter returns early, without unlocking the route's bucket,
// when a context's deadline falls before the bucket's reset; the route then
// stays locked for the life of the process. Cancellation alone is handled
// correctly. With the guard in the client, callers may pass any context:
// a deadline still ends the call, through the cancellation it causes.
type deadlineGuard struct{ rest.Client }

// Do runs the request with its context's deadline hidden.
func (g deadlineGuard) Do(endpoint *rest.CompiledEndpoint, rqBody, rsBody any, opts ...rest.RequestOpt) error {
	opts = append(opts, func(c *rest.RequestConfig) {
		if c.Ctx != nil {
			c.Ctx = WithoutDeadline(c.Ctx)
		}
	})
	return g.Client.Do(endpoint, rqBody, rsBody, opts...)
}

// WithoutDeadline returns a context that is cancelled with ctx but has no
// deadline. Every REST call of a Client goes through it already; it is
// exported for REST clients built elsewhere.
func WithoutDeadline(ctx context.Context) context.Context {
	return noDeadline{ctx}
}

// noDeadline hides its parent's deadline but keeps its cancellation and values.
type noDeadline struct{ context.Context }

// Deadline reports no deadline, whatever the parent's.
func (noDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }
