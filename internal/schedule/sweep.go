package schedule

import (
	"math/bits"
	"slices"
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
// next_refresh_at, then id, so that the order is deterministic (equal ones
// keep their order).
func Urgent(due []Due) {
	keys := urgencyKeys(due)
	sortKeys(due, keys)
	permute(due, keys)
}

// urgency is a due connection's place in the urgency order, in integers:
// comparing two is cheaper than comparing their times.
type urgency struct {
	expSec, nextSec   int64 // Unix seconds
	expNsec, nextNsec int32
	i                 int32 // its index in due
	unknown           bool  // no known refresh-token expiry
}

func urgencyKeys(due []Due) []urgency {
	keys := make([]urgency, len(due))
	for i, d := range due {
		k := urgency{i: int32(i), unknown: d.RefreshExpiry.IsZero(), nextSec: d.NextRefreshAt.Unix(), nextNsec: int32(d.NextRefreshAt.Nanosecond())}
		if !k.unknown {
			k.expSec, k.expNsec = d.RefreshExpiry.Unix(), int32(d.RefreshExpiry.Nanosecond())
		}
		keys[i] = k
	}
	return keys
}

// less orders keys as Urgent does; the index last keeps the order stable.
func less(due []Due, a, b urgency) bool {
	switch {
	case a.unknown != b.unknown:
		return b.unknown
	case a.expSec != b.expSec:
		return a.expSec < b.expSec
	case a.expNsec != b.expNsec:
		return a.expNsec < b.expNsec
	case a.nextSec != b.nextSec:
		return a.nextSec < b.nextSec
	case a.nextNsec != b.nextNsec:
		return a.nextNsec < b.nextNsec
	}
	if x, y := due[a.i].ID, due[b.i].ID; x != y {
		return x < y
	}
	return a.i < b.i
}

func sortKeys(due []Due, keys []urgency) {
	slices.SortFunc(keys, func(a, b urgency) int {
		if less(due, a, b) {
			return -1
		}
		return 1 // keys are never equal: their indices differ
	})
}

// partition reorders keys (at least three) around a pivot, the median of
// the first, middle and last, and returns the pivot's index p: keys[:p]
// precede it and keys[p+1:] follow it.
func partition(due []Due, keys []urgency) int {
	m, last := len(keys)/2, len(keys)-1
	if less(due, keys[m], keys[0]) {
		keys[m], keys[0] = keys[0], keys[m]
	}
	if less(due, keys[last], keys[0]) {
		keys[last], keys[0] = keys[0], keys[last]
	}
	if less(due, keys[m], keys[last]) {
		keys[m], keys[last] = keys[last], keys[m]
	}
	pivot, p := keys[last], 0
	for j := 0; j < last; j++ {
		if less(due, keys[j], pivot) {
			keys[p], keys[j] = keys[j], keys[p]
			p++
		}
	}
	keys[p], keys[last] = keys[last], keys[p]
	return p
}

// selectFirst reorders keys so that its first n are the n most urgent (in
// no particular order): quickselect, with a sort when it goes badly.
func selectFirst(due []Due, keys []urgency, n int) {
	for budget := 2 * bits.Len(uint(len(keys))); len(keys) > 16 && n > 0 && n < len(keys); budget-- {
		if budget == 0 {
			sortKeys(due, keys)
			return
		}
		p := partition(due, keys)
		switch {
		case n <= p:
			keys = keys[:p]
		default:
			keys, n = keys[p+1:], n-p-1
		}
	}
	if n > 0 && n < len(keys) {
		sortKeys(due, keys)
	}
}

// groupKeys reorders keys into the groups a sort would make, in no order
// within a group: the first group is keys[:per-shift], then every per
// keys (shift in [0, per)). It partitions around a pivot, as quickselect
// does, only where a group's boundary falls inside the part, so that n
// keys in g groups cost about n·log2(g), not the n·log2(n) of a sort; it
// sorts a part whose pivots keep going badly.
func groupKeys(due []Due, keys []urgency, shift, per int) {
	// boundary reports whether a boundary falls strictly inside (lo, hi).
	inside := func(lo, hi int) bool {
		first := lo + 1 + ((per - (lo+1+shift)%per) % per) // first boundary > lo
		return first < hi
	}
	var group func(lo, hi, budget int)
	group = func(lo, hi, budget int) {
		for hi-lo > 1 && inside(lo, hi) {
			if budget == 0 || hi-lo <= 16 {
				sortKeys(due, keys[lo:hi])
				return
			}
			budget--
			part := keys[lo:hi]
			p := partition(due, part)
			if p < len(part)-1-p {
				group(lo, lo+p, budget)
				lo += p + 1
			} else {
				group(lo+p+1, hi, budget)
				hi = lo + p
			}
		}
	}
	group(0, len(keys), 3*bits.Len(uint(len(keys))))
}

// permute puts due[keys[p].i] at p, in place.
func permute(due []Due, keys []urgency) {
	for s := range keys {
		if keys[s].i < 0 {
			continue
		}
		tmp, p := due[s], s
		for {
			q := int(keys[p].i)
			keys[p].i = -1
			if q == s {
				due[p] = tmp
				break
			}
			due[p] = due[q]
			p = q
		}
	}
}

// Decide splits the due connections a sweep read at now into those it
// refreshes (at most capacity, most urgent first; capacity < 0 means all)
// and those it leaves: the k-th one left (in urgency order) is replanned to
// the sweep k/PerSweep + 1 periods later, but never past its Deadline, so
// that the next sweeps each find about what they can do and the most
// urgent first. due is reordered in place: Refresh is its start.
//
// Decide orders only what its decision depends on. A connection whose
// Deadline is before the next sweep (now + SweepPeriod) is replanned to
// its Deadline, or kept, wherever it ranks; every such one is more urgent
// than every other (the Deadline follows the expiry). So those are split
// from the rest in one pass; among them, only the capacity most urgent are
// found (quickselect) and sorted; the rest, whose ranks set only their
// sweeps, are put into their sweeps' groups (a multiple selection), not
// sorted. Decide thereby picks, orders and replans exactly what a full
// sort (Urgent) would, at O(n) plus the sort of what it refreshes and
// O(n log g) for the g sweeps the others are spread over: after an
// outage, a backlog of a million connections past their Deadline costs
// one pass, not a sort. Replan and Kept list the near-Deadline ones first,
// in no particular order, then the others sweep by sweep, in no
// particular order within a sweep.
func (c Config) Decide(due []Due, capacity int, now time.Time) Decision {
	c = c.WithDefaults()
	if capacity < 0 || capacity > len(due) {
		capacity = len(due)
	}
	keys := urgencyKeys(due)
	// Near: the Deadline (expiry − SafetyMargin) is before the next sweep.
	nearBefore := now.Add(c.SweepPeriod).Add(c.SafetyMargin)
	near := 0
	for j, k := range keys {
		if !k.unknown && due[k.i].RefreshExpiry.Before(nearBefore) {
			keys[near], keys[j] = keys[j], keys[near]
			near++
		}
	}
	per := c.perSweep()
	if per <= 0 {
		per = 1
	}
	rest := keys[near:]
	if capacity < near {
		selectFirst(due, keys[:near], capacity)
		sortKeys(due, keys[:capacity])
	} else {
		sortKeys(due, keys[:near])
		if r := capacity - near; r > 0 {
			selectFirst(due, rest, r)
			sortKeys(due, rest[:r])
			rest = rest[r:]
		}
	}
	// The rest are left, and not near: the k-th of them is the
	// (nearLeft+k)-th in line, and that rank's sweep is all that its plan
	// depends on. So they are put in their sweeps' groups (a multiple
	// selection), not sorted.
	nearLeft := max(near-capacity, 0)
	groupKeys(due, rest, nearLeft%per, per)
	permute(due, keys)
	d := Decision{Refresh: due[:capacity:capacity]}
	// Where each one left goes: ats[k] is the k-th's new next_refresh_at,
	// zero when it stays due.
	left := due[capacity:]
	ats := make([]time.Time, len(left))
	kept := 0
	for k, conn := range left {
		at := now.Add(time.Duration(k/per+1) * c.SweepPeriod)
		if dl := c.deadline(conn.RefreshExpiry); !dl.IsZero() && dl.Before(at) {
			at = dl
		}
		if !at.After(now) || !at.After(conn.NextRefreshAt) {
			kept++
			continue
		}
		ats[k] = at
	}
	if kept > 0 {
		d.Kept = make([]Due, 0, kept)
	}
	if kept < len(left) {
		d.Replan = make([]Replan, 0, len(left)-kept)
	}
	for k, conn := range left {
		if ats[k].IsZero() {
			d.Kept = append(d.Kept, conn)
		} else {
			d.Replan = append(d.Replan, Replan{ID: conn.ID, At: ats[k]})
		}
	}
	return d
}

// How many due connections a scheduled sweep reads from the due index:
// DueReadFactor times what it can refresh, at least MinDueRead, at most
// MaxDueRead, so that a backlog after an outage costs bounded reads and
// memory. The sweep reads the oldest next_refresh_at first (a merge of
// the index's shards).
const (
	DueReadFactor = 4
	MinDueRead    = 1000
	MaxDueRead    = 200_000
)

// DueReadLimit is how many due connections a scheduled sweep reads (see
// DueReadFactor); Decide chooses among them, and the others stay due as
// they are, for the next sweeps.
func (c Config) DueReadLimit() int {
	capacity := c.PerSweep()
	if capacity >= Unlimited/DueReadFactor {
		return MaxDueRead
	}
	return min(max(DueReadFactor*capacity, MinDueRead), MaxDueRead)
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
