package schedule

import "time"

// FNV-1a's 64-bit offset basis and prime (hash/fnv).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Load is what the plan knows of the load: an estimate of the active
// connections (ObserveLoad: the sweep's, and the simulator's the same
// way). The zero Load plans at Interval.
type Load struct {
	// Connections is the number of active connections.
	Connections int
}

// ObserveLoad is the load a sweep at now infers: the active connections
// the due index holds (indexed: its item count, which DynamoDB updates
// about every six hours; 0 when unknown), or, when more, those that the
// due connections it read imply. Each connection is refreshed at most once
// per Interval, so the ones that came due within the last SweepPeriod
// (next_refresh_at after now − SweepPeriod) are at most connections ×
// SweepPeriod ÷ Interval. The bound covers a count not yet updated (a new
// table, an import) and one that cannot be read; connections due longer
// (a backlog) are not counted, so a backlog does not inflate it.
func (c Config) ObserveLoad(due []Due, now time.Time, indexed int) Load {
	c = c.WithDefaults()
	since := now.Add(-c.SweepPeriod)
	fresh := 0
	for _, d := range due {
		if d.NextRefreshAt.After(since) {
			fresh++
		}
	}
	flow := int(float64(fresh) * float64(c.Interval) / float64(c.SweepPeriod))
	return Load{Connections: max(indexed, flow)}
}

// Phase is where a connection without a plan, planned at now, lands in
// the interval after now (see NextAfter), in [0, 1): a hash of its id and
// of now (FNV-1a over the id's bytes and now's Unix nanoseconds, then
// SplitMix64's finalizer so that ids differing only in their last
// characters, such as cust-0001 and cust-0002, land far apart), the same
// on every run and every machine. now is in the hash so that connections
// whose places were together (due together when GoTo went down, and so
// replanned together after it came back) do not land together again.
func Phase(id string, now time.Time) float64 {
	x := uint64(fnvOffset)
	for i := 0; i < len(id); i++ { // FNV-1a, as hash/fnv's New64a
		x ^= uint64(id[i])
		x *= fnvPrime
	}
	for t, i := uint64(now.UnixNano()), 0; i < 8; i++ {
		x ^= t >> 56
		x *= fnvPrime
		t <<= 8
	}
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// Next returns when a new connection id, whose tokens were written at now
// with these access and refresh expiries (zero: unknown), is refreshed
// first: NextAfter without a plan to keep.
func (c Config) Next(id string, now, accessExpiry, refreshExpiry time.Time, load Load) time.Time {
	return c.NextAfter(id, time.Time{}, now, accessExpiry, refreshExpiry, load)
}

// NextAfter returns when connection id, refreshed at now in answer to the
// plan planned (its next_refresh_at then; zero for a new connection, or
// after failed refreshes), with these access and refresh expiries (zero:
// unknown), is refreshed next:
//
//   - at its place in the cycle of the effective interval
//     (Effective(load.Connections)): planned plus as many intervals as
//     take it past now, so that a connection refreshed on time is planned
//     one interval later, a late one (a deferral, a backlog after an
//     outage) goes back to its place, and one refreshed early (on demand)
//     keeps its plan. Every connection keeps its place when the interval
//     changes with the load, and the places stay as even as they were;
//   - without a plan, at its Phase within the interval after now, so that
//     connections created together (a burst of sign-ups), or refreshed
//     together after failures, spread evenly over the interval;
//   - AccessTokenAhead before the access token expires, when that is on
//     and earlier;
//   - never later than SafetyMargin before the refresh token expires.
//
// Places are kept relative to each connection's own plan, not on a grid
// anchored at a fixed epoch: on such a grid an interval longer by 1%
// (100,000 sign-ups on 10 million) moves every point by 1% of the time
// since the epoch, to a random place, and the refreshes of the next
// interval nearly double.
//
// Inside the margin (a refresh token the provider did not replace, or one
// whose refreshes kept failing) it retries every hundredth of the lifetime,
// and once more halfway to the expiry, rather than at every sweep. The
// result is never before now.
func (c Config) NextAfter(id string, planned, now, accessExpiry, refreshExpiry time.Time, load Load) time.Time {
	c = c.WithDefaults()
	next := place(id, planned, now, c.effective(load.Connections))
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
	return c.WithDefaults().deadline(refreshExpiry)
}

// deadline is Deadline for c with its defaults set.
func (c Config) deadline(refreshExpiry time.Time) time.Time {
	if refreshExpiry.IsZero() {
		return time.Time{}
	}
	return refreshExpiry.Add(-c.SafetyMargin)
}

// place is a connection's next place in a cycle of interval: see
// NextAfter.
func place(id string, planned, now time.Time, interval time.Duration) time.Time {
	switch {
	case interval <= 0:
		return now
	case planned.IsZero():
		return now.Add(interval - time.Duration(Phase(id, now)*float64(interval)))
	case planned.After(now.Add(interval)):
		return now.Add(interval)
	case planned.After(now):
		return planned
	}
	return planned.Add((now.Sub(planned)/interval + 1) * interval)
}

// retryInMargin is the next try of a connection already inside the margin.
func (c Config) retryInMargin(now, refreshExpiry time.Time) time.Time {
	step := c.RefreshTokenLifetime / 100
	if left := refreshExpiry.Sub(now); left < 2*step {
		return now.Add(left / 2)
	}
	return now.Add(step)
}
