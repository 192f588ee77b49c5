// Package sweep holds the types of the connector's scheduled refresh
// (gotoauth.TokenSource.Sweep, which the refresh function runs): what to
// sweep, what one refresh did, and what a sweep did. A backend never runs
// a sweep; it uses TokenSource.AccessToken and Client.
package sweep

import (
	"errors"
	"time"
)

// ErrTimeoutTooShort: the caller's deadline leaves less time than one
// refresh needs (MinimumTimeout at the defaults), so the sweep refreshed
// nothing.
var ErrTimeoutTooShort = errors.New("gotoauth: the time left is too short for one refresh")

// MinimumTimeout is the shortest time left in which a refresh still starts
// at the default client timeouts and store retry budget: the lease write
// (10 s), getting the request to GoTo (5 s), 10 s of GoTo's answer, one
// store attempt (10 s) and the margin (5 s). gotoauth's budgets.go computes
// it; a test there checks that they agree.
const MinimumTimeout = 40 * time.Second

// DefaultConcurrency is how many refreshes a sweep runs at once, at
// least. With gotoauth.WithRateLimit, TokenSource.Sweep sizes its concurrency from the limit by
// Little's law: enough refreshes in flight to keep the limit busy when one
// refresh takes refreshLatency (GoTo at 300 ms plus the DynamoDB writes),
// max(16, limit × 0.5 s), at most maxSweepConcurrency: 16 at GoTo's default
// 10/s, 100 at 200/s.
const DefaultConcurrency = 16

// Outcome is what one refresh attempt did.
type Outcome string

// Outcomes of a refresh.
const (
	// Refreshed: GoTo answered and the new tokens are stored.
	Refreshed Outcome = "refreshed"
	// ReauthRequired: GoTo refused the grant for good; the connection is
	// marked reauth_required and leaves the sweep.
	ReauthRequired Outcome = "reauth_required"
	// Failed: a transient or configuration failure (GoTo, the store, the
	// rate limiter); the stored tokens are untouched and the next try is
	// scheduled with backoff.
	Failed Outcome = "failed"
	// StoreFailed: GoTo answered, but its answer could not be stored within
	// the store retry budget. If GoTo rotated the refresh token, the
	// connection will need re-authorization. Logged at ERROR.
	StoreFailed Outcome = "store_failed"
	// Skipped: another refresher holds the connection, it was refreshed
	// meanwhile, it needs re-authorization already, or it does not exist.
	Skipped Outcome = "skipped"
	// Deferred: the caller's deadline came before the refresh could start
	// (waiting for the rate limit, or GoTo's Retry-After); nothing changed.
	Deferred Outcome = "deferred"
)

// Result reports one refresh attempt.
type Result struct {
	ConnectionID string
	Outcome      Outcome
	// Class is the class of Err, as gotoauth.Class names it: transient,
	// permanent, configuration, not_found or invalid.
	Class string
	// Code is Err's secret-free code (gotoauth.ErrorCode); "" when
	// refreshed.
	Code string
	// Err is the provider's, the store's or the limiter's error, nil when
	// refreshed.
	Err error
	// ProviderLatency is how long GoTo's token endpoint took (zero when it
	// was not called).
	ProviderLatency time.Duration
}

// Options shape one Sweep.
type Options struct {
	// IDs, when set, are the connections to refresh (those of them that are
	// due, or all of them with Force); nil sweeps every due connection,
	// found through the due index (never a table scan).
	IDs   []string
	Force bool
	// Concurrency bounds refreshes in flight; zero sizes it from the rate
	// limit (see DefaultConcurrency). The rate limit paces them either
	// way.
	Concurrency int
	// OnResult, when set, is called with every refresh's result (from
	// several goroutines at once), for logs.
	OnResult func(Result)
	// Period is how often the scheduled sweep runs (the template's
	// RefreshSchedule); zero means 15 minutes. It sizes the capacity per
	// day and the load estimate.
	Period time.Duration
}

// Summary counts what a sweep did (the refresh function's answer).
type Summary struct {
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
	// and the sweep's working time allow per sweep and per day
	// (schedule.Unlimited without a rate limit or a deadline); scheduled
	// sweeps only.
	CapacityPerSweep int `json:"capacity_per_sweep,omitempty"`
	CapacityPerDay   int `json:"capacity_per_day,omitempty"`
	// Connections is the active connections the sweep plans for (the due
	// index's item count, or more when the connections found due imply
	// more: schedule.Config.ObserveLoad), LoadPerDay the refreshes a day they need at IntervalSeconds,
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

// Merge adds the counts and errors of o, a further pass over some of the
// same connections (Due and DurationMS stay as they are).
func (s *Summary) Merge(o Summary) {
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

// Add counts one result.
func (s *Summary) Add(res Result) {
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
		case res.Class == "configuration":
			s.ConfigErrors++
		case res.Code == "rate_limiter":
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
			s.Errors[res.ConnectionID] = res.Code
		}
	}
}
