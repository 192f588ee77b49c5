// Package e2e holds the end-to-end tests of the deployed artefacts: the
// four Lambda bootstraps, built by the Makefile targets `sam build` runs
// (for this machine's architecture), each running under the AWS Lambda
// Runtime Interface Emulator, as in Lambda, against DynamoDB Local, a
// GoTo-compatible server (gototest), a local Secrets Manager endpoint and a
// local EventBridge endpoint (AWS_ENDPOINT_URL_EVENTBRIDGE) that receives
// the lifecycle events.
//
// The tests need the emulator (`make rie`) and DynamoDB Local
// (`make dynamodb-local`); `make test` installs both.
package e2e
