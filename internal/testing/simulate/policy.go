package simulate

import "time"

// policy is the scheduling under test, on the virtual clock (times are
// offsets from the simulation's start; epoch turns them into the
// time.Time the real functions take).
type policy interface {
	// plan is when a connection whose tokens were written at now, with a
	// refresh token expiring at exp, is due next.
	plan(id int32, now, exp time.Duration) time.Duration
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
	// decide chooses, among the due connections, those a sweep at now with
	// room for capacity refreshes does: it reorders due so that the first
	// n are refreshed in that order, and returns n and, for each of the
	// others (due[n:]), when it comes due again (replan[i-n]; a time ≤ now
	// leaves it due).
	decide(now time.Duration, due []dueConn, capacity int) (n int, replan []time.Duration)
}

// dueConn is a due connection as the sweep sees it.
type dueConn struct {
	id   int32
	next time.Duration // its next_refresh_at
	exp  time.Duration // its refresh token's expiry
}

// epoch is the simulation's start on the real calendar.
var epoch = time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return epoch.Add(d) }

func since(t time.Time) time.Duration { return t.Sub(epoch) }
