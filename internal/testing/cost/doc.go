// Package cost measures what one connection costs in AWS calls: the
// DynamoDB requests (by operation and by kind of item) of one connect
// (authorize, then callback) and of one refresh by the sweep, and the bytes
// of log they write. The counts feed the cost table of BENCHMARKS.md:
//
//	go test -count=1 -v -run TestCallCounts ./internal/testing/cost/
//
// It runs the production handlers (connect.App, refresh.NewHandler) against
// DynamoDB Local and gototest; an http.RoundTripper on the DynamoDB client
// counts every request that goes over the wire, retries included.
//
// TestKMSCallCounts does the same for KMS with TOKEN_KMS_KEY_ID set: 1,000
// connects, two sweeps of them and a fresh reader, each step one process,
// against local-kms behind a counting reverse proxy. It fails when the
// data-key cache does not hold; with COST_WRITE=<file> (as `make cost`
// sets it) it writes the counts and the monthly KMS cost into that file's
// generated section.
package cost
