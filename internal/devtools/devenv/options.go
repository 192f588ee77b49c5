package devenv

import (
	"os"
	"time"
)

// DefaultStartTimeout is how long StartDynamoDB waits for DynamoDB Local to
// answer when DynamoDBOptions.StartTimeout is zero and
// DYNAMODB_LOCAL_START_TIMEOUT is unset. A cold JVM starts in 3 to 10 s on
// an idle 2-core machine, but took over 30 s on one loaded by parallel test
// binaries; 3 minutes holds there too.
const DefaultStartTimeout = 3 * time.Minute

// startTimeout is DYNAMODB_LOCAL_START_TIMEOUT (a Go duration) when set,
// else DefaultStartTimeout.
func startTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("DYNAMODB_LOCAL_START_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return DefaultStartTimeout
}

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
