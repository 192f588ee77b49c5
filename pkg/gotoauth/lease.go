package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Why a refresher did not get a connection's lease.
var (
	// errLeaseHeld: another refresher holds the connection's lease.
	errLeaseHeld = errors.New("gotoauth: another refresher holds the connection")
	// errNotNeeded: the connection needs no refresh any more (another
	// refresher just did it).
	errNotNeeded = errors.New("gotoauth: the connection needs no refresh now")
	// errStale: the connection changed under the writer (a newer write won).
	errStale = errors.New("gotoauth: the connection changed meanwhile")
	// errDeleted: the connection was deleted while it was being refreshed.
	errDeleted = errors.New("gotoauth: the connection was deleted meanwhile")
)

// need says when a lease is worth taking.
type need struct {
	force         bool      // refresh whatever the times say
	dueBy         time.Time // next_refresh_at <= dueBy
	accessExpires time.Time // or: access_token_expires_at <= accessExpires
	revision      int64     // with force: only while the revision is still this one
	deadline      time.Time // the caller's real deadline (zero: none): GoTo's answer and its store are cut to it
}

// acquireLease takes the refresh lease of connection id for owner, with a
// conditional write: only an active connection, only if no unexpired lease
// is held, and only if it still needs the refresh. It returns the
// connection as stored at that moment, so the refresh uses the newest
// refresh token.
//
// owner must be new for each acquisition (see TokenSource.leaseToken):
// when the write was applied but its answer lost (a connection reset the
// SDK retries, or a timeout), the retry's condition fails on our own
// lease, and the read that follows tells it from another refresher's by
// that token alone.
func (s *Store) acquireLease(ctx context.Context, id, owner string, ttl time.Duration, n need) (*Connection, error) {
	now := s.now()
	cond := expression.And(
		expression.AttributeExists(expression.Name("pk")),
		expression.Name("status").Equal(expression.Value(string(StatusActive))),
		expression.Or(
			expression.AttributeNotExists(expression.Name("lease_owner")),
			expression.Name("lease_expires_at").LessThan(expression.Value(now.Unix())),
		),
	)
	switch {
	case n.force && n.revision != 0:
		cond = cond.And(expression.Name("version").Equal(expression.Value(n.revision)))
	case n.force:
	case !n.accessExpires.IsZero():
		cond = cond.And(expression.Name("access_token_expires_at").LessThanEqual(expression.Value(n.accessExpires.Unix())))
	default:
		cond = cond.And(expression.Name("next_refresh_at").LessThanEqual(expression.Value(n.dueBy.Unix())))
	}
	upd := expression.Set(expression.Name("lease_owner"), expression.Value(owner)).
		Set(expression.Name("lease_expires_at"), expression.Value(now.Add(ttl).Unix()))
	attrs, err := s.update(ctx, id, upd, cond, types.ReturnValueAllNew)
	if err == nil {
		c, derr := s.decode(ctx, attrs)
		if derr != nil {
			// The lease is ours but the tokens are unreadable (a token
			// key missing here): give it back and report.
			_ = s.releaseLease(ctx, id, owner)
			return nil, derr
		}
		return c, nil
	}
	if !isConditionFailed(err) {
		return nil, storeError("taking the refresh lease", err)
	}
	// Why not? Read it to say.
	c, err := s.Connection(ctx, id)
	switch {
	case err != nil:
		if !errors.Is(err, ErrNotFound) {
			// The lease may be ours (an applied write whose answer was
			// lost) and the tokens unreadable: give it back if so.
			_ = s.releaseLease(ctx, id, owner)
		}
		return nil, err
	case c.leaseOwner == owner:
		// Our own write, applied: the lease is ours, taken on the
		// connection as just read.
		return c, nil
	case c.Status != StatusActive:
		return c, fmt.Errorf("%w (%s)", ErrReauthRequired, c.ReauthReason)
	case c.leaseOwner != "" && !c.leaseExpiresAt.Before(time.Unix(now.Unix(), 0)):
		return c, errLeaseHeld
	default:
		return c, errNotNeeded
	}
}

