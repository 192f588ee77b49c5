// Package bench holds `make bench` (see BENCHMARKS.md): every performance
// figure of the connector in one run, against DynamoDB Local and gototest.
//
//   - BenchmarkSweep and BenchmarkNaive: the refresh sweep at scale, rate
//     limit on and off, against the same sweep done naively (a table scan,
//     then one connection after the other; naive_test.go).
//   - BenchmarkSweepLatency: the sweep with DynamoDB behind the fault proxy's
//     delay and GoTo slowed down, and the concurrency the limit needs.
//   - BenchmarkColdStart: the real bootstraps under the Runtime Interface
//     Emulator against the hello worlds of hello/, timed by tap/ and by
//     metering proxies at the endpoints.
//   - BenchmarkWarmPath: Secrets Manager, DynamoDB and GoTo calls of warm
//     invocations, counted at the endpoints.
//   - BenchmarkHandler: the connect handlers' latency, own time apart from
//     DynamoDB's and GoTo's round trips, allocations.
//
// Each writes a Markdown fragment into $BENCH_OUT; report/ puts them into
// BENCHMARKS.md. The benchmarks run only with -bench; a plain `go test ./...`
// compiles them and runs nothing.
package bench
