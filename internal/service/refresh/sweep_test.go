package refresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/time/rate"

	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// world is a table, a clock shared by the connector and GoTo, and GoTo.
type world struct{ *tw.World }

func newWorld(t *testing.T, opts ...gototest.Option) *world {
	t.Helper()
	w := &world{tw.New(t, opts...)}
	w.Schedule = gotoauth.Schedule{Interval: 24 * time.Hour, RefreshTokenLifetime: 720 * time.Hour}
	w.ConnectTimeout, w.AnswerTimeout = 500*time.Millisecond, time.Second
	return w
}

// source is one refresher process: a backend's TokenSource, or the sweep's.
func (w *world) source(opts ...gotoauth.Option) *gotoauth.TokenSource { return w.Source(opts) }

func (w *world) sweeper(opts ...gotoauth.Option) *refresh.Sweeper {
	return &refresh.Sweeper{Source: w.source(opts...), Concurrency: 4}
}

// withDeadline is a context whose deadline leaves the sweep of s d to
// start refreshes in.
func withDeadline(s *refresh.Sweeper, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.Source.SweepReserve()+d)
}

func (w *world) sweep(s *refresh.Sweeper) refresh.Summary {
	w.T.Helper()
	sum, err := s.Sweep(context.Background())
	if err != nil {
		w.T.Fatal(err)
	}
	return sum
}

// The acceptance test of the race: 50 concurrent AccessToken calls from
// five processes plus two overlapping sweeps, on one expiring connection
// with single-use refresh tokens, make exactly one refresh request.
func TestOneRefreshUnderConcurrency(t *testing.T) {
	w := newWorld(t, gototest.WithSingleUseRefreshTokens(), gototest.WithDelay(50*time.Millisecond))
	w.Connect("c1")
	// A day later the connection is due and its access token expired.
	w.Clock.Advance(24*time.Hour + time.Minute)

	var sources []*gotoauth.TokenSource
	for p := 0; p < 5; p++ {
		sources = append(sources, w.Source(nil, tuning.PollInterval(20*time.Millisecond)))
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens = map[string]int{}
		errs   []error
		sums   []refresh.Summary
	)
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(ts *gotoauth.TokenSource) {
			defer wg.Done()
			<-start
			tok, err := ts.AccessToken(context.Background(), "c1")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			tokens[tok]++
		}(sources[i%len(sources)])
	}
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(s *refresh.Sweeper) {
			defer wg.Done()
			<-start
			sum, err := s.Sweep(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			sums = append(sums, sum)
		}(w.sweeper())
	}
	close(start)
	wg.Wait()

	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if n := w.GoTo.RefreshRequests(); n != 1 {
		t.Fatalf("%d refresh requests at GoTo, want exactly 1", n)
	}
	if n := w.GoTo.InvalidGrants(); n != 0 {
		t.Fatalf("%d invalid_grant answers", n)
	}
	if len(tokens) != 1 {
		t.Fatalf("callers got %d different tokens", len(tokens))
	}
	for tok, n := range tokens {
		if n != 50 || !w.GoTo.ValidAccessToken(tok) || tok != w.Stored("c1").AccessToken {
			t.Fatalf("%d callers got the token; valid=%v", n, w.GoTo.ValidAccessToken(tok))
		}
	}
	if refreshed := sums[0].Refreshed + sums[1].Refreshed; refreshed > 1 {
		t.Fatalf("sweeps refreshed %d times", refreshed)
	}
	if c := w.Stored("c1"); c.Revision != 2 || !w.GoTo.ValidRefreshToken(c.RefreshToken) {
		t.Fatalf("stored version %d, refresh token valid=%v", c.Revision, w.GoTo.ValidRefreshToken(c.RefreshToken))
	}
}

