// Package hello holds the floors the cold-start benchmark (make bench,
// BENCHMARKS.md) compares the connector's bootstraps with, each a small
// main package built with the same flags in the same run:
//
//   - plain: an aws-lambda-go hello world;
//   - clients: a hello world that builds the AWS clients the connector
//     builds (AWS configuration, DynamoDB, Secrets Manager) at init;
//   - calls: the same, whose handler calls the AWS operations the event
//     names, in order, as the connector's first invocation does.
//
// They are used only by the benchmark.
package hello
