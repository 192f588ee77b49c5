package gotoauth

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
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
// nears (see takeDeadline: no refresh starts unless the time left covers
// it, so every refresh that started stores GoTo's answer in time).
//
// A scheduled sweep (opt.IDs nil) reads the due connections from the due
// index first (never a table scan), at most DueReadLimit of them, the
// oldest next_refresh_at first, and lets internal/schedule decide: when
// more are due than the rate limit allows in its working time, the ones
// whose refresh tokens expire first go first and the rest are counted as
// deferred by the rate limit; the refreshes it stores are planned with the
// load it observed (the due index's item count, read with DescribeTable
// when the client has it; see schedule.Config.ObserveLoad). The summary
// reports the capacity, the load and the smallest refresh-token life left.
// The error is the due index's, if reading it failed, or
// ErrTimeoutTooShort.
func (ts *TokenSource) Sweep(ctx context.Context, opt sweep.Options) (sweep.Summary, error) {
	start := time.Now()
	if err := ts.check(); err != nil {
		return sweep.Summary{}, err
	}
	now := ts.store.now()
	n := need{force: opt.Force, dueBy: now}
	// New refreshes start only under take; one that started runs to its
	// end, within the real deadline.
	take, short := ctx, false
	var working time.Duration
	if deadline, ok := ctx.Deadline(); ok {
		takeBy, isShort, err := ts.takeDeadline(time.Now(), deadline)
		if err != nil {
			return sweep.Summary{DurationMS: time.Since(start).Milliseconds()}, err
		}
		var cancel context.CancelFunc
		take, cancel = context.WithDeadline(ctx, takeBy)
		defer cancel()
		short, n.deadline, working = isShort, deadline, time.Until(takeBy)
	}
	if opt.IDs != nil {
		ids := make(chan string)
		findCtx, stopFinding := context.WithCancel(ctx)
		defer stopFinding()
		go func() {
			defer close(ids)
			for _, id := range opt.IDs {
				select {
				case ids <- id:
				case <-findCtx.Done():
					return
				}
			}
		}()
		sum := ts.run(take, ids, opt, n, stopFinding, nil)
		sum.DeferredDeadline = sum.Deferred
		sum.DurationMS = time.Since(start).Milliseconds()
		return sum, nil
	}
	return ts.sweepDue(ctx, take, opt, n, now, working, short, start)
}

// sweepDue is the scheduled sweep: read what is due, decide, refresh the
// most urgent, report.
func (ts *TokenSource) sweepDue(ctx, take context.Context, opt sweep.Options, n need, now time.Time, working time.Duration, short bool, start time.Time) (sweep.Summary, error) {
	cfg := ts.store.schedule.config()
	cfg.RateLimit, cfg.WorkingTime, cfg.SweepPeriod = ts.rate, working, opt.Period
	cfg = cfg.WithDefaults()
	capacity, limit := cfg.PerSweep(), cfg.DueReadLimit()
	var due []schedule.Due
	findErr := ts.store.dueConnections(take, now, limit, func(d schedule.Due) bool {
		due = append(due, d)
		return len(due) < limit
	})
	if len(due) > capacity {
		ts.store.fillExpiries(take, due)
	}
	// The load: the connections the due index holds, or more when the due
	// ones imply more (see schedule.Config.ObserveLoad).
	indexed, err := ts.store.indexedConnections(take)
	if err != nil && take.Err() == nil {
		ts.logger.Warn("the due index's item count could not be read (dynamodb:DescribeTable): the load is estimated from the due connections alone", "error", err.Error())
	}
	load := cfg.ObserveLoad(due, now, indexed)
	ts.store.planning.set(cfg, load)

	dec := cfg.Decide(due, capacity, now)
	ids := make(chan string, len(dec.Refresh))
	for _, d := range dec.Refresh {
		ids <- d.ID
	}
	close(ids)
	var (
		mu      sync.Mutex
		minLife time.Duration
		known   bool
	)
	life := func(exp time.Time) {
		if exp.IsZero() {
			return
		}
		mu.Lock()
		if l := exp.Sub(now); !known || l < minLife {
			minLife, known = l, true
		}
		mu.Unlock()
	}
	sum := ts.run(take, ids, opt, n, func() {}, func(res refreshResult) {
		if res.Connection != nil && res.Connection.Status == StatusActive {
			life(res.Connection.RefreshTokenExpiresAt)
		}
	})
	sum.DeferredDeadline = sum.Deferred
	for _, d := range due[len(dec.Refresh):] {
		life(d.RefreshExpiry)
	}
	left := len(due) - len(dec.Refresh)
	sum.Due += left
	sum.Deferred += left
	if short {
		sum.DeferredDeadline += left
	} else {
		sum.DeferredRateLimit += left
	}
	rep := cfg.Report(nil, now, load)
	sum.CapacityPerSweep, sum.CapacityPerDay = rep.CapacityPerSweep, rep.CapacityPerDay
	sum.LoadPerDay, sum.Connections, sum.IntervalSeconds, sum.Fits = rep.Load, rep.Connections, rep.IntervalSeconds, rep.Fits
	sum.SafetyMarginSeconds = int64(cfg.SafetyMargin / time.Second)
	sum.MinLifeLeftSeconds = -1
	if known {
		sum.MinLifeLeftSeconds = int64(minLife / time.Second)
	}
	sum.DurationMS = time.Since(start).Milliseconds()
	if findErr != nil && !errors.Is(findErr, context.Canceled) && ctx.Err() == nil && take.Err() == nil {
		return sum, findErr
	}
	return sum, nil
}

// run refreshes the ids it receives until they run out or take ends; then
// it calls stop, and what still arrives is counted as deferred.
func (ts *TokenSource) run(take context.Context, ids <-chan string, opt sweep.Options, n need, stop func(), seen func(refreshResult)) sweep.Summary {
	workers := opt.Concurrency
	if workers <= 0 {
		workers = sweepConcurrency(ts.rate)
	}
	var (
		mu  sync.Mutex
		sum sweep.Summary
		wg  sync.WaitGroup
	)
	record := func(res refreshResult) {
		if seen != nil {
			seen(res)
		}
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
