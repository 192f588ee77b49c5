package gotoauth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/oauth"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// slowAnswers holds GoTo's answers back for delay after GoTo has processed
// the request: a slow network on the way back, or a paused refresher.
type slowAnswers struct {
	delay atomic.Int64 // nanoseconds
	sent  chan struct{}
}

func (s *slowAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if s.sent != nil {
		select {
		case s.sent <- struct{}{}:
		default:
		}
	}
	time.Sleep(time.Duration(s.delay.Load()))
	return resp, err
}

// logBuffer is a JSON slog logger whose lines a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// A refresher paused past its lease (or with a clock behind) gets GoTo's
// rotation back late; meanwhile a second refresher presented the old refresh
// token, got invalid_grant and marked the connection reauth_required. GoTo
// has just shown the grant alive: the late rotation wins, and the
// connection is active with GoTo's newest refresh token.
func TestLateRotationBeatsInvalidGrantMark(t *testing.T) {
	f := newFixture(t)
	clock := f.Clock
	slow := &slowAnswers{sent: make(chan struct{}, 1)}
	slow.delay.Store(int64(1500 * time.Millisecond))
	pausedClient := *f.client
	pausedClient.HTTPClient = &http.Client{Transport: slow}
	paused, err := gotoauth.NewTokenSource(f.store, &pausedClient)
	if err != nil {
		t.Fatal(err)
	}
	other := f.source()

	done := make(chan sweep.Result, 1)
	go func() { done <- paused.Refresh(context.Background(), "c1", true) }()
	<-slow.sent // GoTo has rotated; the answer is on its (slow) way back
	clock.Advance(10 * time.Minute)
	res := other.Refresh(context.Background(), "c1", true)
	if res.Outcome != sweep.ReauthRequired {
		t.Fatalf("second refresher: %+v", res)
	}
	if c, _ := f.store.Connection(context.Background(), "c1"); c.Status != gotoauth.StatusReauthRequired {
		t.Fatalf("status %s after the late invalid_grant", c.Status)
	}
	late := <-done
	if late.Outcome != sweep.Refreshed {
		t.Fatalf("late rotation: %+v", late)
	}
	c, err := f.store.Connection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != gotoauth.StatusActive || c.ReauthReason != "" || !f.GoTo.ValidRefreshToken(c.RefreshToken) {
		t.Fatalf("after the late rotation: status %s reason %q, refresh token valid %v", c.Status, c.ReauthReason, f.GoTo.ValidRefreshToken(c.RefreshToken))
	}
	if res := other.Refresh(context.Background(), "c1", true); res.Outcome != sweep.Refreshed {
		t.Fatalf("next refresh: %+v", res)
	}
}

// An answer slower than the old 10 s client timeout (here: slower than the
// connect timeout, inside the answer timeout) is waited for and stored: a
// sent refresh is not abandoned.
func TestSlowAnswerIsStored(t *testing.T) {
	f := newFixture(t)
	slow := &slowAnswers{}
	slow.delay.Store(int64(1200 * time.Millisecond))
	c := *f.client
	c.HTTPClient = &http.Client{Transport: slow}
	c.ConnectTimeout, c.AnswerTimeout = 300*time.Millisecond, 5*time.Second
	ts, err := gotoauth.NewTokenSource(f.store, &c)
	if err != nil {
		t.Fatal(err)
	}
	if res := ts.Refresh(context.Background(), "c1", true); res.Outcome != sweep.Refreshed {
		t.Fatalf("%+v", res)
	}
	conn, _ := f.store.Connection(context.Background(), "c1")
	if !f.GoTo.ValidRefreshToken(conn.RefreshToken) {
		t.Fatal("the stored refresh token is not GoTo's latest")
	}
}

// A request that cannot reach GoTo fails after the connect timeout, and says
// it was not sent (nothing happened at GoTo).
func TestConnectTimeoutIsShortAndNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, never answers the TLS handshake
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c := &gotoauth.Client{ClientID: "id", ClientSecret: "s", ConnectTimeout: 300 * time.Millisecond, AnswerTimeout: time.Minute,
		Endpoint: gotoauth.Endpoint{TokenURL: "https://" + ln.Addr().String() + "/oauth/token"}}
	start := time.Now()
	_, err = c.Refresh(context.Background(), "rt")
	var te *oauth.TimeoutError
	if !errors.As(err, &te) || te.Sent {
		t.Fatalf("err %v (%T), want a TimeoutError with Sent false", err, err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("took %s: the answer timeout applied, not the connect timeout", took)
	}
}

// failingUpdates fails the store's writes of refreshed tokens (the
// UpdateItem that sets access_token) while on: DynamoDB throttling or an
// outage after GoTo answered.
type failingUpdates struct {
	dynamo.Client
	on atomic.Bool
}

func (f *failingUpdates) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.on.Load() && writesTokens(in) {
		return nil, errors.New("ThrottlingException: Rate of requests exceeds the allowed throughput")
	}
	return f.Client.UpdateItem(ctx, in, opts...)
}

// writesTokens reports the UpdateItem that stores refreshed tokens.
func writesTokens(in *dynamodb.UpdateItemInput) bool {
	for _, name := range in.ExpressionAttributeNames {
		if name == "refreshed_at" {
			return true
		}
	}
	return false
}

