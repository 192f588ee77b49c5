package gotoauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"golang.org/x/sync/singleflight"
)

// defaultMargin is how long before its expiry TokenSource replaces an
// access token.
const defaultMargin = 5 * time.Minute

// TokenSource gives a SaaS backend a valid access token for a connection
// whenever it calls a GoTo API, and keeps connections alive. Build it with
// NewTokenSource; it is safe for concurrent use.
//
// A token that expires within the margin is refreshed on demand through the
// connection's lease in the table (a conditional write), the same lease the
// scheduled sweep takes, so no two refreshers anywhere use one refresh token
// at once. Inside one process, concurrent callers for a connection share one
// refresh; a caller that finds another process refreshing waits for its
// result with plain reads. Tokens are kept in a bounded in-process cache, so
// a hot connection costs no DynamoDB call while its token is fresh.
//
// Once GoTo has answered a refresh, its answer is kept: the store is retried
// for up to the store retry budget (4 minutes) and the new
// access token is handed to the caller meanwhile. A store that finally fails
// is logged at ERROR and reported as StoreFailed.
//
// Errors: see Classify. errors.Is(err, ErrReauthRequired) means the
// customer must connect again; errors.Is(err, ErrNotFound) that there is no
// such connection; Classify(err) == Transient that trying again later is right.
type TokenSource struct {
	store   *Store
	client  *Client
	limiter tuning.Limiter
	owner   string
	logger  *slog.Logger
	audit   *slog.Logger // WithAudit: one record per token released; nil: none
	events  EventSink

	rate                float64 // WithRateLimit's calls per second, 0 without
	margin              time.Duration
	storeRetry          time.Duration
	retryBase, retryMax time.Duration
	poll                time.Duration
	cache               *tokenCache

	group       singleflight.Group
	pausedUntil atomic.Int64 // Unix nanoseconds by the store's clock; GoTo's last Retry-After

	inflight sync.WaitGroup // refreshes under way, stores included (Drain)

	mu       sync.Mutex
	unstored map[string]chan struct{} // connections whose refreshed tokens are being stored now
	pending  map[string]pendingStore  // GoTo answers whose store failed: stored again at the next touch
}

// pendingStore is a refresh answer that could not be stored yet: next is
// the state to write, prev the state its lease was taken on, owner that
// lease's token.
type pendingStore struct {
	owner      string
	prev, next *Connection
}

// Option configures a TokenSource.
type Option func(*TokenSource)

// WithRateLimit holds calls to GoTo's token endpoint under perSecond, for
// this process and, through a per-second window item in the table, for
// every refresher sharing the table and the OAuth client id: the scheduled
// sweep and every backend together (REFRESH_RATE_LIMIT). Only a refresher
// that holds a connection's lease takes a slot; callers waiting for another
// refresher's result take none.
func WithRateLimit(perSecond float64) Option {
	return func(ts *TokenSource) { ts.limiter = rateLimit{perSecond: perSecond} }
}

// WithLogger sets where refresh failures are logged (never a token);
// slog.Default() when unset.
func WithLogger(l *slog.Logger) Option { return func(ts *TokenSource) { ts.logger = l } }

// WithEvents publishes the lifecycle events the token source causes
// (connection.reauth_required, connection.refresh_failing,
// connection.recovered) to sink.
func WithEvents(sink EventSink) Option { return func(ts *TokenSource) { ts.events = sink } }

// WithAudit writes one audit record to l for every access token the token
// source hands to its caller (AccessToken, Connection, ConnectionValidFor),
// the record the Connections API writes for its callers: the message
// "audit: token_released" with "audit": "token_released", connection_id,
// refreshed (whether this call refreshed the token) and expires_at; never
// the token. It is logged with the caller's context, so a handler that adds
// request-scoped attributes from the context (your caller's identity, a
// trace id) adds them to the record. Tokens the Transport (Client) puts on
// requests stay inside the HTTP client and are not recorded.
func WithAudit(l *slog.Logger) Option { return func(ts *TokenSource) { ts.audit = l } }

// WithCacheSize bounds the in-process token cache to n connections
// (default 10,000; 0 turns the cache off, for a process that must see a
// disconnect or another process's refresh at its next call).
func WithCacheSize(n int) Option { return func(ts *TokenSource) { ts.cache = newTokenCache(n) } }

