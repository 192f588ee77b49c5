package gotoauth

import (
	"fmt"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// The time one refresh may take, step by step. The sweep stops taking new
// work refreshBudget before its deadline, so that a refresh it started
// always stores GoTo's answer before the Lambda deadline; a lease outlasts
// the steps that follow taking it. Every figure of that arithmetic is here.
const (
	// leaseWriteBudget bounds one bookkeeping write: taking or releasing a
	// lease, recording a failure, marking re-authorization.
	leaseWriteBudget = 10 * time.Second
	// defaultStoreRetryBudget is how long the answer of a refresh is
	// retried against the store (with backoff) before the refresh counts
	// as StoreFailed. A DynamoDB outage of a few minutes loses nothing.
	defaultStoreRetryBudget = 4 * time.Minute
	// budgetMargin covers what the other figures do not: scheduling,
	// clock steps, the first store attempt's own latency.
	budgetMargin = 5 * time.Second
	// minLease is the shortest refresh lease.
	minLease = 60 * time.Second
)

// minAnswerBudget is the shortest wait for GoTo's answer a refresh starts
// with, when the deadline cuts the answer timeout.
const minAnswerBudget = 10 * time.Second

// minimumTimeout is the shortest time left in which a refresh still starts:
// the lease write, getting the request to GoTo, minAnswerBudget of GoTo's
// answer, one store attempt and the margin (40 s at the defaults). A
// refresh function whose Timeout is under it refreshes nothing.
// sweep.MinimumTimeout is its value at the defaults.
func (ts *TokenSource) minimumTimeout() time.Duration {
	connect, _ := ts.client.timeouts()
	return leaseWriteBudget + connect + minAnswerBudget + writeTimeout(ts.storeRetry) + budgetMargin
}

// takeDeadline is when a sweep running from now until deadline stops
// starting refreshes: SweepReserve before the deadline when that leaves any
// time, so that every refresh has its full store retry budget; otherwise
// (a short timeout) minimumTimeout before it, short true, and each refresh
// has its answer wait and store budget cut to the time left.
func (ts *TokenSource) takeDeadline(now, deadline time.Time) (takeBy time.Time, short bool, err error) {
	if t := deadline.Add(-ts.refreshBudget()); t.After(now) {
		return t, false, nil
	}
	if t := deadline.Add(-ts.minimumTimeout()); t.After(now) {
		return t, true, nil
	}
	return time.Time{}, true, fmt.Errorf("%w: %s left, a refresh needs at least %s (raise the refresh function's Timeout to at least %d s; the template's is 900 s)",
		sweep.ErrTimeoutTooShort, deadline.Sub(now).Round(time.Second), ts.minimumTimeout(), int(ts.minimumTimeout().Seconds())+1)
}

// callDeadline is when a refresh that calls GoTo at now, for a caller whose
// deadline is deadline (zero: none), stops waiting for GoTo's answer: its
// connect and answer timeouts, cut so that one store attempt and the margin
// still fit before the deadline (zero: not cut).
func (ts *TokenSource) callDeadline(now, deadline time.Time) time.Time {
	if deadline.IsZero() {
		return time.Time{}
	}
	callBy := deadline.Add(-writeTimeout(ts.storeRetry) - budgetMargin)
	connect, answer := ts.client.timeouts()
	if full := now.Add(connect + answer); full.Before(callBy) {
		return time.Time{}
	}
	return callBy
}

// storeBudget is the store retry budget of an answer that arrived at now
// for a caller whose deadline is deadline: the full budget, cut to the
// time left before the deadline less the margin, and never under one
// attempt (an answer still unstored at the deadline is kept in the
// process, and the next refresh of the connection stores it first).
func (ts *TokenSource) storeBudget(now, deadline time.Time) time.Duration {
	b := ts.storeRetry
	if deadline.IsZero() {
		return b
	}
	if left := deadline.Sub(now) - budgetMargin; left < b {
		b = left
	}
	return max(b, writeTimeout(ts.storeRetry))
}

// SweepReserve is how long before its context's deadline Sweep stops
// starting refreshes: the longest one refresh can take once started (the
// lease write, getting the request to GoTo, GoTo's answer, storing it with
// every retry, and a margin). Give the refresh function a timeout well
// above it (the template's 900 s leaves about 10 minutes of sweeping at the
// defaults).
func (ts *TokenSource) SweepReserve() time.Duration { return ts.refreshBudget() }

// refreshBudget is the longest one refresh can take once started: the lease
// write, getting the request to GoTo, GoTo's answer, and storing it with
// every retry. The sweep's deadline reserve.
func (ts *TokenSource) refreshBudget() time.Duration {
	connect, answer := ts.client.timeouts()
	return leaseWriteBudget + connect + answer + ts.storeRetry + budgetMargin
}

// leaseTTL is how long a refresher holds a connection: through the provider
// call and the first store attempt. While the store is retried the lease is
// extended; if DynamoDB is cut meanwhile and the lease runs out, the
// revision fence of storeRefreshed still keeps GoTo's answer.
func (ts *TokenSource) leaseTTL() time.Duration {
	connect, answer := ts.client.timeouts()
	d := connect + answer + writeTimeout(ts.storeRetry) + budgetMargin
	if d < minLease {
		d = minLease
	}
	return d
}

// timeouts returns the connect and answer timeouts in force.
func (c *Client) timeouts() (connect, answer time.Duration) {
	connect, answer = c.ConnectTimeout, c.AnswerTimeout
	if connect <= 0 {
		connect = defaultConnectTimeout
	}
	if answer <= 0 {
		answer = defaultAnswerTimeout
	}
	return connect, answer
}
