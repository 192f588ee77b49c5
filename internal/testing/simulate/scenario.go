package simulate

import (
	"fmt"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// Scenario is one simulated run: the population, the sweep, GoTo and the
// scheduler. Every duration is a Go duration, so a scenario can be
// compressed (seconds instead of days) to compare it with a real run.
type Scenario struct {
	// Name is the scenario's short name (file names: simulate-<Name>.png).
	Name string
	// Title says in a few words what it is.
	Title string
	// Connections at the start: their tokens were issued at times spread
	// evenly over [IssuedFrom, IssuedTo) (both zero: over the last
	// Interval, what today's schedule leaves behind).
	Connections int
	IssuedFrom  time.Duration
	IssuedTo    time.Duration
	// Horizon is how long it runs (60 days).
	Horizon time.Duration
	// Bin is the width of the reported series (an hour).
	Bin time.Duration

	// Rate is REFRESH_RATE_LIMIT, GoTo's calls per second for the sweep.
	Rate float64
	// Period is the EventBridge schedule's (RefreshSchedule).
	Period time.Duration
	// Timeout is the refresh function's timeout; Reserve is the sweep's
	// (gotoauth's SweepReserve): a sweep starts refreshes for Timeout −
	// Reserve.
	Timeout, Reserve time.Duration

	// Interval is REFRESH_INTERVAL, Lifetime REFRESH_TOKEN_LIFETIME and
	// Margin REFRESH_SAFETY_MARGIN.
	Interval, Lifetime, Margin time.Duration
	// RetryBase and RetryMax are the failure backoff (1 minute doubling to
	// 1 hour).
	RetryBase, RetryMax time.Duration

	// Bursts are sign-ups on top of the population.
	Bursts []Burst
	// Outages are times GoTo fails every refresh.
	Outages []Outage
	// Churn is the share of connections that leave, and the share that
	// arrive, each Day (0.02: 2%), spread evenly.
	Churn float64
	// Day is the length of a day for Churn (24h; shorter when compressed).
	Day time.Duration

	// SignUpsAtInterval plans the connections at the start, the bursts'
	// and the churn's sign-ups as the authorize and callback functions do,
	// with no load known (gotoauth's Store before any sweep of its
	// process: on the connection's phase within Interval), as every
	// scenario of make simulate does; without it they are planned like a
	// refresh, with the exact load (Effective).
	SignUpsAtInterval bool

	// IndexCountEvery is how often the due index's item count, which the
	// sweep reads with DescribeTable, is updated: DynamoDB does it about
	// every six hours; 0 is at once (DynamoDB Local).
	IndexCountEvery time.Duration

	// Baseline runs today's fixed schedule instead of the scheduler.
	Baseline bool
	// IDPrefix starts every connection's id (default "conn-"); the
	// scheduler spreads connections by a hash of the id.
	IDPrefix string
}

func (s Scenario) idPrefix() string {
	if s.IDPrefix == "" {
		return "conn-"
	}
	return s.IDPrefix
}

// Burst is N sign-ups spread evenly over [At, At+Over).
type Burst struct {
	At, Over time.Duration
	N        int
}

// Outage is GoTo failing every refresh in [At, At+For).
type Outage struct {
	At, For time.Duration
}

// Capacity is how many refreshes one sweep can start: its working time
// (Timeout − Reserve) at Rate (internal/schedule's arithmetic, which the
// sweep uses too).
func (s Scenario) Capacity() int {
	if schedule.WorkingTime(s.Timeout, s.Reserve) <= 0 {
		return 0
	}
	return s.Config().PerSweep()
}

// issued is the window the tokens of the connections at the start were
// issued in.
func (s Scenario) issued() (from, to time.Duration) {
	if s.IssuedFrom == 0 && s.IssuedTo == 0 {
		return -s.Interval, 0
	}
	return s.IssuedFrom, s.IssuedTo
}

// Sweeps is how many sweeps run in the horizon.
func (s Scenario) Sweeps() int { return int(s.Horizon / s.Period) }

func (s Scenario) check() error {
	switch {
	case s.Horizon <= 0 || s.Period <= 0 || s.Bin < s.Period || s.Rate <= 0:
		return fmt.Errorf("%s: horizon, period, rate must be positive and the bin at least one period", s.Name)
	case s.Interval <= 0 || s.Lifetime <= 0 || s.Margin <= 0 || s.Margin >= s.Lifetime:
		return fmt.Errorf("%s: interval, lifetime and margin must be positive, the margin shorter than the lifetime", s.Name)
	case s.RetryBase <= 0 || s.RetryMax < s.RetryBase:
		return fmt.Errorf("%s: the backoff must be positive", s.Name)
	case s.Churn > 0 && s.Day <= 0:
		return fmt.Errorf("%s: churn needs a day", s.Name)
	}
	return nil
}

// down reports whether GoTo fails at t.
func (s Scenario) down(t time.Duration) bool {
	for _, o := range s.Outages {
		if t >= o.At && t < o.At+o.For {
			return true
		}
	}
	return false
}
