package gotoauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// Client returns an HTTP client for GoTo's APIs on behalf of connection id:
// every request carries "Authorization: Bearer" with a valid access token
// of the connection. When GoTo rejects the token (401, or 403 with
// InvalidToken, as GoTo's APIs answer), the token is refreshed once, through
// the lease, and a request that can be sent again (no body, or GetBody set)
// is retried once with the new token. ctx bounds the token lookups, not the
// requests (give those their own context).
func (ts *TokenSource) Client(ctx context.Context, id string) *http.Client {
	return &http.Client{Transport: &Transport{Source: ts, ConnectionID: id, ctx: ctx}}
}

// Transport is the http.RoundTripper of TokenSource.Client: it authorizes
// requests as ConnectionID with tokens from Source, over Base (nil means
// http.DefaultTransport).
type Transport struct {
	Source       *TokenSource
	ConnectionID string
	Base         http.RoundTripper
	ctx          context.Context
}

// maxRejectionPeek is how much of a 403 body is read to look for
// InvalidToken.
const maxRejectionPeek = 4 << 10

// RoundTrip authorizes req, and refreshes and retries once on a rejected
// token.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Source == nil {
		return nil, errors.New("gotoauth: Transport needs a Source")
	}
	ctx := t.ctx
	if ctx == nil {
		ctx = req.Context()
	}
	if err := t.Source.check(); err != nil {
		closeBody(req)
		return nil, err
	}
	conn, _, err := t.Source.connectionValidFor(ctx, t.ConnectionID, t.Source.margin)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base().RoundTrip(authorized(req, conn.AccessToken))
	if err != nil || !rejectsToken(resp) || !replayable(req) {
		return resp, err
	}
	resp.Body.Close()
	fresh, err := t.Source.refreshRejected(ctx, t.ConnectionID, conn.AccessToken)
	if err != nil {
		return nil, err
	}
	retry := authorized(req, fresh.AccessToken)
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return t.base().RoundTrip(retry)
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// authorized returns a copy of req with the bearer token (a RoundTripper
// must not change its request).
func authorized(req *http.Request, token string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// replayable reports whether req can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rejectsToken reports a GoTo answer that refuses the access token: 401,
// or 403 whose body says InvalidToken (a 403 without it is a permission
// error, which a new token does not fix). The body stays readable.
func rejectsToken(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		peek, _ := io.ReadAll(io.LimitReader(resp.Body, maxRejectionPeek))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
		return bytes.Contains(peek, []byte("InvalidToken"))
	}
	return false
}

// refreshRejected replaces access token rejected of connection id, once for
// every caller in this process that saw it rejected, and once across
// processes: the lease is taken only while the connection's revision is the
// one that held the rejected token. If the connection holds another token
// by then, that one is returned without a refresh.
func (ts *TokenSource) refreshRejected(ctx context.Context, id, rejected string) (*Connection, error) {
	v, err, _ := ts.group.Do("rejected#"+id, func() (any, error) {
		ts.cache.drop(id)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*ts.leaseTTL())
		defer cancel()
		for {
			c, err := ts.store.Connection(fctx, id)
			switch {
			case err != nil:
				return nil, err
			case c.Status != StatusActive:
				return nil, reauthError(c.ReauthReason, nil)
			case c.AccessToken != rejected && ts.validFor(c, 0):
				ts.cache.put(c)
				return c, nil
			}
			res := ts.refreshHandingOff(fctx, id, need{force: true, revision: c.Revision})
			switch {
			case res.Outcome == sweep.Refreshed || res.Outcome == sweep.StoreFailed && res.Connection != nil:
				return res.Connection, nil
			case errors.Is(res.Err, errLeaseHeld), errors.Is(res.Err, errNotNeeded), errors.Is(res.Err, errStale):
				// Someone else is at it, or was: read again.
			default:
				return nil, res.Err
			}
			t := time.NewTimer(ts.poll)
			select {
			case <-fctx.Done():
				t.Stop()
				return nil, fmt.Errorf("gotoauth: waiting for another refresher: %w", fctx.Err())
			case <-t.C:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return v.(*Connection), nil
}