// NewTokenSource returns a token source for the connections in store,
// refreshing them with client. It fails when either is missing or was not
// built properly.
func NewTokenSource(store *Store, client *Client, opts ...Option) (*TokenSource, error) {
	if err := store.check(); err != nil {
		return nil, err
	}
	if client == nil || client.ClientID == "" {
		return nil, fmt.Errorf("%w: NewTokenSource needs a Client with a ClientID", ErrNotConfigured)
	}
	ts := &TokenSource{
		store: store, client: client, owner: newOwnerID(),
		margin: defaultMargin, storeRetry: defaultStoreRetryBudget,
		retryBase: time.Minute, retryMax: time.Hour, poll: 100 * time.Millisecond,
		cache:    newTokenCache(10000),
		unstored: map[string]chan struct{}{},
		pending:  map[string]pendingStore{},
	}
	for _, o := range opts {
		o(ts)
	}
	if rl, ok := ts.limiter.(rateLimit); ok {
		if rl.perSecond <= 0 {
			return nil, fmt.Errorf("%w: WithRateLimit needs a positive rate", ErrNotConfigured)
		}
		ts.limiter = newRateLimit(store, client.ClientID, rl.perSecond)
		ts.rate = rl.perSecond
	}
	if ts.logger == nil {
		ts.logger = slog.Default()
	}
	return ts, nil
}

// Tune changes knobs that only the connector's own code sets (its
// functions and tests; see internal/tuning): each f sees the values in
// force and changes what it wants. Call it after NewTokenSource and before
// the first use. It fails, changing nothing, when a duration is not
// positive or the backoff's max is below its base.
func (ts *TokenSource) Tune(fs ...func(*tuning.TokenSource)) error {
	k := tuning.TokenSource{
		Margin: ts.margin, StoreRetryBudget: ts.storeRetry,
		RetryBase: ts.retryBase, RetryMax: ts.retryMax, PollInterval: ts.poll, Limiter: ts.limiter,
	}
	for _, f := range fs {
		f(&k)
	}
	if k.Margin <= 0 || k.StoreRetryBudget <= 0 || k.RetryBase <= 0 || k.RetryMax < k.RetryBase || k.PollInterval <= 0 {
		return fmt.Errorf("%w: tuned durations must be positive (and the backoff's max at least its base)", ErrNotConfigured)
	}
	ts.margin, ts.storeRetry, ts.retryBase, ts.retryMax, ts.poll, ts.limiter = k.Margin, k.StoreRetryBudget, k.RetryBase, k.RetryMax, k.PollInterval, k.Limiter
	return nil
}

func (ts *TokenSource) check() error {
	if ts == nil || ts.store == nil {
		return fmt.Errorf("%w: use NewTokenSource to build a TokenSource", ErrNotConfigured)
	}
	return nil
}

// AccessToken returns an access token of connection id that is valid for at
// least the margin.
func (ts *TokenSource) AccessToken(ctx context.Context, id string) (string, error) {
	c, err := ts.Connection(ctx, id)
	if err != nil {
		return "", err
	}
	return c.AccessToken, nil
}

// Connection returns connection id with an access token valid for at least
// the margin, refreshing it first if needed.
func (ts *TokenSource) Connection(ctx context.Context, id string) (*Connection, error) {
	if err := ts.check(); err != nil {
		return nil, err
	}
	return ts.ConnectionValidFor(ctx, id, ts.margin)
}

// ConnectionValidFor returns connection id with an access token valid for
// at least minValid, refreshing it first if needed. minValid must stay well
// under GoTo's access token life (an hour).
func (ts *TokenSource) ConnectionValidFor(ctx context.Context, id string, minValid time.Duration) (*Connection, error) {
	if err := ts.check(); err != nil {
		return nil, err
	}
	asked := ts.store.now()
	c, refreshing, err := ts.connectionValidFor(ctx, id, minValid)
	if err == nil && ts.audit != nil {
		ts.auditRelease(ctx, c, refreshing && !c.RefreshedAt.Before(asked.Truncate(time.Second)))
	}
	return c, err
}