// With nobody calling AccessToken, daily sweeps keep a connection alive for
// two months of single-use, 30-day refresh tokens.
func TestSweepKeepsConnectionsAlive(t *testing.T) {
	w := newWorld(t, gototest.WithSingleUseRefreshTokens())
	w.Connect("c1", "c2")
	s := w.sweeper()

	if sum := w.sweep(s); sum.Due != 0 || w.GoTo.RefreshRequests() != 0 {
		t.Fatalf("fresh connections swept: %+v", sum)
	}
	for day := 1; day <= 60; day++ {
		w.Clock.Advance(24*time.Hour + time.Second)
		sum := w.sweep(s)
		if sum.Refreshed != 2 || sum.Due != 2 || sum.Failed+sum.ReauthRequired != 0 {
			t.Fatalf("day %d: %+v", day, sum)
		}
		for _, id := range []string{"c1", "c2"} {
			c := w.Stored(id)
			if !c.RefreshTokenExpiresAt.After(w.Clock.Now().Add(29*24*time.Hour)) || !w.GoTo.ValidRefreshToken(c.RefreshToken) {
				t.Fatalf("day %d: %s refresh token expires %s", day, id, c.RefreshTokenExpiresAt)
			}
		}
	}
	if w.GoTo.InvalidGrants() != 0 || w.GoTo.RefreshRequests() != 120 {
		t.Fatalf("%d refreshes, %d invalid_grant", w.GoTo.RefreshRequests(), w.GoTo.InvalidGrants())
	}
}

// A refresh token that is never rotated is still used before it expires:
// the schedule never lets a gap run past its life.
func TestScheduleRefreshesBeforeRefreshTokenExpiry(t *testing.T) {
	w := newWorld(t, gototest.WithRefreshTokenRotation(gototest.RotationAfter(18*24*time.Hour)))
	w.Schedule = gotoauth.Schedule{Interval: 20 * 24 * time.Hour, RefreshTokenLifetime: 720 * time.Hour}
	w.Connect("c1")
	s := w.sweeper()
	for hour := 0; hour < 24*90; hour += 12 {
		w.Clock.Advance(12 * time.Hour)
		w.sweep(s)
		if c := w.Stored("c1"); c.Status != gotoauth.StatusActive || !w.GoTo.ValidRefreshToken(c.RefreshToken) {
			t.Fatalf("hour %d: status %s, valid %v", hour, c.Status, w.GoTo.ValidRefreshToken(c.RefreshToken))
		}
	}
	if w.GoTo.InvalidGrants() != 0 {
		t.Fatalf("%d invalid_grant", w.GoTo.InvalidGrants())
	}
}

func TestInvalidGrantMarksReauthRequired(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	before := w.Item("c1")
	w.Clock.Advance(25 * time.Hour)
	w.GoTo.FailNext(1, gototest.OAuthError(400, "invalid_grant", "refresh token revoked"))
	s := w.sweeper()
	if sum := w.sweep(s); sum.ReauthRequired != 1 || sum.Errors["c1"] != "invalid_grant" {
		t.Fatalf("%+v", sum)
	}
	item := w.Item("c1")
	if testutil.S(item, "status") != "reauth_required" || testutil.S(item, "reauth_reason") != "invalid_grant" ||
		item["next_refresh_at"] != nil || item["due_shard"] != nil || item["lease_owner"] != nil {
		t.Fatalf("item %v", item)
	}
	if testutil.S(item, "refresh_token") != testutil.S(before, "refresh_token") {
		t.Fatal("tokens changed")
	}
	calls := w.GoTo.TokenRequests()
	for i := 0; i < 5; i++ {
		w.Clock.Advance(24 * time.Hour)
		if sum := w.sweep(s); sum.Due != 0 {
			t.Fatalf("a reauth_required connection was swept: %+v", sum)
		}
	}
	if sum := s.RefreshIDs(context.Background(), []string{"c1"}, true); sum.Skipped != 1 {
		t.Fatalf("forced refresh of a dead connection: %+v", sum)
	}
	if w.GoTo.TokenRequests() != calls {
		t.Fatal("GoTo was called for a reauth_required connection")
	}
	ts := w.source()
	if _, err := ts.AccessToken(context.Background(), "c1"); !errors.Is(err, gotoauth.ErrReauthRequired) {
		t.Fatalf("AccessToken: %v", err)
	}
	// Connecting again revives it.
	w.Connect("c1")
	if tok, err := ts.AccessToken(context.Background(), "c1"); err != nil || !w.GoTo.ValidAccessToken(tok) {
		t.Fatalf("after reconnect: %v", err)
	}
	if c := w.Stored("c1"); c.Status != gotoauth.StatusActive || c.NextRefreshAt.IsZero() {
		t.Fatalf("after reconnect: %+v", c.Status)
	}
}

