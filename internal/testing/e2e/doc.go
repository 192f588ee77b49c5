// Package e2e holds the end-to-end tests of the deployed artefacts: the
// three Lambda bootstraps, built by the Makefile targets `sam build` runs
// (for this machine's architecture), each running under the AWS Lambda
// Runtime Interface Emulator, as in Lambda, against DynamoDB Local, a
// GoTo-compatible server (gototest) and a local Secrets Manager endpoint.
//
// The tests need the emulator (`make rie`) and DynamoDB Local
// (`make dynamodb-local`); `make test` installs both.
package e2e