// connectionValidFor is ConnectionValidFor without the audit record (the
// Transport's path: its token never leaves the HTTP client); refreshing
// says whether it went through a refresh (its own, or one it waited for).
func (ts *TokenSource) connectionValidFor(ctx context.Context, id string, minValid time.Duration) (c *Connection, refreshing bool, err error) {
	if c := ts.cache.get(id); c != nil && ts.validFor(c, minValid) {
		return c, false, nil
	}
	if c, err := ts.current(ctx, id, minValid); c != nil || err != nil {
		return c, false, err
	}
	ch := ts.group.DoChan(id, func() (any, error) {
		// Shared by every caller in this process: not bound to the first
		// caller's cancellation.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*ts.leaseTTL())
		defer cancel()
		return ts.refreshOnDemand(fctx, id, minValid)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, true, res.Err
		}
		return res.Val.(*Connection), true, nil
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}

func (ts *TokenSource) validFor(c *Connection, d time.Duration) bool {
	return c.AccessTokenExpiresAt.After(ts.store.now().Add(d))
}

// current reads connection id (one strongly consistent GetItem) and returns
// it if its access token is valid for minValid; (nil, nil) when it needs a
// refresh; an error when it cannot be used.
func (ts *TokenSource) current(ctx context.Context, id string, minValid time.Duration) (*Connection, error) {
	c, err := ts.store.Connection(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			ts.cache.drop(id)
		}
		return nil, err
	}
	if c.Status != StatusActive {
		ts.cache.drop(id)
		return nil, reauthError(c.ReauthReason, nil)
	}
	if !ts.validFor(c, minValid) {
		return nil, nil
	}
	ts.cache.put(c)
	return c, nil
}

// reauthError is ErrReauthRequired with GoTo's reason and cause.
func reauthError(reason string, cause error) error {
	if reason == "" {
		reason = "unknown"
	}
	if cause != nil {
		return fmt.Errorf("%w (%s): %w", ErrReauthRequired, reason, cause)
	}
	return fmt.Errorf("%w (%s)", ErrReauthRequired, reason)
}

// refreshOnDemand refreshes under the lease, or waits for whoever holds it.
func (ts *TokenSource) refreshOnDemand(ctx context.Context, id string, minValid time.Duration) (*Connection, error) {
	for {
		res := ts.refreshHandingOff(ctx, id, need{accessExpires: ts.store.now().Add(minValid)})
		switch {
		case res.Outcome == sweep.Refreshed || res.Outcome == sweep.StoreFailed && res.Connection != nil:
			return res.Connection, nil
		case res.Outcome == sweep.ReauthRequired || errors.Is(res.Err, ErrReauthRequired):
			ts.cache.drop(id)
			return nil, reauthError(res.Connection.reason(), res.Err)
		case errors.Is(res.Err, ErrNotFound):
			ts.cache.drop(id)
			return nil, res.Err
		case errors.Is(res.Err, errNotNeeded):
			// Another refresher just did it.
			if res.Connection != nil && ts.validFor(res.Connection, minValid) {
				ts.cache.put(res.Connection)
				return res.Connection, nil
			}
		case errors.Is(res.Err, errLeaseHeld), errors.Is(res.Err, errStale):
			// Another process is refreshing, or just wrote new tokens:
			// look again, with plain reads (no rate slot).
		case res.Outcome == sweep.Deferred:
			return nil, res.Err
		default:
			// A failed refresh: a token that is still valid (if within the
			// margin) is better than an error.
			if res.Connection != nil && res.Connection.AccessTokenExpiresAt.After(ts.store.now()) {
				return res.Connection, nil
			}
			return nil, res.Err
		}
		t := time.NewTimer(ts.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("gotoauth: waiting for another refresher: %w", ctx.Err())
		case <-t.C:
		}
		if c, err := ts.current(ctx, id, minValid); c != nil || err != nil {
			return c, err
		}
	}
}

// reason is the re-authorization reason of c, "" for nil.
func (c *Connection) reason() string {
	if c == nil {
		return ""
	}
	return c.ReauthReason
}

// Drain waits until every refresh this TokenSource has started has stored
// GoTo's answer (or given up), or ctx ends. Call it on SIGTERM before the
// process exits: a process killed between GoTo's answer and the store loses
// a rotated refresh token. Refreshes that start meanwhile are waited for too.
func (ts *TokenSource) Drain(ctx context.Context) error {
	if err := ts.check(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		ts.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newOwnerID returns a fresh, random id of a refresher process.
func newOwnerID() string { return "refresher-" + oauth.RandomString(9) }

// leaseToken returns the lease owner of one acquisition: the process's id
// and a random nonce, so that a refresh tells its own lease from one any
// other refresh holds, in this process too (see acquireLease). It is the
// item's lease_owner.
func (ts *TokenSource) leaseToken() string { return ts.owner + "." + oauth.RandomString(6) }
