package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Lease errors: why a refresher did not get a connection.
var (
	// ErrLeaseHeld: another refresher holds the connection's lease.
	ErrLeaseHeld = errors.New("gotoauth: another refresher holds the connection")
	// ErrNotNeeded: the connection needs no refresh any more (another
	// refresher just did it).
	ErrNotNeeded = errors.New("gotoauth: the connection needs no refresh now")
)

// need says when a lease is worth taking.
type need struct {
	force         bool      // refresh whatever the times say
	dueBy         time.Time // next_refresh_at <= dueBy
	accessExpires time.Time // or: access_token_expires_at <= accessExpires
}

// acquireLease takes the refresh lease of connection id for owner, with a
// conditional write: only an active connection, only if no unexpired lease
// is held, and only if it still needs the refresh. It returns the
// connection as stored at that moment, so the refresh uses the newest
// refresh token.
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
		c, derr := s.decode(attrs)
		if derr != nil {
			// The lease is ours but the tokens are unreadable (a token
			// key missing here): give it back and report.
			_ = s.releaseLease(ctx, id, owner)
			return nil, derr
		}
		return c, nil
	}
	if !isConditionFailed(err) {
		return nil, fmt.Errorf("gotoauth: taking the refresh lease: %w", err)
	}
	// Why not? Read it to say.
	c, err := s.Connection(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case c.Status != StatusActive:
		return c, fmt.Errorf("%w (%s)", ErrReauthRequired, c.ReauthReason)
	case c.leaseOwner != "" && !c.leaseExpiresAt.Before(time.Unix(now.Unix(), 0)):
		return c, ErrLeaseHeld
	default:
		return c, ErrNotNeeded
	}
}

// storeRefreshed writes the tokens of a successful refresh and releases the
// lease. It writes only if no other token write happened since the lease
// was taken (same version). A new refresh token replaces the old one and
// restarts its lifetime; without one, the old one and its expiry stay.
func (s *Store) storeRefreshed(ctx context.Context, c *Connection, tok *Token) (*Connection, error) {
	now := s.now()
	n := *c
	n.AccessToken, n.AccessTokenExpiresAt, n.RefreshedAt = tok.AccessToken, tok.Expiry, now
	if tok.RefreshToken != "" {
		n.RefreshToken, n.RefreshTokenExpiresAt = tok.RefreshToken, s.schedule.RefreshTokenExpiry(now)
	}
	n.NextRefreshAt = s.schedule.Next(now, n.AccessTokenExpiresAt, n.RefreshTokenExpiresAt)
	n.FailureCount, n.LastError, n.leaseOwner, n.leaseExpiresAt = 0, "", "", time.Time{}

	upd := expression.Set(expression.Name("access_token"), expression.Value(s.seal(n.AccessToken, c.ConnectionID))).
		Set(expression.Name("access_token_expires_at"), expression.Value(unix(n.AccessTokenExpiresAt))).
		Set(expression.Name("refreshed_at"), expression.Value(now.Unix())).
		Set(expression.Name("next_refresh_at"), expression.Value(n.NextRefreshAt.Unix())).
		Set(expression.Name("due_shard"), expression.Value(dueShard(c.ConnectionID))).
		Add(expression.Name("version"), expression.Value(1)).
		Remove(expression.Name("lease_owner")).
		Remove(expression.Name("lease_expires_at")).
		Remove(expression.Name("failure_count")).
		Remove(expression.Name("last_error")).
		Remove(expression.Name("last_error_at"))
	if tok.RefreshToken != "" {
		upd = upd.Set(expression.Name("refresh_token"), expression.Value(s.seal(n.RefreshToken, c.ConnectionID))).
			Set(expression.Name("refresh_token_expires_at"), expression.Value(n.RefreshTokenExpiresAt.Unix()))
	}
	// Identity fields that arrived again are kept up to date.
	upd = setIdentity(upd, tok, false)
	cond := expression.Name("version").Equal(expression.Value(c.Version))
	// The answer of a refresh may hold the only valid refresh token left:
	// try hard to store it, even when the caller's context is done.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBudget)
	defer cancel()
	var attrs map[string]types.AttributeValue
	var err error
	for attempt, wait := 0, 100*time.Millisecond; ; attempt, wait = attempt+1, wait*2 {
		attrs, err = s.update(wctx, c.ConnectionID, upd, cond, types.ReturnValueUpdatedNew)
		if err == nil || isConditionFailed(err) || attempt == 5 || wctx.Err() != nil {
			break
		}
		time.Sleep(wait)
	}
	if err != nil {
		if isConditionFailed(err) {
			return nil, errors.New("gotoauth: the connection was reconnected while it was being refreshed; the refresh result is dropped")
		}
		return nil, fmt.Errorf("gotoauth: storing refreshed tokens: %w", err)
	}
	n.Version = numberAttr(attrs, "version")
	return &n, nil
}

