package devenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// errPortTaken marks a start that failed because the port was already bound.
var errPortTaken = errors.New("port already in use")

// Readiness polling: first retry after minPoll, doubling up to maxPoll; each
// ListTables gets at most probeTimeout.
const (
	minPoll      = 50 * time.Millisecond
	maxPoll      = 500 * time.Millisecond
	probeTimeout = 2 * time.Second
)

// waitReady polls ListTables through the SDK until it succeeds, the backend
// exits, timeout passes or ctx is done.
func (d *DynamoDB) waitReady(ctx context.Context, timeout time.Duration) error {
	client, err := d.Client(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var exited <-chan struct{}
	if d.backend != nil {
		exited = d.backend.exited()
	}
	delay := minPoll
	for {
		select {
		case <-exited:
			return d.exitedError()
		default:
		}

		pctx, pcancel := context.WithTimeout(wctx, probeTimeout)
		_, err := client.ListTables(pctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)},
			func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		pcancel()
		if err == nil {
			return nil
		}

		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("devenv: waiting for DynamoDB at %s: %w", d.endpoint, ctx.Err())
			}
			return fmt.Errorf("devenv: DynamoDB at %s did not answer within %s: %v (on a loaded machine, set DYNAMODB_LOCAL_START_TIMEOUT=10m or run fewer test binaries at once: go test -p 1 ./...)%s",
				d.endpoint, timeout, err, d.logsSuffix())
		case <-exited:
			return d.exitedError()
		case <-time.After(delay):
		}
		delay = min(2*delay, maxPoll)
	}
}

// exitedError describes a backend that stopped before answering.
func (d *DynamoDB) exitedError() error {
	logs := d.backend.logs()
	err := fmt.Errorf("devenv: DynamoDB Local (%s) exited before answering: %v%s",
		d.endpoint, d.backend.exitErr(), d.logsSuffix())
	if strings.Contains(logs, "Address already in use") || strings.Contains(logs, "BindException") {
		return fmt.Errorf("%w (%w)", err, errPortTaken)
	}
	return err
}

// logsSuffix formats the backend's last output lines for an error message.
func (d *DynamoDB) logsSuffix() string {
	if d.backend == nil {
		return ""
	}
	logs := strings.TrimRight(d.backend.logs(), "\n")
	if logs == "" {
		return " (no output)"
	}
	return "\nlast output:\n" + logs
}
