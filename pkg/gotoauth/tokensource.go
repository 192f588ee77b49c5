package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultMargin is how long before its expiry TokenSource replaces an
// access token.
const DefaultMargin = 5 * time.Minute

// TokenSource gives a SaaS backend a valid access token for a connection
// whenever it calls a GoTo API. A token that expires within Margin is
// refreshed on demand through the same lease as the scheduled refresh, so the
// two never use one refresh token at once; inside one process, concurrent
// callers for a connection share one refresh (single flight). A caller that
// loses the race to another process waits for that refresh and gets its
// token.
//
// Errors: errors.Is(err, ErrReauthRequired) means the customer must connect
// again; errors.Is(err, ErrNotFound) that there is no such connection; any
// other error is worth trying again later (IsTransient reports true for it
// unless it is a configuration error of the connector).
type TokenSource struct {
	Refresher *Refresher
	// Margin is how long before expiry a token is replaced; zero means
	// DefaultMargin.
	Margin time.Duration
	// PollInterval is how often a caller waiting for another process's
	// refresh looks again; zero means 100ms.
	PollInterval time.Duration

	group singleflight.Group
}

// AccessToken returns a valid access token of connection id.
func (ts *TokenSource) AccessToken(ctx context.Context, id string) (string, error) {
	c, err := ts.Connection(ctx, id)
	if err != nil {
		return "", err
	}
	return c.AccessToken, nil
}

// Connection returns connection id with a valid access token, refreshing it
// if needed.
func (ts *TokenSource) Connection(ctx context.Context, id string) (*Connection, error) {
	if c, err := ts.current(ctx, id); c != nil || err != nil {
		return c, err
	}
	ch := ts.group.DoChan(id, func() (any, error) {
		// Shared by every caller in this process: not bound to the first
		// caller's cancellation.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*DefaultLeaseDuration)
		defer cancel()
		return ts.refresh(fctx, id)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Connection), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (ts *TokenSource) margin() time.Duration {
	if ts.Margin > 0 {
		return ts.Margin
	}
	return DefaultMargin
}

func (ts *TokenSource) fresh(c *Connection) bool {
	return c.AccessTokenExpiresAt.After(ts.Refresher.Store.now().Add(ts.margin()))
}

// current reads connection id and returns it if its access token is fresh;
// (nil, nil) when it needs a refresh; an error when it cannot be used.
func (ts *TokenSource) current(ctx context.Context, id string) (*Connection, error) {
	c, err := ts.Refresher.Store.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := usable(c); err != nil {
		return nil, err
	}
	if ts.fresh(c) {
		return c, nil
	}
	return nil, nil
}

func usable(c *Connection) error {
	if c.Status != StatusActive {
		return fmt.Errorf("%w (%s)", ErrReauthRequired, c.ReauthReason)
	}
	return nil
}

// refresh refreshes under the lease, or waits for whoever holds it.
func (ts *TokenSource) refresh(ctx context.Context, id string) (*Connection, error) {
	store := ts.Refresher.Store
	poll := ts.PollInterval
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	for {
		res := ts.Refresher.refreshIfExpiring(ctx, id, store.now().Add(ts.margin()))
		switch {
		case res.Outcome == Refreshed:
			return res.Conn, nil
		case res.Outcome == ReauthRequired || errors.Is(res.Err, ErrReauthRequired):
			return nil, fmt.Errorf("%w: %v", ErrReauthRequired, res.Err)
		case errors.Is(res.Err, ErrNotFound):
			return nil, ErrNotFound
		case errors.Is(res.Err, ErrNotNeeded):
			// Another refresher just did it.
			if res.Conn != nil && ts.fresh(res.Conn) {
				return res.Conn, nil
			}
		case errors.Is(res.Err, ErrLeaseHeld), errors.Is(res.Err, errStale):
			// Another process is refreshing, or just wrote new tokens:
			// look again.
		case res.Outcome == Failed || res.Err != nil:
			// A failed refresh: a token that is still valid (if within the
			// margin) is better than an error.
			if res.Conn != nil && res.Conn.AccessTokenExpiresAt.After(store.now()) {
				return res.Conn, nil
			}
			return nil, res.Err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gotoauth: waiting for another refresher: %w", ctx.Err())
		case <-time.After(poll):
		}
		if c, err := ts.current(ctx, id); c != nil || err != nil {
			return c, err
		}
	}
}
