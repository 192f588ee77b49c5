// Package schedule holds the connector's refresh scheduling decisions as
// pure, deterministic functions of their inputs: no clock, no DynamoDB, no
// randomness. pkg/gotoauth's store and sweep call them with the real time
// and what they read from the due index; the simulator (make simulate)
// calls the very same functions on a virtual clock.
//
// Three decisions live here:
//
//   - Config's capacity arithmetic: how many refreshes one sweep and one day
//     allow, from the provider's rate limit and the sweep's working time
//     (the function timeout minus the sweep's reserve).
//   - Config.Next, the per-connection plan: when a connection refreshed at
//     now is due next. Every connection has a fixed phase, a hash of its id;
//     its next refresh is the instant congruent to that phase modulo the
//     effective interval, inside (now, now+interval]. A connection refreshed
//     on time is therefore planned exactly one interval later (no extra
//     calls in steady state), and any sign-up pattern (100,000 connections
//     created in one hour) is spread evenly over the interval from the
//     first plan on. The plan is never later than the refresh token's
//     expiry minus SafetyMargin.
//   - Config.Decide, the sweep decision: of the due connections a sweep
//     read, which to refresh now (earliest refresh-token expiry first) and
//     where to re-plan the rest, spread over the sweeps that follow and
//     never past expiry minus SafetyMargin; with the numbers a sweep
//     reports (Report).
//
// The effective interval is REFRESH_INTERVAL while the load fits the
// capacity, and is stretched to the interval at which the connections fit
// TargetUtilization of the daily capacity when it does not, never past the
// refresh token's lifetime minus SafetyMargin: refreshes happen as early as
// REFRESH_INTERVAL when the load allows it and as late as is safe when the
// load needs it. The margin is the headroom kept for outages (GoTo down for
// three days at the default 72h) and for the retries of failing refreshes.
package schedule
