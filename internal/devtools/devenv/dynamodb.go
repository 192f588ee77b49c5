package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// backend is what runs behind a DynamoDB: a java process, a Docker container,
// or nothing (an external endpoint).
type backend interface {
	// exited is closed when the backend stops on its own; nil if that cannot
	// be observed.
	exited() <-chan struct{}
	// exitErr says why the backend stopped; valid once exited is closed.
	exitErr() error
	// logs returns the last lines of the backend's output.
	logs() string
	// stop stops the backend and waits until it is gone.
	stop() error
}

// DynamoDB is a running DynamoDB Local (or an external endpoint) started by
// StartDynamoDB. Call Close when done.
type DynamoDB struct {
	endpoint string
	backend  backend // nil for an external endpoint

	closeOnce sync.Once
	closeErr  error
}

// StartDynamoDB starts DynamoDB Local and returns once it answers ListTables,
// or fails after opts.StartTimeout (DefaultStartTimeout by default) with the
// last lines of its output. ctx only bounds the start: the emulator runs
// until Close.
//
// The backend is, in order: the endpoint in opts.Endpoint (or
// AWS_ENDPOINT_URL_DYNAMODB if opts.UseEnvEndpoint), which is only waited
// for; the amazon/dynamodb-local Docker image when a Docker engine answers
// (unless opts.DisableDocker); the DynamoDB Local jar in opts.Dir,
// $DYNAMODB_LOCAL_DIR or <module root>/.cache/dynamodb-local, run with java.
func StartDynamoDB(ctx context.Context, opts DynamoDBOptions) (*DynamoDB, error) {
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = startTimeout()
	}

	endpoint := opts.Endpoint
	if endpoint == "" && opts.UseEnvEndpoint {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	}
	if endpoint != "" {
		d := &DynamoDB{endpoint: strings.TrimRight(endpoint, "/")}
		if err := d.waitReady(ctx, timeout); err != nil {
			return nil, err
		}
		return d, nil
	}

	useDocker := !opts.DisableDocker && dockerAvailable(ctx)
	var dir string
	if !useDocker {
		var err error
		if dir, err = jarDir(opts.Dir); err != nil {
			return nil, err
		}
	}

	// A port picked as free can be taken before DynamoDB Local binds it;
	// retry with another one in that case.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := choosePort(opts.Port)
		if err != nil {
			return nil, err
		}
		var b backend
		if useDocker {
			b, err = startDocker(ctx, port)
		} else {
			b, err = startJar(dir, port)
		}
		if err != nil {
			return nil, err
		}
		d := &DynamoDB{endpoint: localEndpoint(port), backend: b}
		err = d.waitReady(ctx, timeout)
		if err == nil {
			return d, nil
		}
		_ = d.Close()
		if opts.Port != 0 || attempt == attempts || !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
}

// Endpoint returns the URL of the DynamoDB endpoint, such as
// "http://127.0.0.1:8000".
func (d *DynamoDB) Endpoint() string { return d.endpoint }

// Close stops DynamoDB Local (the java process group or the Docker container)
// and waits until it is gone. It does nothing for an external endpoint. Close
// is idempotent: later calls return the first result.
func (d *DynamoDB) Close() error {
	d.closeOnce.Do(func() {
		if d.backend != nil {
			if err := d.backend.stop(); err != nil {
				d.closeErr = fmt.Errorf("devenv: stopping DynamoDB Local at %s: %w", d.endpoint, err)
			}
		}
	})
	return d.closeErr
}

// localEndpoint is the URL of DynamoDB Local on port.
func localEndpoint(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }
