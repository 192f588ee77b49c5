package gotoauth

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// Sizing the sweep's concurrency from the rate limit.
const (
	refreshLatency      = 500 * time.Millisecond
	maxSweepConcurrency = 256
)

// sweepConcurrency is the sweep's concurrency at rate calls per second (0:
// no limit known).
func sweepConcurrency(rate float64) int {
	n := int(math.Ceil(rate * refreshLatency.Seconds()))
	return min(max(n, sweep.DefaultConcurrency), maxSweepConcurrency)
}

// Sweep refreshes every due connection (or opt.IDs) with bounded
// concurrency, under the rate limit, until they run out or ctx's deadline
// nears: no refresh starts later than the time one refresh can take
// (lease write, GoTo's connect and answer timeouts, the store retry budget
// and a margin) before the deadline, so every refresh that started stores
// GoTo's answer in time. What is left is counted as Deferred. The error is
// the due index's, if reading it failed.
func (ts *TokenSource) Sweep(ctx context.Context, opt sweep.Options) (sweep.Summary, error) {
	start := time.Now()
	if err := ts.check(); err != nil {
		return sweep.Summary{}, err
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
func (ts *TokenSource) run(take context.Context, ids <-chan string, opt sweep.Options, stop func()) sweep.Summary {
	workers := opt.Concurrency
	if workers <= 0 {
		workers = sweepConcurrency(ts.rate)
	}
	n := need{force: opt.Force, dueBy: ts.store.now()}
	var (
		mu  sync.Mutex
		sum sweep.Summary
		wg  sync.WaitGroup
	)
	record := func(res refreshResult) {
		mu.Lock()
		pub := res.public()
		sum.Add(pub)
		mu.Unlock()
		if opt.OnResult != nil {
			opt.OnResult(pub)
		}
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if take.Err() != nil {
					stop()
					record(refreshResult{ConnectionID: id, Outcome: sweep.Deferred, Err: take.Err()})
					continue
				}
				record(ts.refreshOne(take, id, n, nil))
			}
		}()
	}
	wg.Wait()
	return sum
}
