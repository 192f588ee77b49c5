package schedule

import (
	"sort"
	"time"
)

// Due is one due connection as a sweep read it from the due index.
type Due struct {
	// ID is the connection's id.
	ID string
	// NextRefreshAt is the refresh planned for it (next_refresh_at).
	NextRefreshAt time.Time
	// RefreshExpiry is when its refresh token expires (zero: unknown).
	RefreshExpiry time.Time
}

// Replan moves a due connection the sweep leaves to a later sweep.
type Replan struct {
	// ID is the connection's id.
	ID string
	// At is its new next_refresh_at.
	At time.Time
}

// Decision is what a sweep does with the due connections it read.
type Decision struct {
	// Refresh are the connections to refresh now, most urgent (earliest
	// refresh-token expiry) first.
	Refresh []Due
	// Replan are the connections left for later sweeps, with where to plan
	// them: spread over the sweeps that follow, PerSweep of them a sweep in
	// urgency order, never past Deadline. Those whose Deadline has already
	// passed are not replanned: they stay due and go first next time.
	Replan []Replan
	// Kept are the connections left due as they are (already past their
	// Deadline, or with no room to move).
	Kept []Due
}

// Urgent sorts due connections most urgent first: earliest refresh-token
// expiry (an unknown expiry after every known one), then earliest
// next_refresh_at, then id, so that the order is deterministic.
func Urgent(due []Due) {
	sort.SliceStable(due, func(i, j int) bool {
		a, b := due[i], due[j]
		if a.RefreshExpiry.IsZero() != b.RefreshExpiry.IsZero() {
			return b.RefreshExpiry.IsZero()
		}
		if !a.RefreshExpiry.Equal(b.RefreshExpiry) {
			return a.RefreshExpiry.Before(b.RefreshExpiry)
		}
		if !a.NextRefreshAt.Equal(b.NextRefreshAt) {
			return a.NextRefreshAt.Before(b.NextRefreshAt)
		}
		return a.ID < b.ID
	})
}

// Decide splits the due connections a sweep read at now into those it
// refreshes (at most capacity, most urgent first; capacity < 0 means all)
// and those it leaves: the k-th one left (in urgency order) is replanned to
// the sweep k/PerSweep + 1 periods later, but never past its Deadline, so
// that the next sweeps each find about what they can do and the most
// urgent first. due is sorted in place.
func (c Config) Decide(due []Due, capacity int, now time.Time) Decision {
	c = c.WithDefaults()
	Urgent(due)
	if capacity < 0 || capacity > len(due) {
		capacity = len(due)
	}
	d := Decision{Refresh: due[:capacity:capacity]}
	per := c.PerSweep()
	if per <= 0 {
		per = 1
	}
	for k, conn := range due[capacity:] {
		at := now.Add(time.Duration(k/per+1) * c.SweepPeriod)
		if dl := c.Deadline(conn.RefreshExpiry); !dl.IsZero() && dl.Before(at) {
			at = dl
		}
		if !at.After(now) || !at.After(conn.NextRefreshAt) {
			d.Kept = append(d.Kept, conn)
			continue
		}
		d.Replan = append(d.Replan, Replan{ID: conn.ID, At: at})
	}
	return d
}

// Report is what a sweep says about the schedule, beside its counts.
type Report struct {
	// CapacityPerSweep and CapacityPerDay are PerSweep and PerDay.
	CapacityPerSweep int `json:"capacity_per_sweep"`
	CapacityPerDay   int `json:"capacity_per_day"`
	// Load is the refreshes a day the observed connections need at the
	// effective interval.
	Load int `json:"load_per_day"`
	// Connections is the estimate of active connections the load was
	// computed from.
	Connections int `json:"connections"`
	// IntervalSeconds is the effective interval.
	IntervalSeconds int64 `json:"interval_seconds"`
	// Fits is false when no schedule fits the capacity (Config.Fits).
	Fits bool `json:"fits"`
	// MinLifeLeftSeconds is the smallest refresh-token life left among the
	// due connections read, or, when none is under SafetyMargin, a lower
	// bound for every active connection (see MinLifeLeft); -1: unknown.
	MinLifeLeftSeconds int64 `json:"min_life_left_seconds"`
}

// MinLifeLeft is the smallest refresh-token life left at now among due
// (ok false when none has a known expiry). Because no connection is ever
// planned later than SafetyMargin before its expiry, every active
// connection whose life left is under SafetyMargin is due, so when the
// sweep read the whole due index, the minimum over the due connections is
// the minimum over all active ones whenever it is under the margin: the
// sweep finds it without a scan.
func MinLifeLeft(due []Due, now time.Time) (left time.Duration, ok bool) {
	for _, d := range due {
		if d.RefreshExpiry.IsZero() {
			continue
		}
		l := d.RefreshExpiry.Sub(now)
		if !ok || l < left {
			left, ok = l, true
		}
	}
	return left, ok
}

// Report builds the schedule part of a sweep's report at now from the due
// connections it read and its estimate of active connections.
func (c Config) Report(due []Due, now time.Time, load Load) Report {
	c = c.WithDefaults()
	interval := c.Effective(load.Connections)
	r := Report{
		CapacityPerSweep:   c.PerSweep(),
		CapacityPerDay:     c.PerDay(),
		Connections:        load.Connections,
		IntervalSeconds:    int64(interval / time.Second),
		Fits:               c.Fits(load.Connections),
		MinLifeLeftSeconds: -1,
	}
	if interval > 0 {
		r.Load = int(float64(load.Connections) * float64(24*time.Hour) / float64(interval))
	}
	if left, ok := MinLifeLeft(due, now); ok {
		r.MinLifeLeftSeconds = int64(left / time.Second)
	}
	return r
}
