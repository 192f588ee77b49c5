package gotoauth

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
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
	// Period is how often the scheduled sweep runs (the template's
	// RefreshSchedule); zero means 15 minutes. It sizes the capacity per
	// day and the load estimate.
	Period time.Duration
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
	// DeferredRateLimit and DeferredDeadline split Deferred by cause: more
	// was due than the rate limit allows in the sweep's working time, or
	// the deadline came (a timeout too short for the full reserve, or
	// refreshes slower than planned).
	DeferredRateLimit int `json:"deferred_rate_limit"`
	DeferredDeadline  int `json:"deferred_deadline"`
	// CapacityPerSweep and CapacityPerDay are the refreshes the rate limit
	// and the sweep's working time allow per sweep and per day (Unlimited
	// without a rate limit or a deadline); scheduled sweeps only.
	CapacityPerSweep int `json:"capacity_per_sweep,omitempty"`
	CapacityPerDay   int `json:"capacity_per_day,omitempty"`
	// Connections is the active connections the sweep infers from the due
	// count, LoadPerDay the refreshes a day they need at IntervalSeconds,
	// the interval refreshes are planned at (REFRESH_INTERVAL, stretched
	// when the load needs it), and Fits is false when no interval up to
	// the refresh-token lifetime minus the safety margin fits.
	Connections     int   `json:"connections,omitempty"`
	LoadPerDay      int   `json:"load_per_day,omitempty"`
	IntervalSeconds int64 `json:"interval_seconds,omitempty"`
	Fits            bool  `json:"fits,omitempty"`
	// MinLifeLeftSeconds is the smallest refresh-token life left among the
	// due connections after the sweep (-1: none known). No connection is
	// planned later than the safety margin before its expiry, so every
	// active connection with less life left than the margin is due: when
	// this is above SafetyMarginSeconds, so is every active connection's.
	MinLifeLeftSeconds  int64 `json:"min_life_left_seconds,omitempty"`
	SafetyMarginSeconds int64 `json:"safety_margin_seconds,omitempty"`
	// DurationMS is the run's wall time.
	DurationMS int64 `json:"duration_ms"`
	// Errors lists, for up to 100 failed connections, the secret-free error
	// code.
	Errors map[string]string `json:"errors,omitempty"`
}

// Sweep refreshes every due connection (or opt.IDs) with bounded
// concurrency, under the rate limit, until they run out or ctx's deadline
// nears (see takeDeadline: no refresh starts unless the time left covers
// it, so every refresh that started stores GoTo's answer in time).
//
// A scheduled sweep (opt.IDs nil) reads the due connections from the due
// index first (never a table scan), at most a bounded number, and lets
// internal/schedule decide: when more are due than the rate limit allows in
// its working time, the ones whose refresh tokens expire first go first and
// the rest are counted as deferred by the rate limit; the refreshes it
// stores are planned with the load it observed. The summary reports the
// capacity, the load and the smallest refresh-token life left. The error
// is the due index's, if reading it failed, or ErrTimeoutTooShort.
func (ts *TokenSource) Sweep(ctx context.Context, opt SweepOptions) (SweepSummary, error) {
	start := time.Now()
	if err := ts.check(); err != nil {
		return SweepSummary{}, err
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
			return SweepSummary{DurationMS: time.Since(start).Milliseconds()}, err
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
		sum := ts.run(take, ids, opt, n, stopFinding)
		sum.DeferredDeadline = sum.Deferred
		sum.DurationMS = time.Since(start).Milliseconds()
		return sum, nil
	}
	return ts.sweepDue(ctx, take, opt, n, now, working, short, start)
}

// sweepDue is the scheduled sweep: read what is due, decide, refresh the
// most urgent, report.
func (ts *TokenSource) sweepDue(ctx, take context.Context, opt SweepOptions, n need, now time.Time, working time.Duration, short bool, start time.Time) (SweepSummary, error) {
	cfg := ts.store.schedule.config()
	cfg.RateLimit, cfg.WorkingTime, cfg.SweepPeriod = ts.rate, working, opt.Period
	cfg = cfg.WithDefaults()
	capacity := cfg.PerSweep()
	limit := maxDueRead
	if capacity < Unlimited/dueReadFactor {
		limit = min(max(dueReadFactor*capacity, minDueRead), maxDueRead)
	}
	var due []schedule.Due
	findErr := ts.store.dueConnections(take, now, func(d schedule.Due) bool {
		due = append(due, d)
		return len(due) < limit
	})
	if len(due) > capacity {
		ts.store.fillExpiries(take, due)
	}
	// The load: the connections the due count implies at the interval the
	// last sweep of this process planned with (REFRESH_INTERVAL at first).
	prev := cfg.Interval
	if p := ts.store.planning.p.Load(); p != nil {
		prev = p.cfg.Effective(p.load.Connections)
	}
	load := schedule.Load{Connections: int(float64(len(due)) * float64(prev) / float64(cfg.SweepPeriod))}
	ts.store.planning.set(cfg, load)

	dec := cfg.Decide(due, capacity, now)
	ids := make(chan string, len(dec.Refresh))
	for _, d := range dec.Refresh {
		ids <- d.ID
	}
	close(ids)
	var (
		mu      sync.Mutex
		minLife = -1 * time.Second
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
	onResult := opt.OnResult
	opt.OnResult = func(res RefreshResult) {
		if res.Connection != nil && res.Connection.Status == StatusActive {
			life(res.Connection.RefreshTokenExpiresAt)
		}
		if onResult != nil {
			onResult(res)
		}
	}
	sum := ts.run(take, ids, opt, n, func() {})
	sum.DeferredDeadline = sum.Deferred
	left := len(dec.Replan) + len(dec.Kept)
	for _, d := range dec.Kept {
		life(d.RefreshExpiry)
	}
	for _, d := range due[len(dec.Refresh):] {
		life(d.RefreshExpiry)
	}
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

// How many due connections a scheduled sweep reads from the due index:
// dueReadFactor times what it can refresh, at least minDueRead, at most
// maxDueRead, so that a backlog after an outage costs bounded reads and
// memory. The index returns each shard in next_refresh_at order, so the
// oldest due are among those read.
const (
	dueReadFactor = 4
	minDueRead    = 1000
	maxDueRead    = 200_000
)

// Unlimited is the capacity a sweep reports when no rate limit or no
// deadline bounds it.
const Unlimited = schedule.Unlimited

// run refreshes the ids it receives until they run out or take ends; then
// it calls stop, and what still arrives is counted as deferred.
func (ts *TokenSource) run(take context.Context, ids <-chan string, opt SweepOptions, n need, stop func()) SweepSummary {
	workers := opt.Concurrency
	if workers <= 0 {
		workers = sweepConcurrency(ts.rate)
	}
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
	s.DeferredRateLimit += o.DeferredRateLimit
	s.DeferredDeadline += o.DeferredDeadline
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