// Transient failures leave the stored tokens byte-identical and schedule a
// retry; the retry succeeds.
func TestTransientFailuresKeepTokens(t *testing.T) {
	cases := map[string]gototest.Failure{
		"500":       gototest.ServerError(500),
		"503 html":  gototest.HTMLError(503),
		"429":       gototest.RateLimited(30 * time.Minute),
		"timeout":   gototest.Slow(1500 * time.Millisecond),
		"html 200":  gototest.HTMLError(200),
		"truncated": gototest.TruncatedJSON(),
		"empty":     gototest.EmptyBody(200),
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			w.Connect("c1")
			w.Clock.Advance(25 * time.Hour)
			before := w.Item("c1")
			w.GoTo.FailNext(1, f)
			s := w.sweeper()
			sum := w.sweep(s)
			if sum.Failed != 1 || sum.ConfigErrors != 0 || sum.Refreshed != 0 {
				t.Fatalf("%+v", sum)
			}
			after := w.Item("c1")
			for _, k := range []string{"access_token", "refresh_token", "access_token_expires_at", "refresh_token_expires_at", "status", "version", "refreshed_at"} {
				if fmt.Sprint(before[k]) != fmt.Sprint(after[k]) {
					t.Fatalf("%s changed", k)
				}
			}
			c := w.Stored("c1")
			wantWait := time.Minute
			if name == "429" {
				wantWait = 30 * time.Minute
			}
			if c.FailureCount != 1 || c.LastError == "" || after["lease_owner"] != nil ||
				!c.NextRefreshAt.Equal(w.Clock.Now().Add(wantWait)) {
				t.Fatalf("failure not recorded: count %d, error %q, next in %s", c.FailureCount, c.LastError, c.NextRefreshAt.Sub(w.Clock.Now()))
			}
			// Not retried before its time, then retried.
			if sum := w.sweep(s); sum.Due != 0 {
				t.Fatalf("retried too early: %+v", sum)
			}
			w.Clock.Advance(wantWait)
			if sum := w.sweep(s); sum.Refreshed != 1 {
				t.Fatalf("retry: %+v", sum)
			}
			if c := w.Stored("c1"); c.FailureCount != 0 || c.LastError != "" || c.Revision != 2 {
				t.Fatalf("after retry: %+v", c)
			}
		})
	}
}

func TestBackoffGrowsAndStopsBeforeExpiry(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	w.GoTo.FailAlways(gototest.ServerError(503))
	var atRisk int
	s := w.sweeper(gotoauth.WithEvents(gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		if e.Type == gotoauth.EventRefreshFailing {
			atRisk++
		}
		return nil
	})))
	w.Clock.Advance(25 * time.Hour)
	var waits []time.Duration
	for i := 0; i < 8; i++ {
		w.sweep(s)
		c := w.Stored("c1")
		waits = append(waits, c.NextRefreshAt.Sub(w.Clock.Now()))
		w.Clock.Advance(c.NextRefreshAt.Sub(w.Clock.Now()))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i := range want {
		if waits[i] != want[i]*time.Minute {
			t.Fatalf("waits %v", waits)
		}
	}
	// Near the refresh token's expiry, retries never go past it, and
	// someone is told.
	exp := w.Stored("c1").RefreshTokenExpiresAt
	w.Clock.Advance(exp.Sub(w.Clock.Now()) - 30*time.Minute)
	w.sweep(s)
	if c := w.Stored("c1"); !c.NextRefreshAt.Before(exp) || atRisk == 0 {
		t.Fatalf("next try %s after expiry %s, at risk reported %d times", c.NextRefreshAt, exp, atRisk)
	}
}