// refreshedState is connection c after GoTo answered its refresh with tok
// at now: what storeRefreshed writes.
func (s *Store) refreshedState(c *Connection, tok *Token, now time.Time) *Connection {
	n := *c
	n.Status, n.ReauthReason = StatusActive, ""
	n.AccessToken, n.AccessTokenExpiresAt, n.RefreshedAt = tok.AccessToken, tok.Expiry, now
	if tok.RefreshToken != "" {
		n.RefreshToken, n.RefreshTokenExpiresAt = tok.RefreshToken, s.schedule.RefreshTokenExpiry(now)
	}
	// A refresh that answered its plan keeps the connection's place in
	// the schedule; the first refresh after the connect (planned by the
	// callback, which knows no load) and one after failures find it one.
	var planned time.Time
	if c.FailureCount == 0 && c.RefreshedAt.After(c.ConnectedAt) {
		planned = c.NextRefreshAt
	}
	n.NextRefreshAt = s.next(c.ConnectionID, planned, now, n.AccessTokenExpiresAt, n.RefreshTokenExpiresAt)
	n.FailureCount, n.LastError, n.leaseOwner, n.leaseExpiresAt = 0, "", "", time.Time{}
	return &n
}

// storeRefreshed writes n, the state after a successful refresh of c (see
// refreshedState), and releases the lease: one conditional write. A new
// refresh token replaces the old one and restarts its lifetime; without
// one, the old one and its expiry stay.
//
// It writes only if no other token write happened since the lease was taken
// (same revision), or if the only write since is a re-authorization mark
// made against that same revision: a refresher that presented the old
// refresh token after GoTo had rotated it got invalid_grant, and GoTo's
// answer held here proves the grant alive. A deleted connection stays
// deleted.
//
// The answer of a refresh may hold the only valid refresh token left, so
// the write is retried with backoff for up to budget whatever ctx says,
// extending the lease between attempts while DynamoDB answers.
//
// recovered reports that this write cleared the connection's
// refresh_failing mark (see recordFailure): the one write that removes it
// sees it, so at most one refresher announces connection.recovered.
func (s *Store) storeRefreshed(ctx context.Context, c, n *Connection, owner string, budget, leaseTTL time.Duration) (stored *Connection, recovered bool, err error) {
	// The tokens are sealed inside the retry loop: a KMS that cannot give
	// a data key is a store failure like DynamoDB's, retried with the same
	// budget, and GoTo's answer is never dropped for it.
	var sealed *expression.UpdateBuilder
	build := func(ctx context.Context) (expression.UpdateBuilder, error) {
		if sealed != nil {
			return *sealed, nil
		}
		access, err := s.seal(ctx, n.AccessToken, c.ConnectionID)
		if err != nil {
			return expression.UpdateBuilder{}, err
		}
		refresh := ""
		if n.RefreshToken != c.RefreshToken {
			if refresh, err = s.seal(ctx, n.RefreshToken, c.ConnectionID); err != nil {
				return expression.UpdateBuilder{}, err
			}
		}
		upd := expression.Set(expression.Name("access_token"), expression.Value(access)).
			Set(expression.Name("access_token_expires_at"), expression.Value(unix(n.AccessTokenExpiresAt))).
			Set(expression.Name("refreshed_at"), expression.Value(n.RefreshedAt.Unix())).
			Set(expression.Name("next_refresh_at"), expression.Value(n.NextRefreshAt.Unix())).
			Set(expression.Name("due_shard"), expression.Value(dueShard(c.ConnectionID))).
			Set(expression.Name("status"), expression.Value(string(StatusActive))).
			Add(expression.Name("version"), expression.Value(1))
		upd = clearLeaseAndTrouble(upd)
		if n.RefreshToken != c.RefreshToken {
			upd = upd.Set(expression.Name("refresh_token"), expression.Value(refresh)).
				Set(expression.Name("refresh_token_expires_at"), expression.Value(n.RefreshTokenExpiresAt.Unix()))
		}
		upd = setIdentity(upd, n.Identity, false)
		sealed = &upd
		return upd, nil
	}
	cond := expression.And(
		expression.AttributeExists(expression.Name("pk")),
		expression.Or(
			expression.Name("version").Equal(expression.Value(c.Revision)),
			expression.And(
				expression.Name("status").Equal(expression.Value(string(StatusReauthRequired))),
				expression.Name("reauth_from_version").Equal(expression.Value(c.Revision)),
			),
		),
	)

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	end, _ := wctx.Deadline()
	attempt := writeTimeout(budget)
	var (
		old  map[string]types.AttributeValue
		wait = 100 * time.Millisecond
	)
	for {
		actx, acancel := context.WithTimeout(wctx, attempt)
		// The attributes as they were: the revision before (ours + 1 is
		// the new one) and whether the refresh_failing mark was there.
		var upd expression.UpdateBuilder
		if upd, err = build(actx); err == nil {
			old, err = s.update(actx, c.ConnectionID, upd, cond, types.ReturnValueUpdatedOld)
		}
		acancel()
		if err == nil || isConditionFailed(err) || wctx.Err() != nil {
			break
		}
		// Keep others off the old refresh token while we try again (best
		// effort: when DynamoDB is unreachable this fails too, and the
		// condition above still protects the rotation).
		lctx, lcancel := context.WithTimeout(wctx, attempt)
		_ = s.extendLease(lctx, c, owner, leaseTTL)
		lcancel()
		t := time.NewTimer(backoffWithin(wait, end, attempt))
		select {
		case <-wctx.Done():
		case <-t.C:
		}
		t.Stop()
		if wait *= 2; wait > 10*time.Second {
			wait = 10 * time.Second
		}
	}
	if err != nil {
		if isConditionFailed(err) {
			return s.whyNotStored(wctx, c, n)
		}
		if errors.Is(err, ErrStore) { // KMS
			return nil, false, err
		}
		return nil, false, storeError("storing refreshed tokens", err)
	}
	n.Revision = revision(old) + 1
	_, recovered = old[failingAttr]
	return n, recovered, nil
}

