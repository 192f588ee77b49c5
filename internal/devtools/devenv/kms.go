package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// LocalAccountID is the account local-kms puts in its key ARNs.
const LocalAccountID = "111122223333"

// KMS is a running local-kms (github.com/nsmithuk/local-kms, a KMS that
// speaks AWS's protocol and binds the encryption context as AES-GCM
// additional data, as AWS does) started by StartKMS, with one symmetric key
// created in it. Its data lives in a temporary folder that Close removes.
type KMS struct {
	endpoint string
	keyARN   string
	dir      string
	proc     *jarProcess

	closeOnce sync.Once
	closeErr  error
}

// kmsBinary returns local-kms's path: $LOCAL_KMS, else
// <module root>/.cache/bin/local-kms, failing with the command that
// installs it.
func kmsBinary() (string, error) {
	bin := os.Getenv("LOCAL_KMS")
	if bin == "" {
		root, err := ModuleRoot(".")
		if err != nil {
			return "", fmt.Errorf("devenv: locating local-kms (set LOCAL_KMS): %w", err)
		}
		bin = filepath.Join(root, ".cache", "bin", "local-kms")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("devenv: local-kms is not installed (%s not found): run `make local-kms` (or `make test`/`make run`, which install it)", bin)
	}
	return bin, nil
}

// StartKMS starts local-kms on a free port with its data in a new temporary
// folder, waits until it answers (within the DynamoDB start timeout, see
// DefaultStartTimeout) and creates a symmetric encryption key. ctx only
// bounds the start; local-kms runs until Close.
func StartKMS(ctx context.Context) (*KMS, error) {
	bin, err := kmsBinary()
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		k, err := startKMSOnce(ctx, bin)
		if err == nil || attempt == attempts || !errors.Is(err, errPortTaken) {
			return k, err
		}
	}
}

func startKMSOnce(ctx context.Context, bin string) (*KMS, error) {
	port, err := choosePort(0)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "local-kms-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(port),
		"KMS_ACCOUNT_ID="+LocalAccountID,
		"KMS_REGION="+LocalRegion,
		"KMS_DATA_PATH="+filepath.Join(dir, "data"),
		"KMS_SEED_PATH="+filepath.Join(dir, "seed.yaml"), // absent: no seeding
	)
	p, err := startProcess(cmd)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("devenv: starting local-kms: %w", err)
	}
	k := &KMS{endpoint: localEndpoint(port), dir: dir, proc: p}
	if err := k.waitReady(ctx, startTimeout()); err != nil {
		_ = k.Close()
		return nil, err
	}
	return k, nil
}

// waitReady creates the key, polling until local-kms answers.
func (k *KMS) waitReady(ctx context.Context, timeout time.Duration) error {
	client := k.Client()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := minPoll
	for {
		pctx, pcancel := context.WithTimeout(wctx, probeTimeout)
		out, err := client.CreateKey(pctx, &kms.CreateKeyInput{Description: aws.String("gotoconnector local token key")},
			func(o *kms.Options) { o.RetryMaxAttempts = 1 })
		pcancel()
		if err == nil {
			k.keyARN = aws.ToString(out.KeyMetadata.Arn)
			return nil
		}
		select {
		case <-k.proc.exited():
			logs := k.proc.logs()
			if strings.Contains(logs, "address already in use") {
				return fmt.Errorf("devenv: local-kms: %w\n%s", errPortTaken, logs)
			}
			return fmt.Errorf("devenv: local-kms exited (%v):\n%s", k.proc.exitErr(), logs)
		case <-wctx.Done():
			return fmt.Errorf("devenv: local-kms at %s did not answer within %s: %v (on a loaded machine, set DYNAMODB_LOCAL_START_TIMEOUT=10m)\n%s",
				k.endpoint, timeout, err, k.proc.logs())
		case <-time.After(delay):
		}
		delay = min(2*delay, maxPoll)
	}
}

// Endpoint is local-kms's URL, such as "http://127.0.0.1:4599": the value
// for AWS_ENDPOINT_URL_KMS.
func (k *KMS) Endpoint() string { return k.endpoint }

// KeyARN is the ARN of the symmetric key StartKMS created: the value for
// TOKEN_KMS_KEY_ID.
func (k *KMS) KeyARN() string { return k.keyARN }

// Env returns environment entries ("KEY=value") that make a subprocess's
// functions encrypt tokens under this local-kms: AWS_ENDPOINT_URL_KMS and
// TOKEN_KMS_KEY_ID.
func (k *KMS) Env() []string {
	return []string{"AWS_ENDPOINT_URL_KMS=" + k.endpoint, "TOKEN_KMS_KEY_ID=" + k.keyARN}
}

// Client returns a KMS client for local-kms, with the local region and
// dummy credentials.
func (k *KMS) Client() *kms.Client {
	return kms.New(kms.Options{
		Region:       LocalRegion,
		BaseEndpoint: aws.String(k.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(LocalAccessKeyID, LocalSecretAccessKey, ""),
	})
}

// Close stops local-kms and removes its data. It is idempotent.
func (k *KMS) Close() error {
	k.closeOnce.Do(func() {
		if err := k.proc.stop(); err != nil {
			k.closeErr = err
		}
		if err := os.RemoveAll(k.dir); err != nil && k.closeErr == nil {
			k.closeErr = err
		}
	})
	return k.closeErr
}
