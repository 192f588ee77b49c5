// Package devenv starts the local development environment of the connector:
// DynamoDB Local (the official AWS emulator) and the connections table,
// created from the exact definition in template.yaml.
//
// It is used by local runs (make run) and by integration tests, never by the
// deployed Lambda functions.
//
// Typical use:
//
//	db, err := devenv.StartDynamoDB(ctx, devenv.DynamoDBOptions{UseEnvEndpoint: true})
//	if err != nil { ... }
//	defer db.Close()
//	client, err := db.Client(ctx)
//	if err != nil { ... }
//	err = devenv.CreateTable(ctx, client, "connections")
//
// StartDynamoDB picks its backend in this order:
//
//  1. an already running endpoint (DynamoDBOptions.Endpoint, or
//     AWS_ENDPOINT_URL_DYNAMODB when DynamoDBOptions.UseEnvEndpoint is set):
//     nothing is started;
//  2. Docker, when a Docker engine answers: the amazon/dynamodb-local image;
//  3. the DynamoDB Local jar installed by `make dynamodb-local` (run with java).
//
// Whatever runs, it lives until Close; cancelling the context given to
// StartDynamoDB only aborts the start.
//
// Subprocesses (a Lambda under test, the local server) reach the emulator
// through the environment returned by LocalAWSEnv.
package devenv
