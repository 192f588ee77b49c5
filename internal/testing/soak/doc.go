// Package soak is the fault soak behind `make soak`: thousands of
// connections with single-use refresh tokens, kept alive for minutes by a
// sweep process and several TokenSource processes at once, while faults are
// injected at random; it ends with an audit of what survived.
//
// One binary (internal/testing/soak/cmd) plays every part. Run without a role, it is the
// orchestrator:
//
//  1. starts DynamoDB Local (internal/devtools/devenv), a table, the fault
//     proxy (internal/testing/faultproxy) in front of DynamoDB Local, and
//     gototest with single-use refresh tokens and short token lives, behind a
//     ledger that records every refresh GoTo answers;
//  2. creates the connections through the consent flow (gototest's Approve,
//     Client.Exchange, Store.SaveConnection);
//  3. re-executes itself as separate OS processes: one sweep loop
//     (role "sweep") and several TokenSource callers (role "tokens") that
//     call GoTo's API with the tokens they get; they reach DynamoDB only
//     through the proxy and GoTo only on loopback (URLs passed in the
//     environment);
//  4. injects faults on a timeline scaled to the duration: GoTo 5xx, 429,
//     slow and garbage answers, DynamoDB cuts (30 s and 2 minutes), throttling
//     and latency, customers revoking access at GoTo, and SIGKILL of a
//     refresher process (restarted at once);
//  5. stops the faults and the processes, runs sweeps with everything healthy,
//     and audits every connection against GoTo.
//
// The audit (printed, and written to .cache/soak.txt) sorts every connection
// into: active with a refresh token GoTo still accepts and an access token
// GoTo's API accepts; reauth_required, each with its cause; LOST (active with
// a refresh token GoTo no longer accepts, or reauth_required without an
// injected permanent cause); and counts refresh tokens spent twice. A rotation
// GoTo answered to a process that was then SIGKILLed before the table had it
// is a limit of the design (the new token lived only in that process) and is
// counted apart. The orchestrator exits 1 when anything else was lost or a
// refresh token was spent twice.
//
// Settings come from SOAK_* environment variables (see Settings).
package soak
