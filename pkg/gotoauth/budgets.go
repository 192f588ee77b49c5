package gotoauth

import "time"

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
