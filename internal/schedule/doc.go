// Package schedule holds the connector's refresh scheduling decisions as
// pure, deterministic functions of their inputs: no clock, no DynamoDB, no
// randomness. pkg/gotoauth's store and sweep call them with the real time
// and what they read from the due index; the simulator (make simulate)
// calls the very same functions on a virtual clock.
//
// Four decisions live here:
//
//   - Config's capacity arithmetic: how many refreshes one sweep and one day
//     allow, from the provider's rate limit and the sweep's working time
//     (the function timeout minus the sweep's reserve).
//   - Config.ObserveLoad, the load: the active connections a sweep plans
//     for, from the due index's item count and the connections it found
//     due.
//   - Config.NextAfter (Next for a new connection), the per-connection
//     plan: when a connection refreshed at now is due next. A connection
//     keeps its place: it is planned a whole number of effective intervals
//     after its last plan, so one refreshed on time is planned exactly one
//     interval later (no extra calls in steady state). One without a place
//     (new, or after failed refreshes) lands at its Phase, a hash of its id
//     and the time, within the interval, so that any sign-up pattern
//     (100,000 connections created in one hour) is spread evenly from the
//     first plan on. The plan is never later than the refresh token's
//     expiry minus SafetyMargin.
//   - Config.Decide, the sweep decision: of the due connections a sweep
//     read, which to refresh now (earliest refresh-token expiry first); the
//     rest stay due for the sweeps that follow. It reports the numbers a
//     sweep reports (Report).
//
// The effective interval is REFRESH_INTERVAL while the load fits the
// capacity, and is stretched to the interval at which the connections fit
// TargetUtilization of the daily capacity when it does not, never past the
// refresh token's lifetime minus SafetyMargin: refreshes happen as early as
// REFRESH_INTERVAL when the load allows it and as late as is safe when the
// load needs it. The margin is the headroom kept for outages (GoTo down for
// three days at the default 72h) and for the retries of failing refreshes.
package schedule