// backoffWithin shortens wait so that one more attempt of the given length
// still fits before end: the last seconds of a retry budget are used, not
// slept through. It never returns less than a tenth of a second, so a
// store that fails fast is not hammered.
func backoffWithin(wait time.Duration, end time.Time, attempt time.Duration) time.Duration {
	if last := time.Until(end) - attempt; wait > last {
		wait = last
	}
	return max(wait, 100*time.Millisecond)
}

// writeTimeout bounds one attempt of a write that is retried within budget.
func writeTimeout(budget time.Duration) time.Duration {
	if d := budget / 4; d < 10*time.Second {
		return d
	}
	return 10 * time.Second
}

// whyNotStored says why storeRefreshed's write of n (the refresh of c) did
// not meet its condition: a deleted connection (errDeleted), one another
// writer moved on (errStale), or our own write, applied by an earlier
// attempt whose answer was lost (a connection reset the SDK retried, or an
// attempt timed out after DynamoDB took it). That last one is a success:
// the connection is active with the tokens of GoTo's answer that n holds
// (no other writer can have them, and any later token write or
// re-authorization mark would show), so its revision is our write's.
// recovered then says whether c carried the refresh_failing mark, which
// the write removed.
func (s *Store) whyNotStored(ctx context.Context, c, n *Connection) (*Connection, bool, error) {
	cur, err := s.Connection(ctx, c.ConnectionID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, false, errDeleted
	case err == nil && cur.Status == StatusActive && cur.AccessToken == n.AccessToken && cur.RefreshToken == n.RefreshToken:
		n.Revision = cur.Revision
		return n, c.failing, nil
	default:
		return nil, false, errStale
	}
}

// extendLease pushes c's lease further while owner holds it and nothing
// else was written.
func (s *Store) extendLease(ctx context.Context, c *Connection, owner string, ttl time.Duration) error {
	upd := expression.Set(expression.Name("lease_expires_at"), expression.Value(s.now().Add(ttl).Unix()))
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := s.update(actx, c.ConnectionID, upd, unchangedUnder(c, owner), types.ReturnValueNone)
	return err
}