func TestConfigurationErrorKeepsConnection(t *testing.T) {
	for _, f := range []gototest.Failure{gototest.OAuthError(401, "invalid_client", "Client authentication failed."), gototest.Decommissioned()} {
		t.Run(f.String(), func(t *testing.T) {
			w := newWorld(t)
			w.Connect("c1")
			w.Clock.Advance(25 * time.Hour)
			before := w.Item("c1")
			w.GoTo.FailNext(1, f)
			sum := w.sweep(w.sweeper())
			if sum.Failed != 1 || sum.ConfigErrors != 1 || sum.ReauthRequired != 0 {
				t.Fatalf("%+v", sum)
			}
			after := w.Item("c1")
			if testutil.S(after, "status") != "active" || testutil.S(after, "refresh_token") != testutil.S(before, "refresh_token") {
				t.Fatal("a configuration error changed the connection")
			}
		})
	}
}

// A refresher that died holding the lease blocks the connection only until
// the lease expires.
func TestDeadRefresherLeaseExpires(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	w.Clock.Advance(25 * time.Hour)
	_, err := w.Raw.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.Table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#c1"}},
		UpdateExpression:          aws.String("SET lease_owner = :o, lease_expires_at = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: "dead"}, ":e": &types.AttributeValueMemberN{Value: fmt.Sprint(w.Clock.Now().Add(time.Minute).Unix())}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := w.sweeper()
	if sum := w.sweep(s); sum.Skipped != 1 || w.GoTo.RefreshRequests() != 0 {
		t.Fatalf("held lease: %+v", sum)
	}
	w.Clock.Advance(time.Minute + time.Second)
	if sum := w.sweep(s); sum.Refreshed != 1 {
		t.Fatalf("expired lease: %+v", sum)
	}
}

// A refresh answer without a refresh token keeps the old one and its
// expiry; one with a new token restarts the clock.
func TestRefreshTokenReplacement(t *testing.T) {
	w := newWorld(t) // RotationKeep: answers carry no refresh_token
	w.Connect("c1")
	first := w.Stored("c1")
	w.Clock.Advance(25 * time.Hour)
	w.sweep(w.sweeper())
	kept := w.Stored("c1")
	if kept.RefreshToken != first.RefreshToken || !kept.RefreshTokenExpiresAt.Equal(first.RefreshTokenExpiresAt) || kept.AccessToken == first.AccessToken {
		t.Fatal("a refresh without refresh_token changed the refresh token or its expiry")
	}

	w2 := newWorld(t, gototest.WithSingleUseRefreshTokens())
	w2.Connect("c1")
	first = w2.Stored("c1")
	w2.Clock.Advance(25 * time.Hour)
	w2.sweep(w2.sweeper())
	rotated := w2.Stored("c1")
	if rotated.RefreshToken == first.RefreshToken || !rotated.RefreshTokenExpiresAt.Equal(w2.Clock.Now().Add(720*time.Hour)) {
		t.Fatal("a new refresh token did not replace the old one with a fresh lifetime")
	}
}

// Near the deadline the sweep takes no new work; every connection is
// either refreshed or untouched, none left leased.
func TestSweepStopsBeforeDeadline(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := 0; i < 30; i++ {
		ids = append(ids, fmt.Sprintf("c%02d", i))
	}
	w.Connect(ids...)
	w.Clock.Advance(25 * time.Hour)
	// 30 refreshes of 400 ms, two at a time, need 6 s: more than the 3 s
	// the sweep may start work in, which is still time enough on a loaded
	// machine for the first ones to start.
	w.GoTo.FailAlways(gototest.Slow(400 * time.Millisecond))
	s := w.sweeper()
	s.Concurrency = 2
	ctx, cancel := withDeadline(s, 3*time.Second)
	defer cancel()
	sum, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Refreshed == 0 || sum.Deferred == 0 || sum.Refreshed >= 30 {
		t.Fatalf("%+v", sum)
	}
	refreshed := 0
	for _, id := range ids {
		item := w.Item(id)
		if item["lease_owner"] != nil {
			t.Fatalf("%s left leased", id)
		}
		switch testutil.N(item, "version") {
		case "2":
			refreshed++
		case "1":
		default:
			t.Fatalf("%s version %s", id, testutil.N(item, "version"))
		}
	}
	if refreshed != sum.Refreshed {
		t.Fatalf("summary says %d refreshed, table says %d", sum.Refreshed, refreshed)
	}
	// The next run does the rest.
	w.GoTo.StopFailing()
	if sum2 := w.sweep(w.sweeper()); sum2.Refreshed != 30-refreshed {
		t.Fatalf("next run: %+v", sum2)
	}
}

func TestSweepHonoursRateLimit(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := 0; i < 12; i++ {
		ids = append(ids, fmt.Sprintf("c%02d", i))
	}
	w.Connect(ids...)
	w.Clock.Advance(25 * time.Hour)
	s := &refresh.Sweeper{Source: w.Source(nil, tuning.WithLimiter(rate.NewLimiter(20, 1))), Concurrency: 4}
	s.Concurrency = 8
	start := time.Now()
	sum := w.sweep(s)
	// 12 calls at 20/s with a burst of 1 need at least 11/20 s.
	if elapsed := time.Since(start); sum.Refreshed != 12 || elapsed < 550*time.Millisecond {
		t.Fatalf("%+v in %s", sum, elapsed)
	}
}

func TestHandleEvents(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1", "c2")
	var metrics strings.Builder
	s := w.sweeper()
	s.Metrics = &metrics

	// A scheduled event: nothing due yet.
	scheduled := `{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","time":"2026-11-28T12:00:00Z","resources":["arn:aws:events:eu-west-1:1:rule/r"],"detail":{}}`
	sum, err := s.Handle(context.Background(), json.RawMessage(scheduled))
	if err != nil || sum.Due != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	// A manual, forced refresh.
	sum, err = s.Handle(context.Background(), json.RawMessage(`{"connection_ids":["c1","nope"],"force":true}`))
	if err != nil || sum.Refreshed != 1 || sum.Skipped != 1 || sum.Due != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	// Refused input.
	for _, bad := range []string{`{"connection_ids":[]}`, `{"connection_ids":["a b"]}`, `[1,2]`} {
		if _, err := s.Handle(context.Background(), json.RawMessage(bad)); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
	// One EMF line per run, with the counts, and no token.
	lines := strings.Split(strings.TrimSpace(metrics.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d metric lines", len(lines))
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &line); err != nil {
		t.Fatal(err)
	}
	if line["Refreshed"] != float64(1) || line["Mode"] != "manual" || line["_aws"] == nil {
		t.Fatalf("%v", line)
	}
	// The line declares exactly refresh.Metrics in refresh.MetricsNamespace
	// (template.yaml's alarms and dashboard are checked against that list).
	emf := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	var declared, want []string
	for _, m := range emf["Metrics"].([]any) {
		declared = append(declared, m.(map[string]any)["Name"].(string))
	}
	for _, m := range refresh.Metrics {
		want = append(want, m["Name"])
	}
	if emf["Namespace"] != refresh.MetricsNamespace || strings.Join(declared, ",") != strings.Join(want, ",") {
		t.Fatalf("EMF declares %v %v, want %s %v", emf["Namespace"], declared, refresh.MetricsNamespace, want)
	}
	if lat, ok := line["ProviderLatencyMs"].([]any); !ok || len(lat) != 1 || lat[0].(float64) <= 0 {
		t.Fatalf("GoTo's latency of the one refresh: %v", line["ProviderLatencyMs"])
	}
	c := w.Stored("c1")
	if strings.Contains(metrics.String(), c.AccessToken) || strings.Contains(metrics.String(), c.RefreshToken) {
		t.Fatal("a token in the metrics")
	}
}

func TestAccessTokenFreshAndErrors(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1")
	ts := w.source()
	tok, err := ts.AccessToken(context.Background(), "c1")
	if err != nil || tok != w.Stored("c1").AccessToken || w.GoTo.RefreshRequests() != 0 {
		t.Fatalf("a fresh token was refreshed: %v", err)
	}
	if _, err := ts.AccessToken(context.Background(), "missing"); !errors.Is(err, gotoauth.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	// Inside the margin but not expired: a failing refresh still yields
	// the valid token.
	w.Clock.Advance(time.Hour - 2*time.Minute)
	w.GoTo.FailNext(1, gototest.ServerError(503))
	if got, err := ts.AccessToken(context.Background(), "c1"); err != nil || got != tok {
		t.Fatalf("within margin with GoTo down: %v", err)
	}
	// Expired and GoTo down: a transient error.
	w.Clock.Advance(5 * time.Minute)
	w.GoTo.FailNext(1, gototest.ServerError(503))
	if _, err := ts.AccessToken(context.Background(), "c1"); err == nil || gotoauth.Classify(err) != gotoauth.Transient || errors.Is(err, gotoauth.ErrReauthRequired) {
		t.Fatalf("expired with GoTo down: %v", err)
	}
	// Backoff applies to the scheduled refresh, not to a caller who needs
	// a token now.
	got, err := ts.AccessToken(context.Background(), "c1")
	if err != nil || got == tok || !w.GoTo.ValidAccessToken(got) {
		t.Fatalf("after GoTo is back: %v", err)
	}
}

// A 429 is about the client, not one connection: the whole sweep holds
// back for Retry-After, and what cannot wait is left for the next run.
func TestRateLimitPausesTheWholeSweep(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := 0; i < 8; i++ {
		ids = append(ids, fmt.Sprintf("c%d", i))
	}
	w.Connect(ids...)
	w.Clock.Advance(25 * time.Hour)
	w.GoTo.FailAlways(gototest.RateLimited(time.Minute))
	s := w.sweeper()
	s.Concurrency = 1
	// 5 s to start work in: enough for the first refresh on a loaded
	// machine, far less than the minute the 429 asks for.
	ctx, cancel := withDeadline(s, 5*time.Second)
	defer cancel()
	sum, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.GoTo.RefreshRequests() != 1 || sum.Failed != 1 || sum.Deferred != 7 {
		t.Fatalf("%d refresh requests; %+v", w.GoTo.RefreshRequests(), sum)
	}
}

// Tokens encrypted with a key this refresher does not have: the lease is
// given back and the failure is a configuration error, loudly.
func TestUnknownTokenKeyIsAConfigurationError(t *testing.T) {
	w := newWorld(t)
	keys, _ := secrets.ParseTokenKeys(map[string]string{"k1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	k1, err := gotoauth.NewTokenCipher(keys, "k1")
	if err != nil {
		t.Fatal(err)
	}
	c := w.Client()
	back, _ := w.GoTo.Approve(c.AuthCodeURL("s"))
	tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
	if err != nil {
		t.Fatal(err)
	}
	withKey, err := gotoauth.NewStore(w.Raw, w.Table, gotoauth.WithTokenCipher(k1), gotoauth.WithSchedule(w.Schedule))
	if err != nil {
		t.Fatal(err)
	}
	withKey.Tune(tuning.Clock(w.Clock.Now))
	if _, err := withKey.SaveConnection(context.Background(), "c1", tok); err != nil {
		t.Fatal(err)
	}
	if raw := testutil.S(w.Item("c1"), "refresh_token"); !strings.HasPrefix(raw, "enc:v1:k1:") || strings.Contains(raw, tok.RefreshToken) {
		t.Fatalf("stored %q", raw[:20])
	}
	w.Clock.Advance(25 * time.Hour)
	sum := w.sweep(w.sweeper()) // a store without the key
	if sum.Failed != 1 || sum.ConfigErrors != 1 || sum.Errors["c1"] != "token_key" {
		t.Fatalf("%+v", sum)
	}
	if w.Item("c1")["lease_owner"] != nil || w.GoTo.RefreshRequests() != 0 {
		t.Fatal("lease kept, or GoTo called")
	}
	// With the key it works.
	ts, err := gotoauth.NewTokenSource(withKey, w.Client())
	if err != nil {
		t.Fatal(err)
	}
	if res := ts.Refresh(context.Background(), "c1", false); res.Outcome != sweep.Refreshed {
		t.Fatalf("%+v", res)
	}
}

// GoTo refuses a stale client secret (invalid_client); the secret was
// rotated meanwhile: the refused connections are refreshed again, once,
// with the new secret, and count as refreshed, not as configuration errors.
func TestInvalidClientRetriesWithRotatedSecret(t *testing.T) {
	w := newWorld(t)
	w.Connect("c1", "c2")
	w.Clock.Advance(25 * time.Hour)
	stale := w.Client()
	stale.ClientSecret = "the-secret-before-rotation"
	staleTS, err := gotoauth.NewTokenSource(w.Store(), stale)
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	s := &refresh.Sweeper{Source: staleTS, RotatedClient: func(context.Context) *gotoauth.TokenSource {
		asked++
		return w.source()
	}}
	sum, err := s.Handle(context.Background(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if asked != 1 || sum.Refreshed != 2 || sum.Failed != 0 || sum.ConfigErrors != 0 || len(sum.Errors) != 0 {
		t.Fatalf("asked %d times; %+v", asked, sum)
	}
	for _, id := range []string{"c1", "c2"} {
		if c := w.Stored(id); !w.GoTo.ValidRefreshToken(c.RefreshToken) || c.FailureCount != 0 {
			t.Fatalf("%s: refresh token valid %v, failures %d", id, w.GoTo.ValidRefreshToken(c.RefreshToken), c.FailureCount)
		}
	}

	// Without a newer secret, they stay configuration errors.
	w.Clock.Advance(25 * time.Hour)
	s.RotatedClient = func(context.Context) *gotoauth.TokenSource { return nil }
	sum, _ = s.Handle(context.Background(), json.RawMessage(`{}`))
	if sum.ConfigErrors != 2 || sum.Errors["c1"] != "invalid_client" {
		t.Fatalf("%+v", sum)
	}
}

// A run that leaves due connections for the next one says so at ERROR (the
// metric Deferred feeds SweepDeferredAlarm when it happens run after run).
func TestDeferringRunLogsAnError(t *testing.T) {
	w := newWorld(t, gototest.WithDelay(100*time.Millisecond))
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, fmt.Sprintf("d%02d", i))
	}
	w.Connect(ids...)
	w.Clock.Advance(25 * time.Hour)
	logs := &testutil.Logs{}
	s := w.sweeper()
	s.Concurrency, s.Logger = 1, logs.Logger()
	ctx, cancel := withDeadline(s, 300*time.Millisecond)
	defer cancel()
	sum, err := s.Handle(ctx, json.RawMessage(`{}`))
	if err != nil || sum.Deferred == 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	if out := logs.String(); !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, "left due connections for the next run") {
		t.Fatalf("no ERROR for a deferring run:\n%s", out)
	}
}
