package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// refreshResult reports one refresh attempt. Err is the provider's, the
// store's or the limiter's error, nil when refreshed. Connection is the
// connection as last seen (after the refresh when Refreshed; with GoTo's
// new, unstored tokens when StoreFailed).
type refreshResult struct {
	ConnectionID string
	Outcome      sweep.Outcome
	Class        Class
	Err          error
	Connection   *Connection
	// ProviderLatency is how long GoTo's token endpoint took (zero when it
	// was not called).
	ProviderLatency time.Duration
}

// Refresh refreshes connection id now if it is due (or whatever its
// schedule says, with force), through its lease. The scheduled sweep calls
// it for each due connection; a backend may call it to force a refresh.
func (ts *TokenSource) Refresh(ctx context.Context, id string, force bool) sweep.Result {
	if err := ts.check(); err != nil {
		return refreshResult{ConnectionID: id, Outcome: sweep.Failed, Class: Configuration, Err: err}.public()
	}
	return ts.refreshOne(ctx, id, need{force: force, dueBy: ts.store.now()}, nil).public()
}

// public is the result as the sweep's callers see it.
func (r refreshResult) public() sweep.Result {
	res := sweep.Result{ConnectionID: r.ConnectionID, Outcome: r.Outcome, Class: r.Class.String(), Err: r.Err, ProviderLatency: r.ProviderLatency}
	if r.Err != nil {
		res.Code = ErrorCode(r.Err)
	}
	return res
}

// refreshHandingOff refreshes like refreshOne, but returns as soon as GoTo
// has answered and the first store attempt did not finish quickly: the
// store goes on in the background, and later refreshes of the connection in
// this process wait for it. Backends get their token while DynamoDB is slow.
func (ts *TokenSource) refreshHandingOff(ctx context.Context, id string, n need) refreshResult {
	answered := make(chan *Connection, 1)
	done := make(chan refreshResult, 1)
	go func() {
		done <- ts.refreshOne(ctx, id, n, func(c *Connection) { answered <- c })
	}()
	select {
	case res := <-done:
		return res
	case c := <-answered:
		t := time.NewTimer(handOffAfter)
		defer t.Stop()
		select {
		case res := <-done:
			return res
		case <-t.C:
		}
		ts.cache.put(c)
		return refreshResult{ConnectionID: id, Outcome: sweep.Refreshed, Connection: c}
	}
}

// handOffAfter is how long an on-demand caller waits for the store before
// it is handed GoTo's new token while the store goes on.
const handOffAfter = 2 * time.Second

// beginStore registers a store of connection id's refreshed tokens in this
// process; the returned func ends it. A refresh of id that starts meanwhile
// waits for it, so that it does not present the old refresh token.
func (ts *TokenSource) beginStore(id string) func() {
	ch := make(chan struct{})
	ts.mu.Lock()
	ts.unstored[id] = ch
	ts.mu.Unlock()
	return func() {
		ts.mu.Lock()
		delete(ts.unstored, id)
		ts.mu.Unlock()
		close(ch)
	}
}

