package gotoauth

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// DefaultSweepConcurrency is how many refreshes a sweep runs at once, at
// least. With WithRateLimit, Sweep sizes its concurrency from the limit by
// Little's law: enough refreshes in flight to keep the limit busy when one
// refresh takes refreshLatency (GoTo at 300 ms plus the DynamoDB writes),
// max(16, limit × 0.5 s), at most maxSweepConcurrency: 16 at GoTo's default
// 10/s, 100 at 200/s.
const DefaultSweepConcurrency = 16

// Sizing the sweep's concurrency from the rate limit.
const (
	refreshLatency      = 500 * time.Millisecond
	maxSweepConcurrency = 256
)

// sweepConcurrency is the sweep's concurrency at rate calls per second (0:
// no limit known).
func sweepConcurrency(rate float64) int {
	n := int(math.Ceil(rate * refreshLatency.Seconds()))
	return min(max(n, DefaultSweepConcurrency), maxSweepConcurrency)
}

// SweepOptions shape one Sweep.
type SweepOptions struct {
	// IDs, when set, are the connections to refresh (those of them that are
	// due, or all of them with Force); nil sweeps every due connection,
	// found through the due index (never a table scan).
	IDs   []string
	Force bool
	// Concurrency bounds refreshes in flight; zero sizes it from the rate
	// limit (see DefaultSweepConcurrency). The rate limit paces them either
	// way.
	Concurrency int
	// OnResult, when set, is called with every refresh's result (from
	// several goroutines at once), for logs.
	OnResult func(RefreshResult)
}

// SweepSummary counts what a sweep did (the refresh function's answer).
type SweepSummary struct {
	// Due is how many connections were found due (or were named).
	Due int `json:"due"`
	// Refreshed got new tokens, stored.
	Refreshed int `json:"refreshed"`
	// ReauthRequired were refused by GoTo for good and left the sweep.
	ReauthRequired int `json:"reauth_required"`
	// Failed had a transient or configuration failure; tokens untouched,
	// retried later. It includes ConfigErrors and LimiterErrors.
	Failed int `json:"failed"`
	// ConfigErrors is how many of Failed were the connector's own
	// configuration (invalid_client, a decommissioned endpoint, a token key).
	ConfigErrors int `json:"config_errors"`
	// LimiterErrors is how many of Failed could not start because the rate
	// limiter failed (not its deadline).
	LimiterErrors int `json:"limiter_errors"`
	// StoreFailures got GoTo's answer but could not store it within the
	// store retry budget: if GoTo rotated, those connections are lost.
	StoreFailures int `json:"store_failures"`
	// Skipped were being refreshed by someone else, were refreshed
	// meanwhile, need re-authorization already, or do not exist.
	Skipped int `json:"skipped"`
	// Deferred were due but left for the next run, to finish before the
	// deadline (the sweep stops reading the due index then, so it counts
	// those it had already read: any number above zero means it ran out of
	// time).
	Deferred int `json:"deferred"`
	// DurationMS is the run's wall time.
	DurationMS int64 `json:"duration_ms"`
	// Errors lists, for up to 100 failed connections, the secret-free error
	// code.
	Errors map[string]string `json:"errors,omitempty"`
}

// Sweep refreshes every due connection (or opt.IDs) with bounded
// concurrency, under the rate limit, until they run out or ctx's deadline
// nears: no refresh starts later than the time one refresh can take
// (lease write, GoTo's connect and answer timeouts, the store retry budget
// and a margin) before the deadline, so every refresh that started stores
// GoTo's answer in time. What is left is counted as Deferred. The error is
// the due index's, if reading it failed.
func (ts *TokenSource) Sweep(ctx context.Context, opt SweepOptions) (SweepSummary, error) {
	start := time.Now()
	if err := ts.check(); err != nil {
		return SweepSummary{}, err
	}
	// New refreshes start only under take, which ends the refresh budget
	// before the deadline; one that started runs to its end.
	take := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		take, cancel = context.WithDeadline(ctx, deadline.Add(-ts.refreshBudget()))
		defer cancel()
	}
	// The finder runs until the workers stop it: the ids it still sends
	// after take ended are counted as deferred.
	findCtx, stopFinding := context.WithCancel(ctx)
	defer stopFinding()

	ids := make(chan string)
	var findErr error
	go func() {
		defer close(ids)
		send := func(id string) bool {
			select {
			case ids <- id:
				return true
			case <-findCtx.Done():
				return false
			}
		}
		if opt.IDs != nil {
			for _, id := range opt.IDs {
				if !send(id) {
					return
				}
			}
			return
		}
		findErr = ts.store.dueConnections(findCtx, ts.store.now(), send)
	}()

	sum := ts.run(take, ids, opt, stopFinding)
	sum.DurationMS = time.Since(start).Milliseconds()
	if findErr != nil && !errors.Is(findErr, context.Canceled) && findCtx.Err() == nil {
		return sum, findErr
	}
	return sum, nil
}

// run refreshes the ids it receives until they run out or take ends; then
// it calls stop, and what still arrives is counted as deferred.
func (ts *TokenSource) run(take context.Context, ids <-chan string, opt SweepOptions, stop func()) SweepSummary {
	workers := opt.Concurrency
	if workers <= 0 {
		workers = sweepConcurrency(ts.rate)
	}
	n := need{force: opt.Force, dueBy: ts.store.now()}
	var (
		mu  sync.Mutex
		sum SweepSummary
		wg  sync.WaitGroup
	)
	record := func(res RefreshResult) {
		mu.Lock()
		sum.add(res)
		mu.Unlock()
		if opt.OnResult != nil {
			opt.OnResult(res)
		}
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if take.Err() != nil {
					stop()
					record(RefreshResult{ConnectionID: id, Outcome: Deferred, Err: take.Err()})
					continue
				}
				record(ts.refreshOne(take, id, n, nil))
			}
		}()
	}
	wg.Wait()
	return sum
}

// Merge adds the counts and errors of o, a further pass over some of the
// same connections (Due and DurationMS stay as they are).
func (s *SweepSummary) Merge(o SweepSummary) {
	s.Refreshed += o.Refreshed
	s.ReauthRequired += o.ReauthRequired
	s.Failed += o.Failed
	s.ConfigErrors += o.ConfigErrors
	s.LimiterErrors += o.LimiterErrors
	s.StoreFailures += o.StoreFailures
	s.Skipped += o.Skipped
	s.Deferred += o.Deferred
	for id, code := range o.Errors {
		if s.Errors == nil {
			s.Errors = map[string]string{}
		}
		s.Errors[id] = code
	}
}

// add counts one result.
func (s *SweepSummary) add(res RefreshResult) {
	s.Due++
	switch res.Outcome {
	case Refreshed:
		s.Refreshed++
	case ReauthRequired:
		s.ReauthRequired++
	case StoreFailed:
		s.StoreFailures++
	case Failed:
		s.Failed++
		switch {
		case res.Class == Configuration:
			s.ConfigErrors++
		case errors.Is(res.Err, ErrLimiter):
			s.LimiterErrors++
		}
	case Deferred:
		s.Deferred++
	default:
		s.Skipped++
	}
	if res.Outcome == Failed || res.Outcome == ReauthRequired || res.Outcome == StoreFailed {
		if s.Errors == nil {
			s.Errors = map[string]string{}
		}
		if len(s.Errors) < 100 {
			s.Errors[res.ConnectionID] = ErrorCode(res.Err)
		}
	}
}
