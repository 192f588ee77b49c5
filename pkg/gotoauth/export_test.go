package gotoauth

import (
	"context"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
)

// NewSharedLimiter exposes the table-backed rate limiter to this package's
// tests.
func NewSharedLimiter(store *Store, name string, rate float64) tuning.Limiter {
	return &sharedLimiter{store: store, name: name, rate: rate}
}

// SweepConcurrency exposes the sweep's sizing to this package's tests.
func SweepConcurrency(rate float64) int { return sweepConcurrency(rate) }

// The knobs of internal/tuning, as options, for this package's tests.

// WithClock sets the store's clock.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// WithMargin sets tuning.TokenSource.Margin.
func WithMargin(d time.Duration) Option { return func(ts *TokenSource) { ts.margin = d } }

// WithLimiter sets tuning.TokenSource.Limiter.
func WithLimiter(l tuning.Limiter) Option { return func(ts *TokenSource) { ts.limiter = l } }

// WithStoreRetryBudget sets tuning.TokenSource.StoreRetryBudget.
func WithStoreRetryBudget(d time.Duration) Option { return func(ts *TokenSource) { ts.storeRetry = d } }

// WithPollInterval sets tuning.TokenSource.PollInterval.
func WithPollInterval(d time.Duration) Option { return func(ts *TokenSource) { ts.poll = d } }

// DueIDs is what the scheduled sweep reads of the due index at now: the
// first n due connections, in the order it reads them.
func DueIDs(s *Store, now time.Time, n int) ([]string, error) {
	var ids []string
	err := s.dueConnections(context.Background(), now, n, func(d schedule.Due) bool {
		ids = append(ids, d.ID)
		return len(ids) < n
	})
	return ids, err
}

// DueShard is connection id's shard of the due index.
func DueShard(id string) string { return dueShard(id) }