// markReauthRequired takes a connection out of the sweep for good: GoTo
// refused its refresh token. The tokens stay as they were (for forensics);
// only a new consent revives it. It writes only if nothing changed since the
// lease was taken, so that a refresher that lost a race to another one's
// token rotation does not kill a healthy connection; and it moves the
// version on, so that a late writer holding older state drops its result.
func (s *Store) markReauthRequired(ctx context.Context, c *Connection, owner, reason string) error {
	upd := expression.Set(expression.Name("status"), expression.Value(string(StatusReauthRequired))).
		Add(expression.Name("version"), expression.Value(1)).
		Set(expression.Name("reauth_reason"), expression.Value(reason)).
		Set(expression.Name("reauth_at"), expression.Value(s.now().Unix())).
		Remove(expression.Name("due_shard")).
		Remove(expression.Name("next_refresh_at")).
		Remove(expression.Name("lease_owner")).
		Remove(expression.Name("lease_expires_at"))
	return s.conditionalUpdate(ctx, c.ConnectionID, upd, unchangedUnder(c, owner))
}

// recordFailure notes a failed refresh that leaves the tokens untouched and
// schedules the next try at retryAt, releasing the lease.
func (s *Store) recordFailure(ctx context.Context, c *Connection, owner, code string, retryAt time.Time) error {
	upd := expression.Set(expression.Name("last_error"), expression.Value(code)).
		Set(expression.Name("last_error_at"), expression.Value(s.now().Unix())).
		Set(expression.Name("next_refresh_at"), expression.Value(retryAt.Unix())).
		Add(expression.Name("failure_count"), expression.Value(1)).
		Remove(expression.Name("lease_owner")).
		Remove(expression.Name("lease_expires_at"))
	return s.conditionalUpdate(ctx, c.ConnectionID, upd, unchangedUnder(c, owner))
}

// unchangedUnder holds while owner still holds c's lease and no tokens were
// written since it was taken.
func unchangedUnder(c *Connection, owner string) expression.ConditionBuilder {
	return expression.And(
		expression.Name("version").Equal(expression.Value(c.Version)),
		expression.Name("lease_owner").Equal(expression.Value(owner)),
	)
}

// releaseLease gives the lease back without changing anything else.
func (s *Store) releaseLease(ctx context.Context, id, owner string) error {
	upd := expression.Remove(expression.Name("lease_owner")).Remove(expression.Name("lease_expires_at"))
	return s.conditionalUpdate(ctx, id, upd, expression.Name("lease_owner").Equal(expression.Value(owner)))
}

// conditionalUpdate applies upd if cond holds, whatever ctx's deadline (it
// releases leases and records outcomes that must not be lost); errStale
// when cond does not hold.
func (s *Store) conditionalUpdate(ctx context.Context, id string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBudget)
	defer cancel()
	_, err := s.update(wctx, id, upd, cond, types.ReturnValueNone)
	if isConditionFailed(err) {
		return errStale
	}
	return err
}

// storeBudget bounds how long storing a refresh's answer may take, retries
// included. A lease must outlast the provider call plus this.
const storeBudget = 20 * time.Second

// errStale: the connection changed under the writer (a newer write won).
var errStale = errors.New("gotoauth: the connection changed meanwhile")

// DueConnections calls fn with the id of every active connection whose next
// refresh is due at now, read from the due index (never a table scan), all
// shards in parallel. It stops early when fn returns false or ctx is done.
func (s *Store) DueConnections(ctx context.Context, now time.Time, fn func(id string) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, DueShards)
	ids := make(chan string)
	for shard := 0; shard < DueShards; shard++ {
		go func(shard string) {
			errs <- s.queryDue(ctx, shard, now, ids)
		}(fmt.Sprintf("due#%02d", shard))
	}
	var firstErr error
	for running := DueShards; running > 0; {
		select {
		case id := <-ids:
			if !fn(id) {
				cancel()
			}
		case err := <-errs:
			running--
			if err != nil && firstErr == nil && ctx.Err() == nil {
				firstErr = err
				cancel()
			}
		}
	}
	if firstErr == nil && ctx.Err() != nil && context.Cause(ctx) != context.Canceled {
		firstErr = ctx.Err()
	}
	return firstErr
}

func (s *Store) queryDue(ctx context.Context, shard string, now time.Time, ids chan<- string) error {
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		IndexName:              aws.String(DueIndex),
		KeyConditionExpression: aws.String("due_shard = :s AND next_refresh_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":   &types.AttributeValueMemberS{Value: shard},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("gotoauth: reading the due index: %w", err)
		}
		for _, item := range page.Items {
			pk, _ := item["pk"].(*types.AttributeValueMemberS)
			if pk == nil || len(pk.Value) <= len("conn#") {
				continue
			}
			select {
			case ids <- pk.Value[len("conn#"):]:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

// DueIndex is the name of the global secondary index of due connections.
const DueIndex = "due"
