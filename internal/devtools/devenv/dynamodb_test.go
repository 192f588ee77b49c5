package devenv

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func listTables(t *testing.T, d *DynamoDB) error {
	t.Helper()
	c, err := d.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTables(t.Context(), &dynamodb.ListTablesInput{},
		func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	return err
}

// TestStartAndClose starts a second DynamoDB Local from the jar and checks
// that it outlives the start context and that Close removes it entirely.
func TestStartAndClose(t *testing.T) {
	t.Parallel()
	if _, err := jarDir(""); err != nil {
		if dockerAvailable(t.Context()) {
			t.Skipf("jar not installed (Docker is used instead): %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	d, err := StartDynamoDB(ctx, DynamoDBOptions{DisableDocker: true})
	cancel() // only bounds the start
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, ok := d.backend.(*jarProcess); !ok {
		t.Fatalf("backend = %T, want *jarProcess", d.backend)
	}
	if !strings.HasPrefix(d.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint() = %q", d.Endpoint())
	}

	time.Sleep(100 * time.Millisecond)
	if err := listTables(t, d); err != nil {
		t.Fatalf("ListTables after the start context was cancelled: %v", err)
	}

	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := checkStopped(d); err != nil {
		t.Fatal(err)
	}
}

func TestExternalEndpoint(t *testing.T) {
	d, err := StartDynamoDB(t.Context(), DynamoDBOptions{Endpoint: testDB.Endpoint() + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Endpoint() != testDB.Endpoint() {
		t.Errorf("Endpoint() = %q, want %q", d.Endpoint(), testDB.Endpoint())
	}
	if d.backend != nil {
		t.Errorf("backend = %T, want none", d.backend)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := listTables(t, testDB); err != nil {
		t.Fatalf("shared DynamoDB Local stopped by Close of an external endpoint: %v", err)
	}
}

func TestEnvEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", testDB.Endpoint())
	d, err := StartDynamoDB(t.Context(), DynamoDBOptions{UseEnvEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Endpoint() != testDB.Endpoint() || d.backend != nil {
		t.Errorf("got endpoint %q backend %T, want %q and none", d.Endpoint(), d.backend, testDB.Endpoint())
	}
}

func TestExternalEndpointNotAnswering(t *testing.T) {
	port, err := choosePort(0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartDynamoDB(t.Context(), DynamoDBOptions{
		Endpoint:     "http://127.0.0.1:" + strconv.Itoa(port),
		StartTimeout: 300 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "did not answer within") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestMissingJar(t *testing.T) {
	const want = "run `make dynamodb-local` (or `make test`/`make run`, which install it)"
	dir := t.TempDir()

	_, err := StartDynamoDB(t.Context(), DynamoDBOptions{Dir: dir, DisableDocker: true})
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Dir: err = %v, want it to name %s and say %s", err, dir, want)
	}

	t.Setenv("DYNAMODB_LOCAL_DIR", dir)
	_, err = StartDynamoDB(t.Context(), DynamoDBOptions{DisableDocker: true})
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("DYNAMODB_LOCAL_DIR: err = %v, want it to name %s and say %s", err, dir, want)
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = StartDynamoDB(t.Context(), DynamoDBOptions{Port: port, DisableDocker: true})
	if err == nil || !strings.Contains(err.Error(), "not free") {
		t.Fatalf("err = %v, want port %d not free", err, port)
	}
}

func TestLocalAWSEnv(t *testing.T) {
	got := strings.Join(LocalAWSEnv("http://127.0.0.1:1234"), " ")
	want := "AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local " +
		"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1234"
	if got != want {
		t.Errorf("LocalAWSEnv = %q, want %q", got, want)
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(2)
	b.Write([]byte("one\ntw"))
	b.Write([]byte("o\r\nthree\nfou"))
	if got, want := b.String(), "two\nthree\nfou"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestJarExitsEarly checks that a DynamoDB Local that dies during the start
// is reported at once, with its output.
func TestJarExitsEarly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, jarName), []byte("not a jar"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := StartDynamoDB(t.Context(), DynamoDBOptions{Dir: dir, DisableDocker: true})
	if err == nil || !strings.Contains(err.Error(), "exited before answering") ||
		!strings.Contains(err.Error(), "last output:") {
		t.Fatalf("err = %v, want an early exit with the output", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to notice the exit", d)
	}
	t.Log(err)
}
