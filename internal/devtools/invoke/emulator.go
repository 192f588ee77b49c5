// Package invoke runs a Lambda function's bootstrap on this machine under
// the AWS Lambda Runtime Interface Emulator (RIE), the way `sam local
// invoke` runs it inside its container: the bootstrap built by the
// Makefile's build-<LogicalId> target (the one `sam build` runs), the
// environment SAM gives it (template.yaml and env.json), the event POSTed to
// the emulator, the function's response returned as is.
//
// `make invoke` (cmd/invoke) uses it when the SAM CLI or Docker is missing,
// and the end-to-end tests (internal/e2e) run the real bootstraps with it.
package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/freeport"
)

// RIEEnv names the environment variable that holds the emulator's path (the
// Makefile exports it).
const RIEEnv = "AWS_LAMBDA_RIE"

// InvocationsPath is where the emulator takes invocations.
const InvocationsPath = "/2015-03-31/functions/function/invocations"

// FindRIE returns the emulator binary: $AWS_LAMBDA_RIE, else
// <root>/.cache/bin/aws-lambda-rie, where `make rie` installs it.
func FindRIE(root string) (string, error) {
	path := os.Getenv(RIEEnv)
	if path == "" {
		path = filepath.Join(root, ".cache", "bin", "aws-lambda-rie")
	}
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("the AWS Lambda Runtime Interface Emulator is not installed (%s is not an executable file): "+
			"run `make rie` (`make test` and `make invoke` install it too)", path)
	}
	return path, nil
}

// Options configure Start.
type Options struct {
	// RIE is the emulator binary (see FindRIE).
	RIE string
	// Bootstrap is the function's bootstrap executable.
	Bootstrap string
	// Env is the function's whole environment ("NAME=value"); nothing of
	// the caller's environment is inherited.
	Env []string
	// Output receives the emulator's and the function's output (START,
	// END and REPORT lines and the function's logs); nil discards it.
	Output io.Writer
	// LogLevel is the emulator's own log level; empty means "error", as in
	// sam local invoke's container.
	LogLevel string
	// StartTimeout bounds the wait for the emulator to listen; zero means
	// 15 seconds.
	StartTimeout time.Duration
}

// Emulator is a bootstrap running under the RIE. Close stops both.
type Emulator struct {
	// URL is the emulator's base URL (http://127.0.0.1:port).
	URL string

	cmd       *exec.Cmd
	done      chan struct{} // closed when the emulator has exited
	waitErr   error
	closeOnce sync.Once
	client    *http.Client
}

// Start runs the bootstrap under the emulator, listening on free ports of
// 127.0.0.1, and returns once the emulator accepts connections. The
// function itself starts (its init phase) with the first invocation, as in
// Lambda. ctx bounds the start only; the emulator runs until Close.
func Start(ctx context.Context, o Options) (*Emulator, error) {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	if o.LogLevel == "" {
		o.LogLevel = "error"
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	bootstrap, err := filepath.Abs(o.Bootstrap)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bootstrap); err != nil || st.IsDir() {
		return nil, fmt.Errorf("bootstrap %s not found: build it first", bootstrap)
	}
	// A port found free can be taken before the emulator binds it: retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := start(ctx, o, bootstrap)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, o Options, bootstrap string) (*Emulator, error) {
	ports, err := freeport.Pick(2)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	cmd := exec.Command(o.RIE,
		"--log-level", o.LogLevel,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		bootstrap)
	// The emulator runs the bootstrap in its working directory, as Lambda
	// runs it in /var/task (LAMBDA_TASK_ROOT).
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{}, o.Env...)
	cmd.Stdout = o.Output
	cmd.Stderr = o.Output
	cmd.SysProcAttr = processGroupAttr()
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.RIE, err)
	}
	e := &Emulator{
		URL:    "http://" + addr,
		cmd:    cmd,
		done:   make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	go func() {
		e.waitErr = cmd.Wait()
		close(e.done)
	}()
	if err := e.waitListening(ctx, addr, o.StartTimeout); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("the Lambda Runtime Interface Emulator exited before listening on %s: %v", addr, e.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Lambda Runtime Interface Emulator did not listen on %s within %s", addr, timeout)
		}
	}
}

// Invoke sends one event and returns the function's response: its JSON
// result, or Lambda's error object ({"errorMessage": ..., "errorType": ...})
// when the function returned an error (see FunctionError). A non-200 answer
// of the emulator (a failed init, a crash) is an error that carries the
// answer's body.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+InvocationsPath, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		select {
		case <-e.done:
			return nil, fmt.Errorf("the Lambda Runtime Interface Emulator exited: %v", e.waitErr)
		default:
		}
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the function's response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, &InvokeError{Status: resp.StatusCode, Body: body}
	}
	return body, nil
}

// InvokeError is a non-200 answer of the emulator.
type InvokeError struct {
	Status int
	Body   []byte
}

func (e *InvokeError) Error() string {
	return fmt.Sprintf("the Lambda Runtime Interface Emulator answered %d %s: %s",
		e.Status, http.StatusText(e.Status), bytes.TrimSpace(e.Body))
}

// FunctionError reports whether a response is Lambda's error object, and
// returns its type and message.
func FunctionError(response []byte) (errorType, message string, ok bool) {
	var v struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    string  `json:"errorType"`
	}
	if json.Unmarshal(response, &v) != nil || v.ErrorMessage == nil {
		return "", "", false
	}
	return v.ErrorType, *v.ErrorMessage, true
}

// Close stops the emulator and the function it runs (which lives in a
// process group of its own), and waits until they are gone. It is
// idempotent.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		runtimes := childProcesses(e.cmd.Process.Pid)
		select {
		case <-e.done:
		default:
			// On SIGTERM the emulator kills the runtime and exits.
			_ = terminate(e.cmd.Process, false)
			select {
			case <-e.done:
			case <-time.After(3 * time.Second):
				_ = terminate(e.cmd.Process, true)
				<-e.done
			}
		}
		killLeftovers(e.cmd.Process.Pid, runtimes)
	})
	return nil
}

// Done is closed when the emulator has exited.
func (e *Emulator) Done() <-chan struct{} { return e.done }
