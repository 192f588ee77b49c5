// Package simulate is `make simulate`: the connector's refresh scheduling on
// a virtual clock, over 60 simulated days, from 1,000 to 10 million
// connections, against a model of everything around it:
//
//   - the due index: each connection's next_refresh_at, its refresh
//     token's expiry and its status, in one compact array indexed by id
//     and bucketed by the sweep they come due in (a time wheel of sweeps),
//     so that 10 million connections fit in a few hundred MB and a sweep
//     touches only what is due; the due ones a sweep left wait in a heap in
//     next_refresh_at order, as the index returns them;
//   - the sweep, as pkg/gotoauth's: one run per EventBridge period, working
//     for the function timeout minus the sweep's real reserve (gotoauth's
//     SweepReserve) at GoTo's rate limit, so it starts at most working
//     time × rate refreshes; it reads at most DueReadLimit of the due
//     connections, the oldest plans first, lets Decide choose, and leaves
//     the others due as they are;
//   - GoTo: every refresh in an outage fails and is retried with the
//     connector's backoff;
//   - the population: the connections at the start, sign-up bursts, and a
//     daily share that leaves and arrives.
//
// Its scheduling decisions are not modelled: they are the functions the
// sweep calls (see policy.go). The baseline is today's fixed schedule
// (gotoauth.Schedule.Next, deferral in index order).
//
// Run reports, per scenario, the peak hourly load as a share of capacity,
// the smallest refresh-token life left and the connections that expired;
// report/ writes them into BENCHMARKS.md and docs/deploy.md and draws one
// PNG per scenario.
package simulate
