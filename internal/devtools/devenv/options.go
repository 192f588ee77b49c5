package devenv

import "time"

// DefaultStartTimeout is how long StartDynamoDB waits for DynamoDB Local to
// answer when DynamoDBOptions.StartTimeout is zero.
const DefaultStartTimeout = 30 * time.Second

// DynamoDBOptions configures StartDynamoDB. The zero value starts a fresh
// in-memory DynamoDB Local on a free port (Docker if available, else the jar).
type DynamoDBOptions struct {
	// Endpoint is an already running DynamoDB (Local) endpoint, such as
	// "http://127.0.0.1:8000". When set, nothing is started and Close does
	// nothing.
	Endpoint string

	// UseEnvEndpoint makes StartDynamoDB use AWS_ENDPOINT_URL_DYNAMODB as
	// Endpoint when Endpoint is empty and that variable is set.
	UseEnvEndpoint bool

	// Dir is the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib.
	// Empty means $DYNAMODB_LOCAL_DIR, else <module root>/.cache/dynamodb-local.
	Dir string

	// Port is the TCP port DynamoDB Local listens on (127.0.0.1). Zero picks a
	// free port.
	Port int

	// DisableDocker skips the Docker backend even when a Docker engine answers,
	// so the jar is used.
	DisableDocker bool

	// StartTimeout bounds the wait for DynamoDB Local to answer.
	// Zero means DefaultStartTimeout.
	StartTimeout time.Duration
}
