package simulate

import (
	"math"
	"time"
)

// policy is the scheduling under test, on the virtual clock (times are
// offsets from the simulation's start; epoch turns them into the
// time.Time the real functions take).
type policy interface {
	// plan is when a connection whose tokens were written at now, with a
	// refresh token expiring at exp, is due next; planned is the plan the
	// refresh answered (noPlan: a sign-up, or a refresh after failures).
	plan(id int32, planned, now, exp time.Duration) time.Duration
	// signUp is when a connection signed up at now, with a refresh token
	// expiring at exp, is due first.
	signUp(id int32, now, exp time.Duration) time.Duration
	// retry is when a connection whose refresh failed at now, for the
	// failures-th time in a row, is tried again.
	retry(id int32, now, exp time.Duration, failures int) time.Duration
	// indexOrder reports a policy that takes due connections in the due
	// index's order and leaves the rest due (today's sweep); otherwise
	// decide orders them.
	indexOrder() bool
	// decide chooses, among the due connections a sweep at now read,
	// those it refreshes with room for capacity: it reorders due so that
	// the first n are refreshed in that order; the others stay due.
	// indexed is the due index's item count as DynamoDB reports it.
	decide(now time.Duration, due []dueConn, capacity, indexed int) (n int)
}

// dueConn is a due connection as the sweep sees it.
type dueConn struct {
	id   int32
	next time.Duration // its next_refresh_at
	exp  time.Duration // its refresh token's expiry
}

// noPlan is plan's planned for a connection without a plan to keep.
const noPlan = time.Duration(math.MinInt64)

// epoch is the simulation's start on the real calendar.
var epoch = time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return epoch.Add(d) }

func since(t time.Time) time.Duration { return t.Sub(epoch) }
