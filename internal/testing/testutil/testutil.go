// Package testutil gives integration tests the real parts they run
// against: one DynamoDB Local per test binary (started on first use,
// stopped by Main) and a fresh table per test, created from template.yaml.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
)

var (
	once     sync.Once
	ddb      *devenv.DynamoDB
	client   *dynamodb.Client
	startErr error
	tables   atomic.Int64
)

// Main runs the tests of a package and stops DynamoDB Local (and
// local-kms, if a test started it) afterwards.
// Call it from TestMain: func TestMain(m *testing.M) { testutil.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if ddb != nil {
		ddb.Close()
	}
	if localKMS != nil {
		localKMS.Close()
	}
	os.Exit(code)
}

// DynamoDB returns the test binary's DynamoDB Local (starting it on first
// use) and a client for it. A test that needs it fails, with the reason, if
// it cannot be started: run `make test`, which installs it.
func DynamoDB(t testing.TB) (*devenv.DynamoDB, *dynamodb.Client) {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("DynamoDB Local: %v", startErr)
	}
	return ddb, client
}

// start starts DynamoDB Local once per test binary. The start limit is
// devenv's (DefaultStartTimeout, or DYNAMODB_LOCAL_START_TIMEOUT), not a
// shorter one here.
func start() {
	ddb, startErr = devenv.StartDynamoDB(context.Background(), devenv.DynamoDBOptions{UseEnvEndpoint: true})
	if startErr == nil {
		client, startErr = ddb.Client(context.Background())
	}
}

// Table creates a fresh, empty connector table for the test and returns the
// client and the table's name.
func Table(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	_, c := DynamoDB(t)
	name := fmt.Sprintf("t%d-%s", tables.Add(1), strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, t.Name()))
	if len(name) > 200 {
		name = name[:200]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := devenv.CreateTable(ctx, c, name); err != nil {
		t.Fatalf("creating table: %v", err)
	}
	return c, name
}

// ExampleTable is Table for runnable examples, which have no testing.TB:
// it panics with the reason when DynamoDB Local cannot be had.
func ExampleTable(name string) (*dynamodb.Client, string) {
	once.Do(start)
	if startErr != nil {
		panic(fmt.Sprintf("DynamoDB Local: %v (run make test, which installs it)", startErr))
	}
	name = fmt.Sprintf("t%d-%s", tables.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := devenv.CreateTable(ctx, client, name); err != nil {
		panic(fmt.Sprintf("creating table: %v", err))
	}
	return client, name
}

// Items returns every item of a table (a scan: tests only).
func Items(t testing.TB, c *dynamodb.Client, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// Item returns one item by pk, or nil.
func Item(t testing.TB, c *dynamodb.Client, table, pk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// ItemStrings returns the item under pk with each attribute, string or
// number, as a string; nil when there is none.
func ItemStrings(t testing.TB, c *dynamodb.Client, table, pk string) map[string]string {
	t.Helper()
	item := Item(t, c, table, pk)
	if item == nil {
		return nil
	}
	out := map[string]string{}
	for k := range item {
		out[k] = S(item, k) + N(item, k)
	}
	return out
}

// S returns a string attribute ("" when absent).
func S(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// N returns a number attribute as written ("" when absent).
func N(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

// Logs is a concurrency-safe log buffer for a test's slog.Logger, so the
// test can check what was logged (and that no secret was).
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a JSON logger writing to l.
func (l *Logs) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
