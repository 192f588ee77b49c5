package cost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// sweepSize is how many connections the measured sweep refreshes; the
// sweep's fixed calls (the index queries) are measured apart, on a sweep
// with nothing due, and taken off.
const sweepSize = 20

// lineBytes counts the bytes and lines a logger writes.
type lineBytes struct{ bytes, lines int }

func (l *lineBytes) Write(p []byte) (int, error) {
	l.bytes += len(p)
	l.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func (l *lineBytes) take() lineBytes {
	out := *l
	*l = lineBytes{}
	return out
}

// requestIDBytes is what platform's logger adds to each line in Lambda:
// ,"aws_request_id":"<36-character UUID>".
const requestIDBytes = len(`,"aws_request_id":""`) + 36

func TestCallCounts(t *testing.T) {
	srv := gototest.NewServer()
	t.Cleanup(srv.Close)
	plain, table := testutil.Table(t)
	counter := &Counter{Next: http.DefaultTransport}
	db := dynamodb.New(plain.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: counter}
	})

	const linkKey = "cost-link-signing-key-0123456789abcdef"
	// Production settings, except REFRESH_INTERVAL: 1s, so that the
	// connections are due a second after they connect.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"GOTO_CLIENT_ID":         srv.ClientID,
			"GOTO_CLIENT_SECRET":     srv.ClientSecret,
			"GOTO_LINK_SIGNING_KEY":  linkKey,
			"GOTO_AUTHORIZE_URL":     srv.AuthorizeURL(),
			"GOTO_TOKEN_URL":         srv.TokenURL(),
			"GOTO_REVOKE_URL":        srv.RevokeURL(),
			"GOTO_REDIRECT_URI":      "https://connect.example.com/callback",
			"TABLE_NAME":             table,
			"ALLOWED_RETURN_ORIGINS": "https://app.example.com",
			"REFRESH_INTERVAL":       "1s",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// Tokens encrypted at rest, as the README's deploy steps set it up.
	doc, _ := json.Marshal(map[string]any{
		"client_secret": srv.ClientSecret, "link_signing_key": linkKey,
		"token_encryption_keys":       map[string]string{"k1": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))},
		"token_encryption_active_key": "k1",
	})
	sec, err := secrets.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lineBytes{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	app := &connect.App{Config: cfg, Secrets: secrets.Static{S: sec}, DB: db, Logger: logger}
	ctx := context.Background()

	// --- The sweep, through the refresh function's own wiring. ---
	handler := refresh.NewHandler(&platform.Parts{Config: cfg, DB: db, Secrets: secrets.Static{S: sec}, Logger: logger})
	schedule, err := os.ReadFile("../../../events/schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	sweep := func() (refresh.Summary, Counts, lineBytes, int) {
		emf := captureStdout(t)
		sum, err := handler(ctx, schedule)
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		return sum, counter.Take(), logs.take(), emf()
	}
	// A sweep of the empty table: the fixed cost of a run.
	emptySum, emptyCalls, emptyLogs, emptyEMF := sweep()
	if emptySum.Due != 0 {
		t.Fatalf("the sweep of an empty table found %d due", emptySum.Due)
	}

	// --- One connect: authorize, consent at GoTo, callback. ---
	connectOnce := func(id string) {
		link, err := gotoauth.SignLink("https://connect.example.com/authorize", []byte(linkKey),
			gotoauth.Link{ConnectionID: id, ReturnTo: "https://app.example.com/done", Expires: time.Now().Add(15 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link)
		resp, err := app.Authorize(ctx, connect.Request{RawQueryString: u.RawQuery})
		if err != nil || resp.StatusCode != http.StatusFound || len(resp.Cookies) != 1 {
			t.Fatalf("authorize: %v %d %v", err, resp.StatusCode, resp.Body)
		}
		cookie, err := http.ParseSetCookie(resp.Cookies[0])
		if err != nil {
			t.Fatal(err)
		}
		back, err := srv.Approve(resp.Headers["Location"])
		if err != nil {
			t.Fatal(err)
		}
		resp, err = app.Callback(ctx, connect.Request{RawQueryString: back.RawQuery, Cookies: []string{cookie.Name + "=" + cookie.Value}})
		if err != nil || resp.StatusCode != http.StatusFound || !strings.Contains(resp.Headers["Location"], "status=connected") {
			t.Fatalf("callback: %v %d %v %s", err, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	counter.Take()
	connectOnce("cost-0")
	connectCalls := counter.Take()
	connectLogs := logs.take()
	item := testutil.Item(t, plain, table, "conn#cost-0")
	if item == nil {
		t.Fatal("the connection is not stored")
	}
	for i := 1; i < sweepSize; i++ {
		connectOnce(fmt.Sprintf("cost-%d", i))
	}
	counter.Take()
	logs.take()

	time.Sleep(1100 * time.Millisecond) // every connection is due now
	sum, sweepCalls, sweepLogs, sweepEMF := sweep()
	if sum.Due != sweepSize || sum.Refreshed != sweepSize || sum.Failed+sum.Skipped+sum.Deferred+sum.ReauthRequired != 0 {
		t.Fatalf("sweep summary %+v, want all %d refreshed", sum, sweepSize)
	}
	if n := sweepCalls.Total("Scan") + connectCalls.Total("Scan") + emptyCalls.Total("Scan"); n != 0 {
		t.Errorf("%d Scan requests: no full-table scans (DESIGN.md)", n)
	}
	perRefresh := sweepCalls.Minus(emptyCalls)
	if perRefresh.Total() <= 0 || connectCalls.Total() <= 0 {
		t.Fatalf("nothing counted: connect %v, refresh %v", connectCalls, perRefresh)
	}

	size := itemSize(item)
	t.Logf("measured on DynamoDB Local with gototest tokens, tokens encrypted at rest, REFRESH_RATE_LIMIT=%g", cfg.RefreshRateLimit)
	t.Logf("connection item: %d bytes (DynamoDB item size; gototest's tokens are short, GoTo's are larger)", size)
	t.Logf("ONE CONNECT (authorize + callback): %d DynamoDB requests\n%v", connectCalls.Total(), connectCalls)
	t.Logf("  application log: %d lines, %d bytes (+%d bytes of aws_request_id in Lambda)",
		connectLogs.lines, connectLogs.bytes, connectLogs.lines*requestIDBytes)
	t.Logf("SWEEP WITH NOTHING DUE (fixed per run): %d DynamoDB requests\n%v", emptyCalls.Total(), emptyCalls)
	t.Logf("  application log: %d lines, %d bytes; metric line: %d bytes; %d ms", emptyLogs.lines, emptyLogs.bytes, emptyEMF, emptySum.DurationMS)
	t.Logf("SWEEP OF %d DUE CONNECTIONS: %d DynamoDB requests, summary %+v", sweepSize, sweepCalls.Total(), sum)
	t.Logf("PER REFRESH ((sweep - empty sweep) / %d):", sweepSize)
	for _, line := range strings.Split(perRefresh.String(), "\n") {
		var n int
		var rest string
		fmt.Sscanf(line, "%d × %s", &n, &rest)
		t.Logf("  %5.2f × %s", float64(n)/sweepSize, strings.TrimSpace(line[strings.Index(line, "×")+len("×"):]))
	}
	t.Logf("  total %.2f requests per refresh; application log %.1f lines, %.0f bytes per refresh; metric line %d bytes per run; %.0f ms per refresh",
		float64(perRefresh.Total())/sweepSize, float64(sweepLogs.lines-emptyLogs.lines)/sweepSize,
		float64(sweepLogs.bytes-emptyLogs.bytes)/sweepSize, sweepEMF, float64(sum.DurationMS)/sweepSize)
}

// captureStdout sends os.Stdout (where the refresh function writes its
// metric line) to a pipe until the returned function is called; it returns
// the bytes written.
func captureStdout(t *testing.T) func() int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan int)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		done <- int(n)
	}()
	return func() int {
		os.Stdout = old
		w.Close()
		return <-done
	}
}

// itemSize is an item's size as DynamoDB bills it: attribute names plus
// values (strings by length, numbers about one byte per two digits plus one).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += int(math.Ceil(float64(len(strings.TrimLeft(v.Value, "-")))/2)) + 1
		case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
			n++
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		default:
			n += 32 // maps and lists: not expected in a connection item
		}
	}
	return n
}
