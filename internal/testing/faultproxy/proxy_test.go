package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// fixture is DynamoDB Local with a fresh table, the proxy in front of it,
// and an SDK client that goes through the proxy.
type fixture struct {
	p      *faultproxy.Proxy
	db     *dynamodb.Client // through the proxy
	direct *dynamodb.Client // straight to DynamoDB Local
	table  string
}

// newFixture builds the fixture; attempts is the SDK's RetryMaxAttempts.
func newFixture(t *testing.T, attempts int) *fixture {
	t.Helper()
	ddb, _ := testutil.DynamoDB(t)
	direct, table := testutil.Table(t)
	p, err := faultproxy.Start(ddb.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(devenv.LocalRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			devenv.LocalAccessKeyID, devenv.LocalSecretAccessKey, "")),
		config.WithRetryMaxAttempts(attempts),
	)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(p.URL())
		o.DisableValidateResponseChecksum = true
	})
	return &fixture{p: p, db: db, direct: direct, table: table}
}

func (f *fixture) put(ctx context.Context, pk string) error {
	_, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(f.table),
		Item:      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
	})
	return err
}

func (f *fixture) get(ctx context.Context, pk string) (bool, error) {
	out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(f.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	return out.Item != nil, nil
}

// exists reads pk straight from DynamoDB Local, around the proxy.
func (f *fixture) exists(t *testing.T, pk string) bool {
	t.Helper()
	return testutil.Item(t, f.direct, f.table, pk) != nil
}

func TestPassThroughCountsOperations(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	var seen []string
	done := make(chan string, 10)
	f.p.OnRequest(func(op string) { done <- op })
	if err := f.put(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.get(ctx, "a"); err != nil || !ok {
		t.Fatalf("get through the proxy: found=%v err=%v", ok, err)
	}
	for range 2 {
		seen = append(seen, <-done)
	}
	if strings.Join(seen, ",") != "PutItem,GetItem" {
		t.Errorf("OnRequest saw %v, want PutItem,GetItem", seen)
	}
	c := f.p.Counts()
	if c["PutItem"] != 1 || c["GetItem"] != 1 {
		t.Errorf("Counts = %v, want one PutItem and one GetItem", c)
	}
	if n := len(f.p.Faults()); n != 0 {
		t.Errorf("Faults = %v in pass-through", f.p.Faults())
	}
}

func TestCutFailsCallsUntilRestore(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	f.p.Cut()
	err := f.put(ctx, "cut")
	if err == nil {
		t.Fatal("PutItem succeeded through a cut")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		t.Fatalf("a cut must fail at the connection level, got an API error %q: %v", api.ErrorCode(), err)
	}
	if f.exists(t, "cut") {
		t.Error("the item reached DynamoDB through a cut")
	}
	if got := f.p.Faults()[faultproxy.FaultCut]; got != 2 {
		t.Errorf("cut faults = %d, want 2 (the SDK retries a reset once with RetryMaxAttempts 2)", got)
	}

	f.p.Restore()
	if err := f.put(ctx, "cut"); err != nil {
		t.Fatalf("PutItem after Restore: %v", err)
	}
	if !f.exists(t, "cut") {
		t.Error("the item written after Restore is not in DynamoDB")
	}
}

func TestThrottleIsAThrottlingExceptionTheSDKRetries(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	f.p.Throttle()
	_, err := f.get(ctx, "x")
	var te *types.ThrottlingException
	var api smithy.APIError
	switch {
	case errors.As(err, &te):
	case errors.As(err, &api) && api.ErrorCode() == "ThrottlingException":
	default:
		t.Fatalf("want a ThrottlingException, got %v", err)
	}
	// The SDK classifies it as retryable: it tried all 3 attempts.
	if got := f.p.Counts()["GetItem"]; got != 3 {
		t.Errorf("GetItem reached the proxy %d times, want 3 (retried as throttling)", got)
	}
	if got := f.p.Faults()[faultproxy.FaultThrottle]; got != 3 {
		t.Errorf("throttle faults = %d, want 3", got)
	}
	f.p.Restore()
	if _, err := f.get(ctx, "x"); err != nil {
		t.Fatalf("GetItem after Restore: %v", err)
	}
}

func TestDelayAddsLatency(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	const d = 300 * time.Millisecond
	f.p.Delay(d)
	start := time.Now()
	if err := f.put(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Errorf("PutItem took %s through a %s delay", took, d)
	}
	if got := f.p.Faults()[faultproxy.FaultDelay]; got != 1 {
		t.Errorf("delay faults = %d, want 1", got)
	}
}

func TestOnlyScopesTheFaults(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	f.p.Only("PutItem")
	f.p.Cut()
	if _, err := f.get(ctx, "a"); err != nil {
		t.Fatalf("GetItem is out of scope but failed: %v", err)
	}
	if err := f.put(ctx, "a"); err == nil {
		t.Fatal("PutItem is in scope of the cut but succeeded")
	}
	f.p.Only()
	if _, err := f.get(ctx, "a"); err == nil {
		t.Fatal("GetItem succeeded once the cut applies to every operation")
	}
}

// started runs fn in a goroutine once the proxy has seen a request for op
// from it, and returns fn's result channel.
func started(t *testing.T, p *faultproxy.Proxy, op string, fn func() error) <-chan error {
	t.Helper()
	arrived := make(chan struct{}, 1)
	p.OnRequest(func(o string) {
		if o == op {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	res := make(chan error, 1)
	go func() { res <- fn() }()
	select {
	case <-arrived:
	case err := <-res:
		t.Fatalf("%s returned before reaching the proxy: %v", op, err)
	}
	return res
}

func TestHangHoldsRequestsThenForwardsThem(t *testing.T) {
	f := newFixture(t, 1)
	f.p.Hang()
	res := started(t, f.p, "PutItem", func() error { return f.put(context.Background(), "held") })
	select {
	case err := <-res:
		t.Fatalf("PutItem returned during the hang: %v", err)
	default:
	}
	if f.exists(t, "held") {
		t.Fatal("a held request reached DynamoDB")
	}
	f.p.Restore()
	if err := <-res; err != nil {
		t.Fatalf("held PutItem after Restore: %v", err)
	}
	if !f.exists(t, "held") {
		t.Error("the held PutItem was not forwarded after Restore")
	}
}

func TestHangDropsRequestsWhoseClientGaveUp(t *testing.T) {
	f := newFixture(t, 1)
	f.p.Hang()
	ctx, cancel := context.WithCancel(context.Background())
	res := started(t, f.p, "PutItem", func() error { return f.put(ctx, "abandoned") })
	cancel()
	if err := <-res; err == nil {
		t.Fatal("a cancelled PutItem succeeded during a hang")
	}
	// The client has returned; the proxy notices the closed connection a
	// moment later. Restore only once it has dropped the request, or the
	// held request would be forwarded as if its client still waited.
	deadline := time.Now().Add(30 * time.Second)
	for f.p.Faults()[faultproxy.FaultAbandoned] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not drop the abandoned request within 30 s (on a very loaded machine, raise this limit)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.p.Restore()
	// A request after the abandoned one is answered, so the proxy has
	// handled the abandoned one by then or never will forward it.
	if err := f.put(context.Background(), "after"); err != nil {
		t.Fatal(err)
	}
	if f.exists(t, "abandoned") {
		t.Error("a request whose client gave up was forwarded after Restore")
	}
}

func TestCutDuringAHangResetsHeldRequests(t *testing.T) {
	f := newFixture(t, 1)
	f.p.Hang()
	res := started(t, f.p, "PutItem", func() error { return f.put(context.Background(), "held") })
	f.p.Cut()
	if err := <-res; err == nil {
		t.Fatal("a held PutItem succeeded after a cut")
	}
	if f.exists(t, "held") {
		t.Error("a held request reached DynamoDB after a cut")
	}
}

// A cut also resets requests already forwarded and waiting for their answer.
// The upstream here is a plain HTTP server that answers only when told, so
// that the request is certainly in flight when the cut comes.
func TestCutResetsInFlightRequests(t *testing.T) {
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "{}")
	}))
	defer up.Close()
	defer close(release)
	p, err := faultproxy.Start(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	res := make(chan error, 1)
	go func() {
		resp, err := http.Post(p.URL(), "application/x-amz-json-1.0", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		res <- err
	}()
	<-reached
	p.Cut()
	if err := <-res; err == nil {
		t.Fatal("an in-flight request got an answer through a cut")
	}
}

func TestCloseReleasesHeldRequests(t *testing.T) {
	f := newFixture(t, 1)
	f.p.Hang()
	res := started(t, f.p, "GetItem", func() error { _, err := f.get(context.Background(), "x"); return err })
	f.p.Close() // returns only once the held handler has returned
	if err := <-res; err == nil {
		t.Fatal("a held request succeeded after Close")
	}
}

func TestStartRejectsBadTargets(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8000", "https://127.0.0.1:8000", "http://"} {
		if p, err := faultproxy.Start(u); err == nil {
			p.Close()
			t.Errorf("Start(%q) accepted", u)
		}
	}
}

// A lost answer: the write reaches DynamoDB and is applied, the client sees
// a connection failure; only the next n answers are lost.
func TestLoseAnswersAppliesTheWriteAndDropsItsAnswer(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	f.p.Only("PutItem")
	f.p.LoseAnswers(1)
	if err := f.put(ctx, "lost"); err == nil {
		t.Fatal("the put got its answer")
	}
	if !f.exists(t, "lost") {
		t.Fatal("the put whose answer was lost was not applied")
	}
	if ok, err := f.get(ctx, "lost"); err != nil || !ok {
		t.Fatalf("a GetItem (not in Only) lost its answer: found=%v err=%v", ok, err)
	}
	if err := f.put(ctx, "next"); err != nil {
		t.Fatalf("the next put: %v", err)
	}
	if n := f.p.Faults()[faultproxy.FaultAnswerLost]; n != 1 {
		t.Errorf("%d answers lost, want 1", n)
	}
}
