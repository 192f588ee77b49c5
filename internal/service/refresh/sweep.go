// Package sweep is the refresh function's logic: the scheduled sweep of
// every due connection, and manual refreshes of named connections, with
// bounded concurrency, one rate limit for the whole sweep, and a stop
// before the Lambda deadline that leaves nothing half-done.
package refresh

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Defaults of Sweeper.
const (
	DefaultConcurrency = 16
	// DefaultReserve is how long before the deadline a sweep stops taking
	// new work: enough for a provider call (10s timeout) and storing its
	// answer (up to 20s with retries).
	DefaultReserve = 35 * time.Second
)

// Sweeper runs refreshes.
type Sweeper struct {
	Refresher *gotoauth.Refresher
	// Concurrency bounds refreshes in flight; zero means DefaultConcurrency.
	Concurrency int
	// Reserve is how long before the context's deadline no new refresh is
	// started; zero means DefaultReserve.
	Reserve time.Duration
	Logger  *slog.Logger
	// Metrics receives the one JSON line per run (CloudWatch Embedded
	// Metric Format); os.Stdout in Lambda. Nil writes none.
	Metrics io.Writer
}

// Summary is the refresh function's answer.
type Summary struct {
	// Due is how many connections were found due (or were named).
	Due int `json:"due"`
	// Refreshed got new tokens.
	Refreshed int `json:"refreshed"`
	// ReauthRequired were refused by GoTo for good and left the sweep.
	ReauthRequired int `json:"reauth_required"`
	// Failed had a transient or configuration failure; tokens untouched,
	// retried later.
	Failed int `json:"failed"`
	// ConfigErrors is how many of Failed were the connector's own
	// configuration (invalid_client, a decommissioned endpoint).
	ConfigErrors int `json:"config_errors"`
	// Skipped were being refreshed by someone else, were refreshed
	// meanwhile, need re-authorization already, or do not exist.
	Skipped int `json:"skipped"`
	// Deferred were due but left for the next run, to finish before the
	// deadline.
	Deferred int `json:"deferred"`
	// DurationMS is the run's wall time.
	DurationMS int64 `json:"duration_ms"`
	// Errors lists, per failed connection, the secret-free error code.
	Errors map[string]string `json:"errors,omitempty"`
}

// Sweep refreshes every connection due now.
func (s *Sweeper) Sweep(ctx context.Context) (Summary, error) {
	start := time.Now()
	findCtx, stopFinding := context.WithCancel(ctx)
	defer stopFinding()
	ids := make(chan string)
	var findErr error
	go func() {
		defer close(ids)
		findErr = s.Refresher.Store.DueConnections(findCtx, s.Refresher.Store.Now(), func(id string) bool {
			select {
			case ids <- id:
				return true
			case <-findCtx.Done():
				return false
			}
		})
	}()
	sum := s.run(ctx, ids, false, stopFinding)
	sum.DurationMS = time.Since(start).Milliseconds()
	if findErr != nil && !errors.Is(findErr, context.Canceled) && findCtx.Err() == nil {
		return sum, findErr
	}
	return sum, nil
}

// RefreshIDs refreshes the named connections now when force is set, or
// those of them that are due.
func (s *Sweeper) RefreshIDs(ctx context.Context, connectionIDs []string, force bool) Summary {
	start := time.Now()
	ids := make(chan string)
	go func() {
		defer close(ids)
		for _, id := range connectionIDs {
			select {
			case ids <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	sum := s.run(ctx, ids, force, func() {})
	sum.DurationMS = time.Since(start).Milliseconds()
	return sum
}

// run refreshes the ids it receives with bounded concurrency until they run
// out or the deadline nears; then it calls stop, and what still arrives is
// counted as deferred.
func (s *Sweeper) run(ctx context.Context, ids <-chan string, force bool, stop func()) Summary {
	workers := s.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	reserve := s.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	// New refreshes start only under take, which ends reserve before the
	// deadline; one that started runs to its end (the Refresher sees to it).
	take := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		take, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	stopping := func() bool { return take.Err() != nil }

	var (
		mu  sync.Mutex
		sum Summary
		wg  sync.WaitGroup
	)
	record := func(id string, res gotoauth.Result) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(res.Err, gotoauth.ErrNotStarted):
			sum.Deferred++
			return
		}
		switch res.Outcome {
		case gotoauth.Refreshed:
			sum.Refreshed++
		case gotoauth.ReauthRequired:
			sum.ReauthRequired++
		case gotoauth.Failed:
			sum.Failed++
			if res.Class == gotoauth.Configuration {
				sum.ConfigErrors++
			}
		default:
			sum.Skipped++
		}
		if res.Outcome == gotoauth.Failed || res.Outcome == gotoauth.ReauthRequired {
			if sum.Errors == nil {
				sum.Errors = map[string]string{}
			}
			if len(sum.Errors) < 100 {
				sum.Errors[id] = gotoauth.ErrorCode(res.Err)
			}
		}
		s.log(id, res)
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				mu.Lock()
				sum.Due++
				mu.Unlock()
				if stopping() {
					stop()
					mu.Lock()
					sum.Deferred++
					mu.Unlock()
					continue
				}
				record(id, s.Refresher.Refresh(take, id, force))
			}
		}()
	}
	wg.Wait()
	return sum
}

func (s *Sweeper) log(id string, res gotoauth.Result) {
	if s.Logger == nil {
		return
	}
	switch {
	case res.Outcome == gotoauth.ReauthRequired:
		s.Logger.Warn("connection needs re-authorization", "connection_id", id, "error_code", gotoauth.ErrorCode(res.Err))
	case res.Outcome == gotoauth.Failed && res.Class == gotoauth.Configuration:
		s.Logger.Error("refresh failed: connector configuration error, an operator must act", "connection_id", id, "error_code", gotoauth.ErrorCode(res.Err), "error", res.Err.Error())
	case res.Outcome == gotoauth.Failed:
		s.Logger.Warn("refresh failed, will retry", "connection_id", id, "error_code", gotoauth.ErrorCode(res.Err))
	case res.Outcome == gotoauth.Skipped && !errors.Is(res.Err, gotoauth.ErrLeaseHeld) && !errors.Is(res.Err, gotoauth.ErrNotNeeded):
		s.Logger.Info("connection skipped", "connection_id", id, "reason", res.Err.Error())
	}
}