// markReauthRequired takes a connection out of the sweep: GoTo refused its
// refresh token. The tokens stay as they were (for forensics); a new consent
// revives it, and so does a refresher that had the lease on the same
// revision and stores GoTo's answer late (see storeRefreshed). It writes only
// if nothing changed since the lease was taken, so that a refresher that
// lost a race to another one's token rotation does not kill a healthy
// connection; and it moves the revision on, so that any other late writer
// holding older state drops its result.
func (s *Store) markReauthRequired(ctx context.Context, c *Connection, owner, reason string) error {
	upd := expression.Set(expression.Name("status"), expression.Value(string(StatusReauthRequired))).
		Add(expression.Name("version"), expression.Value(1)).
		Set(expression.Name("reauth_reason"), expression.Value(reason)).
		Set(expression.Name("reauth_at"), expression.Value(s.now().Unix())).
		Set(expression.Name("reauth_from_version"), expression.Value(c.Revision)).
		Set(expression.Name(statusKeyAttr), expression.Value(string(StatusReauthRequired))).
		Remove(expression.Name("due_shard")).
		Remove(expression.Name("next_refresh_at")).
		Remove(expression.Name("lease_owner")).
		Remove(expression.Name("lease_expires_at"))
	return s.conditionalUpdate(ctx, c.ConnectionID, upd, unchangedUnder(c, owner))
}

// failingAttr marks a connection whose failures were announced with
// connection.refresh_failing (Unix seconds of the first announcement): the
// successful refresh that removes it announces connection.recovered.
const failingAttr = "refresh_failing_at"

// recordFailure notes a failed refresh that leaves the tokens untouched and
// schedules the next try at retryAt, releasing the lease. With failing, it
// also marks the connection refresh_failing (keeping the first mark's
// time).
func (s *Store) recordFailure(ctx context.Context, c *Connection, owner, code string, retryAt time.Time, failing bool) error {
	upd := expression.Set(expression.Name("last_error"), expression.Value(code)).
		Set(expression.Name("last_error_at"), expression.Value(s.now().Unix())).
		Set(expression.Name("next_refresh_at"), expression.Value(retryAt.Unix())).
		Add(expression.Name("failure_count"), expression.Value(1)).
		Remove(expression.Name("lease_owner")).
		Remove(expression.Name("lease_expires_at"))
	if failing {
		upd = upd.Set(expression.Name(failingAttr),
			expression.IfNotExists(expression.Name(failingAttr), expression.Value(s.now().Unix())))
	}
	return s.conditionalUpdate(ctx, c.ConnectionID, upd, unchangedUnder(c, owner))
}

// unchangedUnder holds while owner still holds c's lease and no tokens were
// written since it was taken.
func unchangedUnder(c *Connection, owner string) expression.ConditionBuilder {
	return expression.And(
		expression.Name("version").Equal(expression.Value(c.Revision)),
		expression.Name("lease_owner").Equal(expression.Value(owner)),
	)
}

// releaseLease gives the lease back without changing anything else.
func (s *Store) releaseLease(ctx context.Context, id, owner string) error {
	upd := expression.Remove(expression.Name("lease_owner")).Remove(expression.Name("lease_expires_at"))
	return s.conditionalUpdate(ctx, id, upd, expression.Name("lease_owner").Equal(expression.Value(owner)))
}

// conditionalUpdate applies upd if cond holds, whatever ctx's deadline (it
// releases leases and records outcomes that must not be lost), within
// leaseWriteBudget; errStale when cond does not hold.
func (s *Store) conditionalUpdate(ctx context.Context, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseWriteBudget)
	defer cancel()
	_, err := s.update(wctx, id, upd, cond, types.ReturnValueNone)
	if isConditionFailed(err) {
		return errStale
	}
	if err != nil {
		return storeError("updating the connection", err)
	}
	return nil
}
