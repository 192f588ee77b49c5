// Package tuning holds the knobs of pkg/gotoauth that only the connector's
// own code sets: the functions (the Lambda's cache, the refresh schedule's
// clock) and the tests (short waits and budgets, a fixed clock, a
// limiter to count with). A backend keeps the defaults, so these are not
// part of the public API: TokenSource.Tune and Store.Tune take functions
// of this package's types, which only code inside this module can name.
package tuning

import (
	"context"
	"time"
)

// TokenSource are a gotoauth.TokenSource's knobs. Tune shows each function
// the values in force, and checks what they leave.
type TokenSource struct {
	// Margin: how long before its expiry an access token is replaced
	// (default 5 minutes). TokenSource.ConnectionValidFor asks for more
	// per call.
	Margin time.Duration
	// StoreRetryBudget: how long the answer of a refresh is retried
	// against the store before the refresh counts as StoreFailed
	// (default 4 minutes).
	StoreRetryBudget time.Duration
	// RetryBase and RetryMax shape the schedule after transient refresh
	// failures: RetryBase * 2^(failures-1), at most RetryMax, at least
	// GoTo's Retry-After (defaults 1 minute and 1 hour).
	RetryBase, RetryMax time.Duration
	// PollInterval: how often a caller waiting for another process's
	// refresh reads the connection again (default 100ms).
	PollInterval time.Duration
	// Limiter paces calls to GoTo; nil: none, or WithRateLimit's.
	Limiter Limiter
}

// Limiter paces calls to GoTo's token endpoint (a *rate.Limiter from
// golang.org/x/time/rate is one).
type Limiter interface {
	// Wait blocks until a call may go out, or ctx ends.
	Wait(ctx context.Context) error
}

// Store are a gotoauth.Store's knobs.
type Store struct {
	// Now is the clock expiries, leases and schedules are judged by
	// (default time.Now). Tests move it.
	Now func() time.Time
}

// Clock sets the store's clock.
func Clock(now func() time.Time) func(*Store) { return func(s *Store) { s.Now = now } }

// Margin sets TokenSource.Margin.
func Margin(d time.Duration) func(*TokenSource) { return func(t *TokenSource) { t.Margin = d } }

// StoreRetryBudget sets TokenSource.StoreRetryBudget.
func StoreRetryBudget(d time.Duration) func(*TokenSource) {
	return func(t *TokenSource) { t.StoreRetryBudget = d }
}

// RetryBackoff sets TokenSource.RetryBase and RetryMax.
func RetryBackoff(base, max time.Duration) func(*TokenSource) {
	return func(t *TokenSource) { t.RetryBase, t.RetryMax = base, max }
}

// PollInterval sets TokenSource.PollInterval.
func PollInterval(d time.Duration) func(*TokenSource) {
	return func(t *TokenSource) { t.PollInterval = d }
}

// WithLimiter sets TokenSource.Limiter.
func WithLimiter(l Limiter) func(*TokenSource) { return func(t *TokenSource) { t.Limiter = l } }

// Defaults of gotoauth.Schedule's fields (REFRESH_INTERVAL and
// REFRESH_TOKEN_LIFETIME when unset).
const (
	DefaultRefreshInterval      = 24 * time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
)

// MaxListLimit is the most connections one Store.ListConnections page
// holds (the Connections API's limit).
const MaxListLimit = 1000
