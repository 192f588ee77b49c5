package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is what one refresh attempt did.
type Outcome string

// Outcomes of Refresher.Refresh.
const (
	// Refreshed: new tokens are stored.
	Refreshed Outcome = "refreshed"
	// ReauthRequired: GoTo refused the grant for good; the connection is
	// marked reauth_required and leaves the sweep.
	ReauthRequired Outcome = "reauth_required"
	// Failed: a transient or configuration failure; the stored tokens are
	// untouched and the next try is scheduled with backoff.
	Failed Outcome = "failed"
	// Skipped: another refresher holds the connection, it was refreshed
	// meanwhile, it needs re-authorization already, or it does not exist.
	Skipped Outcome = "skipped"
)

// Defaults of Refresher.
const (
	DefaultLeaseDuration = 60 * time.Second
	DefaultRetryBase     = time.Minute
	DefaultRetryMax      = time.Hour
)

// Refresher refreshes connections, one refresher per connection at a time:
// it takes the connection's lease with a conditional write before calling
// GoTo, stores the new tokens before anything else, and releases the lease
// (or lets it expire, if the process dies). It is safe for concurrent use;
// the scheduled sweep and TokenSource share it.
type Refresher struct {
	Store  *Store
	Client *Client
	// Limiter, when set, paces calls to GoTo (REFRESH_RATE_LIMIT): a
	// *rate.Limiter for this process, a SharedLimiter for all of them, or
	// both (Limiters).
	Limiter Limiter
	// Owner names this refresher in leases; empty means a random id.
	Owner string
	// LeaseDuration bounds how long a dead refresher blocks a connection.
	// Zero means DefaultLeaseDuration; it is raised, if need be, to outlast
	// the client's timeout plus the time storing the answer may take.
	LeaseDuration time.Duration
	// RetryBase and RetryMax shape the backoff after transient failures:
	// RetryBase * 2^(failures-1), at most RetryMax, at least Retry-After.
	RetryBase, RetryMax time.Duration
	// OnAtRisk, when set, is called when a connection's retries would go
	// past its refresh token's expiry: someone must look at it.
	OnAtRisk func(c *Connection, err error)

	ownerOnce   sync.Once
	ownerID     string
	pausedUntil atomic.Int64 // Unix nanoseconds by the store's clock; GoTo's last Retry-After
}

// Result reports one refresh attempt. Err is the provider's or the store's
// error, nil when refreshed. Conn is the connection as last seen.
type Result struct {
	Outcome Outcome
	Class   Class
	Err     error
	Conn    *Connection
}

// Refresh refreshes connection id if it is due (or always, with force).
func (r *Refresher) Refresh(ctx context.Context, id string, force bool) Result {
	return r.refresh(ctx, id, need{force: force, dueBy: r.Store.now()})
}

// refreshIfExpiring refreshes connection id if its access token expires by
// t.
func (r *Refresher) refreshIfExpiring(ctx context.Context, id string, t time.Time) Result {
	return r.refresh(ctx, id, need{accessExpires: t})
}

func (r *Refresher) owner() string {
	r.ownerOnce.Do(func() {
		r.ownerID = r.Owner
		if r.ownerID == "" {
			r.ownerID = NewOwnerID("refresher")
		}
	})
	return r.ownerID
}

// NewOwnerID returns a fresh, random lease owner id.
func NewOwnerID(prefix string) string { return prefix + "-" + randomString(9) }

// ErrNotStarted: the context ended (or a provider-wide Retry-After would
// outlast it) before the refresh began; nothing was done.
var ErrNotStarted = errors.New("gotoauth: refresh not started before the deadline")

