// Package bench measures the refresh sweep (`make bench`, see
// BENCHMARKS.md): how many connections per second the Sweeper refreshes
// against DynamoDB Local and gototest, with the rate limit on and off, and
// how the same sweep done naively (a table scan, then one connection after
// the other) compares.
//
// The benchmarks live in bench_test.go and run only with -bench; a plain
// `go test ./...` compiles them and runs nothing. The naive sweep is here,
// in ordinary code, so that what it does is easy to read.
package bench