// A store that keeps failing past its retry budget: the refresh is
// StoreFailed (its own outcome in the summary), logged at ERROR with the
// connection id and never the token, and an on-demand caller still gets
// GoTo's new access token.
func TestStoreFailureIsLoudAndHandsTheTokenOver(t *testing.T) {
	f := newFixture(t)
	fail := &failingUpdates{Client: f.db}
	st := store(t, fail, f.Table)
	var logs logBuffer
	ts, err := gotoauth.NewTokenSource(st, f.client, gotoauth.WithStoreRetryBudget(time.Second), gotoauth.WithLogger(logs.logger()), gotoauth.WithMargin(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fail.on.Store(true)
	sum, err := ts.Sweep(context.Background(), sweep.Options{IDs: []string{"c1"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StoreFailures != 1 || sum.Refreshed != 0 || sum.Failed != 0 || sum.Errors["c1"] != "store_unavailable" {
		t.Fatalf("%+v", sum)
	}
	out := logs.String()
	if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, `"connection_id":"c1"`) {
		t.Fatalf("no ERROR line naming the connection:\n%s", out)
	}

	// On demand: the caller gets GoTo's new token while the store fails.
	tok, err := ts.AccessToken(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !f.GoTo.ValidAccessToken(tok) {
		t.Fatal("the handed-over access token is not valid at GoTo")
	}
	for _, secret := range []string{tok, f.tok.RefreshToken, f.tok.AccessToken} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a token appears in the logs")
		}
	}

	// DynamoDB is back: the kept answer is stored first, and the connection
	// lives on (single-use refresh tokens: the stored one is GoTo's latest).
	fail.on.Store(false)
	if res := ts.Refresh(context.Background(), "c1", true); res.Outcome != sweep.Refreshed {
		t.Fatalf("after the outage: %+v", res)
	}
	c, err := st.Connection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != gotoauth.StatusActive || !f.GoTo.ValidRefreshToken(c.RefreshToken) || f.GoTo.InvalidGrants() != 0 {
		t.Fatalf("status %s, refresh token valid %v, %d invalid_grant", c.Status, f.GoTo.ValidRefreshToken(c.RefreshToken), f.GoTo.InvalidGrants())
	}
}

// A limiter that fails (DynamoDB throttling the rate window) is a failure
// with a logged cause, not a silent deferral; the lease is given back.
func TestLimiterFailureIsLoud(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	ts := f.source(gotoauth.WithLimiter(failingLimiter{}), gotoauth.WithLogger(logs.logger()))
	sum, err := ts.Sweep(context.Background(), sweep.Options{IDs: []string{"c1"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.LimiterErrors != 1 || sum.Deferred != 0 || sum.Errors["c1"] != "rate_limiter" {
		t.Fatalf("%+v", sum)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), "ThrottlingException") {
		t.Fatalf("no ERROR with the cause:\n%s", logs.String())
	}
	if item := testutil.Item(t, f.db.Client, f.Table, "conn#c1"); item["lease_owner"] != nil {
		t.Fatal("lease left behind")
	}
	if f.GoTo.RefreshRequests() != 0 {
		t.Fatal("GoTo was called without a rate slot")
	}
}

// countingLimiter counts the rate slots taken.
type countingLimiter struct{ n atomic.Int64 }

func (c *countingLimiter) Wait(context.Context) error { c.n.Add(1); return nil }

// A caller waiting for another refresher's result takes no rate slot: the
// lease is taken before the slot, and waiting is plain reads.
func TestWaitersTakeNoRateSlot(t *testing.T) {
	f := newFixture(t)
	slow := &slowAnswers{sent: make(chan struct{}, 1)}
	slow.delay.Store(int64(time.Second))
	c := *f.client
	c.HTTPClient = &http.Client{Transport: slow}
	refresher, err := gotoauth.NewTokenSource(f.store, &c)
	if err != nil {
		t.Fatal(err)
	}
	var slots countingLimiter
	waiter := f.source(gotoauth.WithLimiter(&slots), gotoauth.WithPollInterval(50*time.Millisecond))
	f.Clock.Advance(58 * time.Minute) // 2 minutes left: inside the margin

	done := make(chan error, 1)
	go func() { _, err := refresher.AccessToken(context.Background(), "c1"); done <- err }()
	<-slow.sent
	tok, err := waiter.AccessToken(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if slots.n.Load() != 0 || f.GoTo.RefreshRequests() != 1 || !f.GoTo.ValidAccessToken(tok) {
		t.Fatalf("waiter took %d rate slots; %d refreshes; token valid %v", slots.n.Load(), f.GoTo.RefreshRequests(), f.GoTo.ValidAccessToken(tok))
	}
}

// Drain waits for a refresh whose answer is being stored after the caller
// was handed the token: a process that drains on SIGTERM loses nothing.
func TestDrainWaitsForStores(t *testing.T) {
	f := newFixture(t)
	fail := &failingUpdates{Client: f.db}
	st := store(t, fail, f.Table, gotoauth.WithClock(f.Clock.Now))
	ts, err := gotoauth.NewTokenSource(st, f.client, gotoauth.WithStoreRetryBudget(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	fail.on.Store(true)
	f.Clock.Advance(58 * time.Minute)
	if _, err := ts.AccessToken(context.Background(), "c1"); err != nil { // handed over after 2 s
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Drain(short); err == nil {
		t.Fatal("Drain returned while the store was still failing")
	}
	time.AfterFunc(time.Second, func() { fail.on.Store(false) })
	if err := ts.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := f.store.Connection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !f.GoTo.ValidRefreshToken(c.RefreshToken) || c.RefreshToken == f.tok.RefreshToken {
		t.Fatal("after Drain the stored refresh token is not GoTo's latest")
	}
}