// waitStored waits for a store of id's tokens in progress in this process.
func (ts *TokenSource) waitStored(ctx context.Context, id string) error {
	ts.mu.Lock()
	ch := ts.unstored[id]
	ts.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshOne is one refresh of connection id: take the lease (no rate slot
// yet), take a rate slot, call GoTo, store its answer. From the lease on,
// nothing is cut short by ctx: GoTo may rotate the refresh token, so its
// answer must be stored, and no lease may be left behind. ctx bounds only
// the waits before GoTo is called. onAnswer, when set, gets the new state as
// soon as GoTo answered.
func (ts *TokenSource) refreshOne(ctx context.Context, id string, n need, onAnswer func(*Connection)) refreshResult {
	ts.inflight.Add(1)
	defer ts.inflight.Done()
	res := refreshResult{ConnectionID: id}
	if err := ts.waitStored(ctx, id); err != nil || ctx.Err() != nil {
		res.Outcome, res.Err = sweep.Deferred, fmt.Errorf("gotoauth: refresh not started before the deadline: %w", context.Cause(ctx))
		return res
	}
	work := context.WithoutCancel(ctx)
	if p, ok := ts.takePending(id); ok {
		// GoTo's last answer for this connection never reached the table:
		// it holds the only valid refresh token, so it goes first.
		if res, ok := ts.storeAnswer(work, id, p.owner, p.prev, p.next, false, ts.storeBudget(time.Now(), n.deadline)); !ok {
			return res
		}
	}
	owner := ts.leaseToken()
	leaseCtx, cancel := context.WithTimeout(work, leaseWriteBudget)
	conn, err := ts.store.acquireLease(leaseCtx, id, owner, ts.leaseTTL(), n)
	cancel()
	res.Connection, res.Err = conn, err
	switch {
	case errors.Is(err, errLeaseHeld), errors.Is(err, errNotNeeded), errors.Is(err, ErrReauthRequired), errors.Is(err, ErrNotFound):
		res.Outcome, res.Class = sweep.Skipped, Classify(err)
		return res
	case err != nil:
		res.Outcome, res.Class = sweep.Failed, Classify(err)
		return res
	}

	// The rate slot, only now that the lease is ours. ctx's deadline
	// bounds starting the lease write; the wait for the slot may use the
	// lease write's budget too, since the refresh budget counts it.
	slotCtx := ctx
	if dl, ok := ctx.Deadline(); ok && ctx.Err() != context.Canceled {
		var cancel context.CancelFunc
		slotCtx, cancel = context.WithDeadline(work, dl.Add(leaseWriteBudget))
		defer cancel()
	}
	if err := ts.wait(slotCtx); err != nil {
		_ = ts.store.releaseLease(work, id, owner)
		res.Err = err
		if errors.Is(err, ErrLimiter) {
			res.Outcome, res.Class = sweep.Failed, Transient
			ts.logger.Error("rate limiter failed: the refresh did not start", "connection_id", id, "error", err.Error())
		} else {
			res.Outcome = sweep.Deferred
		}
		return res
	}

	sent := time.Now()
	call := work
	if by := ts.callDeadline(sent, n.deadline); !by.IsZero() {
		var cancel context.CancelFunc
		call, cancel = context.WithDeadline(work, by)
		defer cancel()
	}
	tok, err := ts.client.Refresh(call, conn.RefreshToken)
	res.ProviderLatency = time.Since(sent)
	if err == nil {
		next := ts.store.refreshedState(conn, tok, ts.store.now())
		if onAnswer != nil {
			onAnswer(next)
		}
		stored, _ := ts.storeAnswer(work, id, owner, conn, next, tok.RefreshToken != "", ts.storeBudget(time.Now(), n.deadline))
		stored.ProviderLatency = res.ProviderLatency
		return stored
	}

	class := Classify(err)
	code := ErrorCode(err)
	res.Class, res.Err = class, err
	if class == Permanent {
		werr := ts.store.markReauthRequired(work, conn, owner, code)
		if errors.Is(werr, errStale) {
			// Someone wrote new tokens meanwhile: our token was simply old.
			res.Outcome, res.Class, res.Err = sweep.Skipped, Transient, werr
			return res
		}
		if werr != nil {
			res.Outcome, res.Class, res.Err = sweep.Failed, Transient, fmt.Errorf("%w (and marking reauth_required failed: %w)", err, werr)
			return res
		}
		ts.cache.drop(id)
		conn.Status, conn.ReauthReason = StatusReauthRequired, code
		res.Outcome = sweep.ReauthRequired
		ts.publish(work, EventReauthRequired, conn, code)
		return res
	}

	// Transient or configuration: keep the tokens, try again later.
	var rl *oauth.RateLimitError
	if errors.As(err, &rl) {
		ts.pauseFor(rl.RetryAfter)
	}
	retryAt, failing := ts.retryAt(conn, err)
	ferr := ts.store.recordFailure(work, conn, owner, code, retryAt, failing)
	if ferr != nil && !errors.Is(ferr, errStale) {
		_ = ts.store.releaseLease(work, id, owner)
	}
	conn.FailureCount++
	conn.LastError, conn.NextRefreshAt = code, retryAt
	if failing && ferr == nil {
		// Announced once the mark is stored, so that the refresh that
		// clears it announces connection.recovered.
		ts.publish(work, EventRefreshFailing, conn, code)
	}
	res.Outcome = sweep.Failed
	return res
}

// storeAnswer stores next, the state GoTo's answer gave connection id whose
// lease owner took on prev, and reports the result; ok is false when the store
// failed for good within the retry budget. Then the answer is kept in this
// process (the cache hands its access token out, and the next refresh of
// the connection stores it first), and the failure is logged at ERROR.
func (ts *TokenSource) storeAnswer(ctx context.Context, id, owner string, prev, next *Connection, rotated bool, budget time.Duration) (refreshResult, bool) {
	res := refreshResult{ConnectionID: id}
	done := ts.beginStore(id)
	stored, recovered, err := ts.store.storeRefreshed(ctx, prev, next, owner, budget, ts.leaseTTL())
	done()
	switch {
	case err == nil:
		ts.cache.put(stored)
		res.Outcome, res.Connection = sweep.Refreshed, stored
		if recovered {
			ts.publish(ctx, EventRecovered, stored, "")
		}
	case errors.Is(err, errDeleted):
		ts.cache.drop(id)
		res.Outcome, res.Class, res.Err = sweep.Skipped, NotFound, fmt.Errorf("%w: deleted while it was refreshed; GoTo's answer is dropped", ErrNotFound)
	case errors.Is(err, errStale):
		// A newer consent (reconnect) or refresh was stored meanwhile: it wins.
		res.Outcome, res.Class, res.Err = sweep.Skipped, Transient, err
	default:
		ts.cache.put(next)
		ts.mu.Lock()
		ts.pending[id] = pendingStore{owner: owner, prev: prev, next: next}
		ts.mu.Unlock()
		res.Outcome, res.Class, res.Err, res.Connection = sweep.StoreFailed, Transient, err, next
		ts.logger.Error("GoTo's refresh answer could not be stored: it is kept in this process and stored at the next refresh of the connection; if this process ends first and GoTo rotated the refresh token, the connection will need re-authorization",
			"connection_id", id, "rotated", rotated || prev.RefreshToken != next.RefreshToken, "store_retry_budget", budget.String(), "error", err.Error())
		return res, false
	}
	return res, true
}

// takePending removes and returns the unstored answer of id, if any.
func (ts *TokenSource) takePending(id string) (pendingStore, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	p, ok := ts.pending[id]
	delete(ts.pending, id)
	return p, ok
}

// wait paces calls to GoTo: the rate limiter, and a pause after a 429 for
// every refresh of this TokenSource. It fails with ctx's error if ctx ends
// first (or GoTo's Retry-After would outlast it), and with ErrLimiter if
// the limiter fails for another reason.
func (ts *TokenSource) wait(ctx context.Context) error {
	if ts.limiter != nil {
		if err := ts.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isRateWaitTooLong(err) {
				return fmt.Errorf("gotoauth: refresh not started before the deadline: %w", err)
			}
			return fmt.Errorf("%w: %w", ErrLimiter, err)
		}
	}
	if until, now := time.Unix(0, ts.pausedUntil.Load()), ts.store.now(); now.Before(until) {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < until.Sub(now) {
			return fmt.Errorf("gotoauth: refresh not started before the deadline: GoTo asked to wait until %s", until.Format(time.RFC3339))
		}
		t := time.NewTimer(until.Sub(now))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("gotoauth: refresh not started before the deadline: %w", ctx.Err())
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gotoauth: refresh not started before the deadline: %w", err)
	}
	return nil
}

// pauseFor holds every refresh of this TokenSource back for d (GoTo's
// Retry-After): a 429 is about the client, not one connection.
func (ts *TokenSource) pauseFor(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	until := ts.store.now().Add(d).UnixNano()
	for {
		cur := ts.pausedUntil.Load()
		if cur >= until || ts.pausedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// retryAt is when a connection whose refresh failed with err is tried again,
// and whether the failure is to be announced (connection.refresh_failing):
// at the failingAfter-th failure in a row, and whenever retries would go
// past the refresh token's expiry (also logged at ERROR).
func (ts *TokenSource) retryAt(c *Connection, err error) (time.Time, bool) {
	base, max := ts.retryBase, ts.retryMax
	wait := base
	for i := 0; i < c.FailureCount && wait < max; i++ {
		wait *= 2
	}
	if wait > max {
		wait = max
	}
	var rl *oauth.RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	now := ts.store.now()
	at := now.Add(wait)
	failing := c.FailureCount+1 == failingAfter
	// Never wait past the refresh token's expiry: try once more just
	// before, and tell someone.
	if exp := c.RefreshTokenExpiresAt; !exp.IsZero() && !at.Before(exp.Add(-base)) {
		failing = true
		ts.logger.Error("refresh token about to expire while refreshes fail: the connection will die unless this is fixed",
			"connection_id", c.ConnectionID, "refresh_token_expires_at", exp.UTC().Format(time.RFC3339), "error_code", ErrorCode(err))
		at = exp.Add(-base)
		if at.Before(now) {
			at = now
		}
	}
	return at, failing
}

// failingAfter is how many transient failures in a row make a connection
// "refresh_failing" (with the default backoff: about an hour of failures).
const failingAfter = 6
