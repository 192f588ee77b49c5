package gotoauth_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Faults of our own infrastructure, injected by a proxy in front of DynamoDB
// Local: a refresh whose answer GoTo has given must reach the table, so that
// the stored refresh token is always GoTo's latest (single-use tokens: an
// older one is dead).

// proxied is a fixture whose store reaches DynamoDB Local through a fault
// proxy.
func proxied(t *testing.T) (*fixture, *faultproxy.Proxy, *gotoauth.Store) {
	t.Helper()
	f := newFixture(t)
	ddb, _ := testutil.DynamoDB(t)
	p, err := faultproxy.Start(ddb.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	db := dynamodb.New(f.db.Client.Options(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(p.URL())
		// A retryer of its own: the shared one's retry quota is drained by
		// earlier fault tests, and what the SDK retries must not depend on
		// which tests ran before.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.RateLimiter = ratelimit.None })
	})
	return f, p, store(t, db, f.Table, gotoauth.WithClock(f.Clock.Now))
}

// onAnswer calls fn once GoTo has answered a token request, before the
// client reads the answer.
type onAnswer struct {
	fn   func()
	done atomic.Bool
}

func (o *onAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && o.done.CompareAndSwap(false, true) {
		o.fn()
	}
	return resp, err
}

// checkAlive asserts that the stored refresh token is the one GoTo issued
// last, and that a further refresh succeeds.
func checkAlive(t *testing.T, f *fixture, ts *gotoauth.TokenSource) {
	t.Helper()
	c, err := f.store.Connection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != gotoauth.StatusActive || !f.GoTo.ValidRefreshToken(c.RefreshToken) || c.RefreshToken == f.tok.RefreshToken {
		t.Fatalf("status %s; stored refresh token is GoTo's latest: %v", c.Status, f.GoTo.ValidRefreshToken(c.RefreshToken) && c.RefreshToken != f.tok.RefreshToken)
	}
	if res := ts.Refresh(context.Background(), "c1", true); res.Outcome != sweep.Refreshed {
		t.Fatalf("next refresh: %+v", res)
	}
	if f.GoTo.InvalidGrants() != 0 {
		t.Fatalf("%d invalid_grant", f.GoTo.InvalidGrants())
	}
}

// DynamoDB is cut right after GoTo rotated the refresh token, for 30 s and
// for 2 minutes: the store is retried until it comes back, nothing is lost.
func TestDynamoDBCutAfterRotation(t *testing.T) {
	for _, cut := range []time.Duration{30 * time.Second, 2 * time.Minute} {
		t.Run(cut.String(), func(t *testing.T) {
			t.Parallel()
			f, p, st := proxied(t)
			c := *f.client
			c.HTTPClient = &http.Client{Transport: &onAnswer{fn: func() {
				p.Cut()
				time.AfterFunc(cut, p.Restore)
			}}}
			ts, err := gotoauth.NewTokenSource(st, &c)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res := ts.Refresh(context.Background(), "c1", true)
			if res.Outcome != sweep.Refreshed {
				t.Fatalf("%+v", res)
			}
			if took := time.Since(start); took < cut {
				t.Fatalf("stored after %s, inside a %s cut: the cut did not happen", took, cut)
			}
			if p.Faults()[faultproxy.FaultCut] == 0 {
				t.Fatal("no request was cut")
			}
			checkAlive(t, f, f.source())
		})
	}
}

// DynamoDB throttles every call right after GoTo rotated: the SDK's retries
// run out, the store's own go on until DynamoDB takes writes again.
func TestDynamoDBThrottledAfterRotation(t *testing.T) {
	f, p, st := proxied(t)
	c := *f.client
	c.HTTPClient = &http.Client{Transport: &onAnswer{fn: func() {
		p.Throttle()
		time.AfterFunc(5*time.Second, p.Restore)
	}}}
	ts, err := gotoauth.NewTokenSource(st, &c)
	if err != nil {
		t.Fatal(err)
	}
	if res := ts.Refresh(context.Background(), "c1", true); res.Outcome != sweep.Refreshed {
		t.Fatalf("%+v", res)
	}
	if p.Faults()[faultproxy.FaultThrottle] == 0 {
		t.Fatal("nothing was throttled")
	}
	checkAlive(t, f, f.source())
}

// The sweep's deadline arithmetic: with every step of a refresh using most
// of its own limit (the lease write slow, GoTo answering late inside its
// answer timeout, the store failing for most of its retry budget), a
// refresh started at the last moment the sweep allows still stores GoTo's
// answer, and the sweep returns before the deadline.
//
// Each step keeps seconds of its limit for the machine, not a fraction of
// one: the lease write is delayed 6 s of its 10 s (leaseWriteBudget), so
// DynamoDB Local has 4 s to answer it; GoTo answers 2 s into its 3 s
// answer timeout; the store is throttled for 2.5 s of its 4 s budget,
// which leaves 1.5 s, more than one 1 s attempt (writeTimeout). On a busy
// 2-core machine 8 s of the 10 s lease write was too much. If this still
// fails on a busy machine, the result logged says which step ran out:
// Failed with store_unavailable "taking the refresh lease" means the
// lease write took more than 4 s beyond its delay (lower the delay,
// keeping the lease step the longest); Failed with code timeout means GoTo's
// answer (raise AnswerTimeout with the sleep one second under it);
// StoreFailed means the store attempts after the throttle (raise
// storeRetry, keeping the throttle 1.5 s short of it). A sweep that returns
// after its deadline is a bug in the arithmetic (budgets.go), not load.
func TestRefreshAtTheDeadlineEdge(t *testing.T) {
	f, p, st := proxied(t)
	const (
		leaseDelay  = 6 * time.Second // of leaseWriteBudget's 10 s
		storeRetry  = 4 * time.Second
		storeFailed = storeRetry - 1500*time.Millisecond
	)
	c := *f.client
	c.ConnectTimeout, c.AnswerTimeout = 300*time.Millisecond, 3*time.Second
	c.HTTPClient = &http.Client{Transport: &onAnswer{fn: func() {
		time.Sleep(c.AnswerTimeout - time.Second) // GoTo's answer, late but in time
		p.Delay(0)
		p.Throttle()                           // the store fails ...
		time.AfterFunc(storeFailed, p.Restore) // ... for most of its budget
	}}}
	ts, err := gotoauth.NewTokenSource(st, &c, gotoauth.WithStoreRetryBudget(storeRetry))
	if err != nil {
		t.Fatal(err)
	}
	// The sweep may start refreshes for the first 300 ms only.
	ctx, cancel := context.WithTimeout(context.Background(), ts.SweepReserve()+300*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	p.Only("UpdateItem")
	p.Delay(leaseDelay) // the lease write takes most of its budget
	sum, err := ts.Sweep(ctx, sweep.Options{IDs: []string{"c1"}, Force: true, OnResult: func(r sweep.Result) {
		t.Logf("result: %s %s %v (GoTo took %s)", r.Outcome, r.Code, r.Err, r.ProviderLatency)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Refreshed != 1 {
		t.Fatalf("%+v", sum)
	}
	if late := time.Since(deadline); late > 0 {
		t.Fatalf("the sweep returned %s after its deadline", late)
	} else {
		t.Logf("the sweep returned %s before its deadline", -late)
	}
	p.Only()
	p.Restore()
	checkAlive(t, f, f.source())
}

// A write that DynamoDB applied but whose answer was lost (a connection
// reset after the write, or a client-side timeout) is retried, by the SDK
// or by the store's own loop, and the retry's condition then fails on the
// write itself: the refresher must recognise its own write, not take it
// for another refresher's. Both writes of a refresh: the lease (it must
// still refresh, calling GoTo exactly once) and GoTo's answer (it must be
// Refreshed, with nothing left to store).
func TestLostAnswerToAnAppliedWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease bool // lose the lease write's answer, else the token write's
	}{{"lease", true}, {"tokens", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, p, st := proxied(t)
			c := *f.client
			if !tc.lease {
				c.HTTPClient = &http.Client{Transport: &onAnswer{fn: func() {
					p.Only("UpdateItem")
					p.LoseAnswers(1)
				}}}
			}
			ts, err := gotoauth.NewTokenSource(st, &c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.lease {
				p.Only("UpdateItem")
				p.LoseAnswers(1)
			}
			before := f.GoTo.RefreshRequests()
			res := ts.Refresh(context.Background(), "c1", true)
			if res.Outcome != sweep.Refreshed {
				t.Fatalf("%+v", res)
			}
			if n := p.Faults()[faultproxy.FaultAnswerLost]; n != 1 {
				t.Fatalf("%d answers lost, want 1", n)
			}
			if n := f.GoTo.RefreshRequests() - before; n != 1 {
				t.Fatalf("GoTo got %d refresh requests, want 1", n)
			}
			item := testutil.ItemStrings(t, f.Raw, f.Table, "conn#c1")
			if item["lease_owner"] != "" || item["lease_expires_at"] != "" {
				t.Fatalf("lease left behind: %q until %s", item["lease_owner"], item["lease_expires_at"])
			}
			checkAlive(t, f, f.source())
		})
	}
}