func (r *Refresher) refresh(ctx context.Context, id string, n need) Result {
	if err := r.wait(ctx); err != nil {
		return Result{Outcome: Skipped, Err: err}
	}
	// From here on nothing is cut short by the caller's context: the lease
	// write, the provider call and the writes that follow it run to their
	// end (each has its own timeout), since GoTo may rotate the refresh
	// token and its answer must be stored, and no lease may be left behind.
	work := context.WithoutCancel(ctx)
	owner := r.owner()
	leaseCtx, cancel := context.WithTimeout(work, 10*time.Second)
	conn, err := r.Store.acquireLease(leaseCtx, id, owner, r.leaseDuration(), n)
	cancel()
	switch {
	case errors.Is(err, ErrLeaseHeld), errors.Is(err, ErrNotNeeded), errors.Is(err, ErrReauthRequired), errors.Is(err, ErrNotFound):
		return Result{Outcome: Skipped, Err: err, Conn: conn, Class: Transient}
	case err != nil:
		return Result{Outcome: Failed, Err: err, Class: Classify(err)}
	}

	tok, err := r.Client.Refresh(work, conn.RefreshToken)
	if err == nil {
		stored, werr := r.Store.storeRefreshed(work, conn, tok)
		if werr != nil {
			return Result{Outcome: Failed, Class: Transient, Err: werr, Conn: conn}
		}
		return Result{Outcome: Refreshed, Conn: stored}
	}

	class := Classify(err)
	code := ErrorCode(err)
	if class == Permanent {
		werr := r.Store.markReauthRequired(work, conn, owner, code)
		if errors.Is(werr, errStale) {
			// Someone wrote new tokens meanwhile: our token was simply old.
			return Result{Outcome: Skipped, Class: Transient, Err: werr, Conn: conn}
		}
		if werr != nil {
			return Result{Outcome: Failed, Class: Transient, Err: fmt.Errorf("%w (and marking reauth_required failed: %v)", err, werr), Conn: conn}
		}
		conn.Status, conn.ReauthReason = StatusReauthRequired, code
		return Result{Outcome: ReauthRequired, Class: Permanent, Err: err, Conn: conn}
	}

	// Transient or configuration: keep the tokens, try again later.
	var rl *RateLimitError
	if errors.As(err, &rl) {
		r.pauseFor(rl.RetryAfter)
	}
	retryAt := r.retryAt(conn, err)
	if ferr := r.Store.recordFailure(work, conn, owner, code, retryAt); ferr != nil && !errors.Is(ferr, errStale) {
		_ = r.Store.releaseLease(work, id, owner)
	}
	conn.FailureCount++
	conn.LastError, conn.NextRefreshAt = code, retryAt
	return Result{Outcome: Failed, Class: class, Err: err, Conn: conn}
}

// leaseDuration is long enough for the provider call and the store's
// writes, whatever LeaseDuration says.
func (r *Refresher) leaseDuration() time.Duration {
	d := r.LeaseDuration
	if d <= 0 {
		d = DefaultLeaseDuration
	}
	timeout := r.Client.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if min := timeout + storeBudget + 5*time.Second; d < min {
		d = min
	}
	return d
}

// wait paces calls to GoTo: the rate limiter, and a pause after a 429 for
// every refresh of this Refresher. It gives up with ErrNotStarted if ctx
// ends first.
func (r *Refresher) wait(ctx context.Context) error {
	if r.Limiter != nil {
		if err := r.Limiter.Wait(ctx); err != nil {
			return fmt.Errorf("%w: %v", ErrNotStarted, err)
		}
	}
	if until, now := time.Unix(0, r.pausedUntil.Load()), r.Store.now(); now.Before(until) {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < until.Sub(now) {
			return fmt.Errorf("%w: GoTo asked to wait until %s", ErrNotStarted, until.Format(time.RFC3339))
		}
		t := time.NewTimer(until.Sub(now))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrNotStarted, ctx.Err())
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrNotStarted, err)
	}
	return nil
}

// pauseFor holds every refresh of this Refresher back for d (GoTo's
// Retry-After): a 429 is about the client, not one connection.
func (r *Refresher) pauseFor(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	until := r.Store.now().Add(d).UnixNano()
	for {
		cur := r.pausedUntil.Load()
		if cur >= until || r.pausedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// retryAt is when a connection whose refresh failed with err is tried again.
func (r *Refresher) retryAt(c *Connection, err error) time.Time {
	base, max := r.RetryBase, r.RetryMax
	if base <= 0 {
		base = DefaultRetryBase
	}
	if max <= 0 {
		max = DefaultRetryMax
	}
	wait := base
	for i := 0; i < c.FailureCount && wait < max; i++ {
		wait *= 2
	}
	if wait > max {
		wait = max
	}
	var rl *RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	now := r.Store.now()
	at := now.Add(wait)
	// Never wait past the refresh token's expiry: try once more just
	// before, and tell someone.
	if exp := c.RefreshTokenExpiresAt; !exp.IsZero() && !at.Before(exp.Add(-base)) {
		if r.OnAtRisk != nil {
			r.OnAtRisk(c, err)
		}
		at = exp.Add(-base)
		if at.Before(now) {
			at = now
		}
	}
	return at
}
