package schedule

import (
	"hash/fnv"
	"time"
)

// Load is what the plan knows of the load: an estimate of the active
// connections (the sweep's, from the due index; the simulator's, exact).
// The zero Load plans at Interval.
type Load struct {
	// Connections is the number of active connections.
	Connections int
}

// Phase is a connection's fixed place in any interval, in [0, 1): a hash of
// its id (FNV-1a, then SplitMix64's finalizer so that ids differing only in
// their last characters, such as cust-0001 and cust-0002, land far apart),
// the same on every run and every machine.
func Phase(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// Next returns when connection id, whose tokens were written at now with
// these access and refresh expiries (zero: unknown), is refreshed next:
//
//   - the instant congruent to the connection's Phase modulo the effective
//     interval (Effective(load.Connections)), inside (now, now+interval]:
//     a connection refreshed on time is planned one interval later, one
//     created or refreshed at any other time lands on its own phase, so the
//     connections spread evenly over the interval whatever their sign-up
//     pattern;
//   - AccessTokenAhead before the access token expires, when that is on
//     and earlier;
//   - never later than SafetyMargin before the refresh token expires.
//
// Inside the margin (a refresh token the provider did not replace, or one
// whose refreshes kept failing) it retries every hundredth of the lifetime,
// and once more halfway to the expiry, rather than at every sweep. The
// result is never before now.
func (c Config) Next(id string, now, accessExpiry, refreshExpiry time.Time, load Load) time.Time {
	return c.NextAfter(id, time.Time{}, now, accessExpiry, refreshExpiry, load)
}

// NextAfter is Next for a refresh that answers the plan planned (the
// connection's next_refresh_at when it was refreshed; zero for a new
// connection). A refresh on time, at most two sweep periods after
// planned, is planned one effective interval after planned instead of on
// the phase: the connection keeps its place when the effective interval
// changes. The phase is a point of a grid anchored at the Unix epoch, so
// an interval longer by a small share moves every point by that share of
// the time since 1970, which is a random place: with the phase alone, a
// load that grew by 1% (100,000 sign-ups on 10 million) would move each
// connection refreshed on time to anywhere within the next interval, and
// the refreshes due in one interval would nearly double. Connections not
// refreshed on time (new ones, late ones after an outage or a deferral,
// early ones forced by a caller) land on the phase, which spreads them.
func (c Config) NextAfter(id string, planned, now, accessExpiry, refreshExpiry time.Time, load Load) time.Time {
	c = c.WithDefaults()
	interval := c.Effective(load.Connections)
	next := c.onPhase(id, now, interval)
	if late := now.Sub(planned); !planned.IsZero() && late >= 0 && late <= 2*c.SweepPeriod {
		if t := planned.Add(interval); t.After(now) {
			next = t
		}
	}
	if c.AccessTokenAhead > 0 && !accessExpiry.IsZero() {
		if t := accessExpiry.Add(-c.AccessTokenAhead); t.Before(next) {
			next = t
		}
	}
	if !refreshExpiry.IsZero() {
		if late := refreshExpiry.Add(-c.SafetyMargin); late.After(now) {
			if late.Before(next) {
				next = late
			}
		} else if t := c.retryInMargin(now, refreshExpiry); t.Before(next) {
			next = t
		}
	}
	if next.Before(now) {
		next = now
	}
	return next
}

// Deadline is the latest a connection whose refresh token expires at
// refreshExpiry should be refreshed: SafetyMargin before it (zero when the
// expiry is unknown).
func (c Config) Deadline(refreshExpiry time.Time) time.Time {
	if refreshExpiry.IsZero() {
		return time.Time{}
	}
	return refreshExpiry.Add(-c.WithDefaults().SafetyMargin)
}

// onPhase is the first instant after now congruent to id's phase modulo
// interval, at most one interval after now.
func (c Config) onPhase(id string, now time.Time, interval time.Duration) time.Time {
	if interval <= 0 {
		return now
	}
	at := time.Duration(Phase(id) * float64(interval))
	off := (now.UnixNano() - int64(at)) % int64(interval)
	if off < 0 {
		off += int64(interval)
	}
	return now.Add(interval - time.Duration(off))
}

// retryInMargin is the next try of a connection already inside the margin.
func (c Config) retryInMargin(now, refreshExpiry time.Time) time.Time {
	step := c.RefreshTokenLifetime / 100
	if left := refreshExpiry.Sub(now); left < 2*step {
		return now.Add(left / 2)
	}
	return now.Add(step)
}
