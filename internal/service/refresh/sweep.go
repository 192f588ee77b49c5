// Package refresh is the refresh function: the scheduled sweep of every due
// connection and manual refreshes of named ones (gotoauth.TokenSource.Sweep
// does the work), one JSON log line per run in CloudWatch Embedded Metric
// Format, and loud logs for what an operator must act on.
package refresh

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Summary is the refresh function's answer (README: due, refreshed,
// reauth_required, failed, skipped, and more).
type Summary = sweep.Summary

// DefaultConcurrency is how many refreshes a sweep runs at once.
const DefaultConcurrency = sweep.DefaultConcurrency

// Sweeper runs the refresh function's work.
type Sweeper struct {
	Source *gotoauth.TokenSource
	// Concurrency bounds refreshes in flight; zero means DefaultConcurrency.
	Concurrency int
	Logger      *slog.Logger
	// Metrics receives the one JSON line per run (CloudWatch Embedded
	// Metric Format); os.Stdout in Lambda. Nil writes none.
	Metrics io.Writer
	// RotatedClient, when set, is asked after GoTo refused the client
	// secret (invalid_client) for a token source built with a newer one;
	// nil when the secret has not changed.
	RotatedClient func(ctx context.Context) *gotoauth.TokenSource

	mu        sync.Mutex
	latencies []float64 // GoTo's latency of this run's refreshes, ms (at most maxLatencySamples)
}

// maxLatencySamples is how many values one Embedded Metric Format metric
// may carry.
const maxLatencySamples = 100

// Sweep refreshes every connection due now.
func (s *Sweeper) Sweep(ctx context.Context) (Summary, error) {
	return s.Source.Sweep(ctx, sweep.Options{Concurrency: s.Concurrency, OnResult: s.log})
}

// RefreshIDs refreshes the named connections now when force is set, or
// those of them that are due.
func (s *Sweeper) RefreshIDs(ctx context.Context, ids []string, force bool) Summary {
	sum, _ := s.Source.Sweep(ctx, sweep.Options{IDs: ids, Force: force, Concurrency: s.Concurrency, OnResult: s.log})
	return sum
}

// log writes one line for a refresh worth a line: never a token.
func (s *Sweeper) log(res sweep.Result) {
	if res.ProviderLatency > 0 {
		s.mu.Lock()
		if len(s.latencies) < maxLatencySamples {
			s.latencies = append(s.latencies, float64(res.ProviderLatency.Microseconds())/1000)
		}
		s.mu.Unlock()
	}
	if s.Logger == nil {
		return
	}
	id, code := res.ConnectionID, gotoauth.ErrorCode(res.Err)
	switch {
	case res.Outcome == sweep.ReauthRequired:
		s.Logger.Warn("connection needs re-authorization", "connection_id", id, "error_code", code)
	case res.Outcome == sweep.StoreFailed:
		// TokenSource logged the ERROR with its details; the summary counts it.
	case res.Outcome == sweep.Failed && res.Class == gotoauth.Configuration.String():
		s.Logger.Error("refresh failed: connector configuration error, an operator must act", "connection_id", id, "error_code", code, "error", res.Err.Error())
	case res.Outcome == sweep.Failed && errors.Is(res.Err, gotoauth.ErrLimiter):
		// TokenSource logged the ERROR; the summary counts it (LimiterErrors).
	case res.Outcome == sweep.Failed:
		s.Logger.Warn("refresh failed, will retry", "connection_id", id, "error_code", code)
	case res.Outcome == sweep.Skipped && res.Class != gotoauth.Transient.String():
		s.Logger.Info("connection skipped", "connection_id", id, "reason", code)
	}
}
