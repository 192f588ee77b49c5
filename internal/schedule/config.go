package schedule

import (
	"math"
	"time"
)

// Defaults of Config's fields (those of the connector's configuration).
const (
	// DefaultInterval is REFRESH_INTERVAL's default.
	DefaultInterval = 24 * time.Hour
	// DefaultRefreshTokenLifetime is REFRESH_TOKEN_LIFETIME's default,
	// GoTo's 30 days.
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	// DefaultSafetyMargin is REFRESH_SAFETY_MARGIN's default: no refresh is
	// planned later than this before the refresh token expires, which
	// leaves three days to ride out an outage and retry.
	DefaultSafetyMargin = 72 * time.Hour
	// DefaultSweepPeriod is how often the refresh function's sweep runs
	// (the template's RefreshSchedule default, rate(15 minutes)).
	DefaultSweepPeriod = 15 * time.Minute
	// DefaultTargetUtilization is the share of the daily capacity the
	// steady-state load is allowed to use before the interval is
	// stretched; the rest is headroom to catch up after an outage.
	DefaultTargetUtilization = 0.8
)

// Unlimited is the capacity reported when no rate limit bounds the sweep.
const Unlimited = math.MaxInt32

// Config is everything the scheduling decisions depend on. The zero value of
// every field means its default (see the Default constants); RateLimit and
// WorkingTime zero mean "no limit known" and "no deadline".
type Config struct {
	// Interval is REFRESH_INTERVAL: how long after a refresh the next one
	// is planned while the load fits the capacity.
	Interval time.Duration
	// SafetyMargin is REFRESH_SAFETY_MARGIN: no refresh is planned later
	// than this before the refresh token expires.
	SafetyMargin time.Duration
	// RefreshTokenLifetime is REFRESH_TOKEN_LIFETIME: a refresh token's
	// life from issue.
	RefreshTokenLifetime time.Duration
	// AccessTokenAhead, when positive, also plans a refresh this long
	// before the access token expires (ACCESS_TOKEN_REFRESH_AHEAD).
	AccessTokenAhead time.Duration
	// RateLimit is the provider's token calls per second for the OAuth
	// client (REFRESH_RATE_LIMIT); zero: none known.
	RateLimit float64
	// SweepPeriod is how often a sweep runs (the template's
	// RefreshSchedule).
	SweepPeriod time.Duration
	// WorkingTime is how long one sweep starts refreshes: the function
	// timeout minus the sweep's reserve (see WorkingTime); zero: no
	// deadline.
	WorkingTime time.Duration
	// TargetUtilization is the share of the daily capacity the planned load
	// may use before the interval is stretched (0 < u ≤ 1).
	TargetUtilization float64
}

// WorkingTime is how long a sweep of a function with this timeout starts
// refreshes when it keeps reserve before its deadline (zero when the
// timeout does not exceed the reserve).
func WorkingTime(timeout, reserve time.Duration) time.Duration {
	if timeout <= reserve {
		return 0
	}
	return timeout - reserve
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.RefreshTokenLifetime <= 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if c.SafetyMargin <= 0 {
		c.SafetyMargin = DefaultSafetyMargin
		// A short lifetime (tests, compressed runs) keeps a tenth of it.
		if c.SafetyMargin >= c.RefreshTokenLifetime {
			c.SafetyMargin = c.RefreshTokenLifetime / 10
		}
	}
	if c.SweepPeriod <= 0 {
		c.SweepPeriod = DefaultSweepPeriod
	}
	if c.TargetUtilization <= 0 || c.TargetUtilization > 1 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	return c
}

// PerSweep is how many refreshes one sweep can do: the rate limit times the
// working time (Unlimited when either is unknown).
func (c Config) PerSweep() int { return c.WithDefaults().perSweep() }

// SweepsPerDay is how many sweeps run in a day.
func (c Config) SweepsPerDay() float64 { return c.WithDefaults().sweepsPerDay() }

// PerDay is how many refreshes a day allows: PerSweep times the sweeps a
// day, and never more than the rate limit over the whole day (Unlimited
// when no limit is known).
func (c Config) PerDay() int { return c.WithDefaults().perDay() }

// Latest is the longest interval between two refreshes that is safe: the
// refresh token's lifetime minus SafetyMargin (at least a hundredth of the
// lifetime).
func (c Config) Latest() time.Duration { return c.WithDefaults().latest() }

// Needed is the interval at which connections active connections use
// TargetUtilization of the daily capacity (zero when the capacity is
// unlimited or there are none).
func (c Config) Needed(connections int) time.Duration {
	return c.WithDefaults().needed(connections)
}

// Effective is the interval the plan uses for this many active connections:
// Interval while they fit TargetUtilization of the daily capacity, stretched
// to Needed when they do not, and never longer than Latest (nor shorter
// than Interval unless Interval itself exceeds Latest).
func (c Config) Effective(connections int) time.Duration {
	return c.WithDefaults().effective(connections)
}

// The lower-case forms take c with its defaults set (WithDefaults): the
// plan calls them once per refresh.

func (c Config) perSweep() int {
	if c.RateLimit <= 0 || c.WorkingTime <= 0 {
		return Unlimited
	}
	n := math.Floor(c.RateLimit * c.WorkingTime.Seconds())
	if n >= Unlimited {
		return Unlimited
	}
	return int(n)
}

func (c Config) sweepsPerDay() float64 {
	return float64(24*time.Hour) / float64(c.SweepPeriod)
}

func (c Config) perDay() int {
	per := c.perSweep()
	if per == Unlimited {
		return Unlimited
	}
	n := float64(per) * c.sweepsPerDay()
	if limit := c.RateLimit * (24 * time.Hour).Seconds(); n > limit {
		n = limit
	}
	if n >= Unlimited {
		return Unlimited
	}
	return int(n)
}

func (c Config) latest() time.Duration {
	d := c.RefreshTokenLifetime - c.SafetyMargin
	if floor := c.RefreshTokenLifetime / 100; d < floor {
		d = floor
	}
	return d
}

func (c Config) needed(connections int) time.Duration {
	per := c.perDay()
	if per == Unlimited || connections <= 0 {
		return 0
	}
	days := float64(connections) / (c.TargetUtilization * float64(per))
	if days*float64(24*time.Hour) > float64(math.MaxInt64/2) {
		return time.Duration(math.MaxInt64 / 2)
	}
	return time.Duration(days * float64(24*time.Hour))
}

func (c Config) effective(connections int) time.Duration {
	d := c.Interval
	if need := c.needed(connections); need > d {
		d = need
	}
	if latest := c.latest(); d > latest {
		d = latest
	}
	return d
}

// Fits reports whether this many active connections can be refreshed at
// most Latest apart within the daily capacity (at TargetUtilization). When
// it is false no schedule fits: the sweep reports it loudly and the
// smallest refresh-token life left eventually falls under SafetyMargin.
func (c Config) Fits(connections int) bool {
	return c.Needed(connections) <= c.Latest()
}
