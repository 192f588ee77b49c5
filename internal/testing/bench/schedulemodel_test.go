package bench_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/simulate"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// BenchmarkScheduleModel (`make simulate-check`) checks the simulator of
// `make simulate` against the real refresh path: SIMCHECK_CONNECTIONS
// connections in DynamoDB Local, refresh tokens living SIMCHECK_LIFETIME
// at gototest (seconds instead of days), sweeps of the real
// TokenSource.Sweep every SIMCHECK_PERIOD, each with a deadline of its
// reserve plus SIMCHECK_WORK, under the shared rate limit at SIMCHECK_RATE,
// a burst of sign-ups and a GoTo outage (gototest failing every token
// request). Then the simulator runs the same inputs, and the two are
// compared: peak load and smallest refresh-token life left. It also
// measures the due index's read units per due connection (ConsumedCapacity
// of the sweep's Query) at 10,000 connections and at the full size.
//
// With SIMCHECK_WRITE=<file> it writes the comparison between that file's
// markers (make simulate-check: BENCHMARKS.md); with SIMCHECK_VERBOSE set it
// logs every sweep's summary.
func BenchmarkScheduleModel(b *testing.B) {
	b.StopTimer()
	c := checkConfig{
		n:         envInt("SIMCHECK_CONNECTIONS", 50_000),
		life:      envDuration("SIMCHECK_LIFETIME", 900*time.Second),
		margin:    envDuration("SIMCHECK_MARGIN", 90*time.Second),
		interval:  envDuration("SIMCHECK_INTERVAL", 60*time.Second),
		period:    envDuration("SIMCHECK_PERIOD", 10*time.Second),
		work:      envDuration("SIMCHECK_WORK", 6*time.Second),
		rate:      envFloat("SIMCHECK_RATE", 150),
		horizon:   envDuration("SIMCHECK_HORIZON", 900*time.Second),
		bin:       envDuration("SIMCHECK_BIN", 30*time.Second),
		burst:     simulate.Burst{At: 60 * time.Second, Over: 10 * time.Second, N: envInt("SIMCHECK_BURST", 5_000)},
		outage:    simulate.Outage{At: envDuration("SIMCHECK_OUTAGE_AT", 300*time.Second), For: envDuration("SIMCHECK_OUTAGE", 60*time.Second)},
		retryBase: 2 * time.Second, retryMax: 30 * time.Second,
	}
	for i := 0; i < b.N; i++ {
		runScheduleCheck(b, c)
	}
	b.ReportMetric(0, "ns/op")
}

type checkConfig struct {
	n                      int
	life, margin, interval time.Duration
	period, work           time.Duration
	rate                   float64
	horizon, bin           time.Duration
	burst                  simulate.Burst
	outage                 simulate.Outage
	retryBase, retryMax    time.Duration
}

// checkRun is what the real run showed, counted from every refresh's
// result (OnResult) and every sign-up's stored connection.
type checkRun struct {
	cfg  checkConfig
	t0   time.Time
	mu   sync.Mutex
	exp  map[string]time.Time // each connection's refresh-token expiry
	load []int                // refreshes planned per bin (next_refresh_at)
	// seeded are the plans of the connections seeded before t0.
	seeded []time.Time
	done   []int // refreshed per bin
	fail   []int // failed per bin
	// minLife is the smallest refresh-token life a refresh found.
	minLife             time.Duration
	refreshed, failures int
	deferred, sweeps    int
	// overruns counts sweeps that started more than a second late (the
	// one before ran past their start), late is the latest start,
	// deferredDeadline the refreshes the sweeps' deadlines cut off
	// (refreshes slower than the rate limit planned: the machine behind).
	overruns         int
	late             time.Duration
	deferredDeadline int
	// unread counts refreshes whose next plan could not be read.
	unread int
	// other counts the other outcomes (reauth_required: GoTo refused an
	// expired refresh token; deferred: cut off by the deadline; skipped).
	other map[sweep.Outcome]int
}

func newCheckRun(c checkConfig) *checkRun {
	bins := int(c.horizon / c.bin)
	return &checkRun{cfg: c, exp: make(map[string]time.Time, c.n+c.burst.N), load: make([]int, bins),
		done: make([]int, bins), fail: make([]int, bins), minLife: math.MaxInt64, other: map[sweep.Outcome]int{}}
}

func (r *checkRun) binOf(t time.Time) int {
	d := t.Sub(r.t0)
	if d < 0 || d >= r.cfg.horizon {
		return -1
	}
	return int(d / r.cfg.bin)
}

// planned records a stored connection's expiry and next refresh.
func (r *checkRun) planned(c *gotoauth.Connection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exp[c.ConnectionID] = c.RefreshTokenExpiresAt
	r.plan(c.NextRefreshAt)
}

// plan counts a refresh planned at next in the load (r.mu held).
func (r *checkRun) plan(next time.Time) {
	if r.t0.IsZero() {
		r.seeded = append(r.seeded, next)
	} else if b := r.binOf(next); b >= 0 {
		r.load[b]++
	}
}

// start sets t0 and counts the seeded connections' plans.
func (r *checkRun) start() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t0 = time.Now()
	for _, next := range r.seeded {
		if b := r.binOf(next); b >= 0 {
			r.load[b]++
		}
	}
	r.seeded = nil
	return r.t0
}

// result counts one refresh's result; a refreshed connection's id goes to
// plans, whose reader counts the refresh it planned next.
func (r *checkRun) result(res sweep.Result, plans chan<- string) {
	now := time.Now()
	switch res.Outcome {
	case sweep.Refreshed:
		// The store writes the new refresh token's expiry as now + its
		// lifetime (the result carries no connection).
		r.mu.Lock()
		if life := r.exp[res.ConnectionID].Sub(now); life < r.minLife {
			r.minLife = life
		}
		r.exp[res.ConnectionID] = now.Add(r.cfg.life)
		if b := r.binOf(now); b >= 0 {
			r.done[b]++
		}
		r.refreshed++
		r.mu.Unlock()
		plans <- res.ConnectionID
	case sweep.Failed:
		r.mu.Lock()
		if b := r.binOf(now); b >= 0 {
			r.fail[b]++
		}
		r.failures++
		r.mu.Unlock()
	default:
		r.mu.Lock()
		r.other[res.Outcome]++
		r.mu.Unlock()
	}
}

func runScheduleCheck(b *testing.B, c checkConfig) {
	began := time.Now()
	_, base := testutil.DynamoDB(b)
	db := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
		})
	})
	_, tableName := testutil.Table(b)
	// Every refresh returns a new refresh token living c.life, as the
	// simulator assumes (a refresh restarts the life); gototest's default,
	// RotationKeep, omits it, and a refresh then never extends the life.
	srv := gototest.NewServer(gototest.WithRefreshTokenLifetime(c.life), gototest.WithSingleUseRefreshTokens(),
		gototest.WithDelay(5*time.Millisecond))
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := gotoauth.NewTokenCipher(map[string][]byte{"check": key}, "check")
	if err != nil {
		b.Fatal(err)
	}
	sch := gotoauth.Schedule{Interval: c.interval, RefreshTokenLifetime: c.life}
	store, err := gotoauth.NewStore(db, tableName, gotoauth.WithTokenCipher(cipher), gotoauth.WithSchedule(sch))
	if err != nil {
		b.Fatal(err)
	}
	// Sign-ups go through a store of their own, as in the callback
	// function, a process that never sweeps: it plans each new connection
	// at REFRESH_INTERVAL on its phase, knowing no load (the sweep's store
	// plans with the load its sweeps observed).
	signups, err := gotoauth.NewStore(db, tableName, gotoauth.WithTokenCipher(cipher), gotoauth.WithSchedule(sch))
	if err != nil {
		b.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
	client := &gotoauth.Client{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, RedirectURL: redirectURI,
		Endpoint:   gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()},
		HTTPClient: &http.Client{Transport: tr}, ConnectTimeout: time.Second, AnswerTimeout: 2 * time.Second,
	}
	ts, err := gotoauth.NewTokenSource(store, client, gotoauth.WithRateLimit(c.rate),
		gotoauth.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	if err := ts.Tune(tuning.StoreRetryBudget(2*time.Second), tuning.RetryBackoff(c.retryBase, c.retryMax)); err != nil {
		b.Fatal(err)
	}
	reserve := ts.SweepReserve()
	run := newCheckRun(c)

	// Seed: each connection a grant GoTo accepts and its stored
	// connection, as a sign-up leaves it (no consent pages: AddGrant).
	signUp := func(store *gotoauth.Store, i int) error {
		id := fmt.Sprintf("check-%06d", i)
		rt := fmt.Sprintf("rt_check_%06d_%x", i, key[:4])
		if err := srv.AddGrant(gototest.Grant{RefreshToken: rt}); err != nil {
			return err
		}
		conn, err := store.SaveConnection(context.Background(), id, &gotoauth.Token{
			AccessToken: "at_" + id, TokenType: "Bearer", RefreshToken: rt, Expiry: time.Now().Add(time.Hour)})
		if err != nil {
			return err
		}
		run.planned(conn)
		return nil
	}
	seed := func(from, to int) {
		var g errgroup.Group
		g.SetLimit(64)
		for i := from; i < to; i++ {
			g.Go(func() error { return signUp(signups, i) })
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	first := min(10_000, c.n)
	seedStart := time.Now()
	seed(0, first)
	rcuFirst, dueFirst := dueReadUnits(b, db, tableName)
	seed(first, c.n)
	seedEnd := time.Now()
	rcuAll, dueAll := dueReadUnits(b, db, tableName)
	if dueFirst != first || dueAll != c.n {
		b.Fatalf("due index holds %d then %d connections, want %d and %d", dueFirst, dueAll, first, c.n)
	}
	b.Logf("seeded %d connections in %s; due index read: %.1f read units for %d (%.4f each), %.1f for %d (%.4f each)",
		c.n, seedEnd.Sub(seedStart).Round(time.Millisecond), rcuFirst, dueFirst, rcuFirst/float64(dueFirst), rcuAll, dueAll, rcuAll/float64(dueAll))

	// Each refresh's next plan (next_refresh_at, which the result does not
	// carry), read back from the table right after it, for the load: the
	// real sweep writes no re-plans, so what is read is the refresh's plan
	// unless a later refresh or failure of the same connection came first.
	plans := make(chan string, 1<<16)
	var readers errgroup.Group
	for range 8 {
		readers.Go(func() error {
			for id := range plans {
				next, ok := nextRefreshAt(db, tableName, id)
				run.mu.Lock()
				if ok {
					run.plan(next)
				} else {
					run.unread++
				}
				run.mu.Unlock()
			}
			return nil
		})
	}

	// The run: sweeps every period from t0, the burst and the outage.
	t0 := run.start()
	end := t0.Add(c.horizon)
	verbose := os.Getenv("SIMCHECK_VERBOSE") != ""
	var side errgroup.Group
	side.Go(func() error {
		time.Sleep(time.Until(t0.Add(c.burst.At)))
		step := c.burst.Over / time.Duration(c.burst.N)
		var g errgroup.Group
		g.SetLimit(32)
		for i := 0; i < c.burst.N; i++ {
			time.Sleep(time.Until(t0.Add(c.burst.At + time.Duration(i)*step + step/2)))
			g.Go(func() error { return signUp(signups, c.n+i) })
		}
		return g.Wait()
	})
	side.Go(func() error {
		time.Sleep(time.Until(t0.Add(c.outage.At)))
		srv.FailAlways(gototest.ServerError(http.StatusServiceUnavailable))
		time.Sleep(time.Until(t0.Add(c.outage.At + c.outage.For)))
		srv.StopFailing()
		return nil
	})
	for k := 0; ; k++ {
		start := t0.Add(time.Duration(k) * c.period)
		if !start.Before(end) {
			break
		}
		if wait := time.Until(start); wait > 0 {
			time.Sleep(wait)
		} else {
			run.late = max(run.late, -wait)
			if wait < -time.Second {
				run.overruns++
			}
		}
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(reserve+c.work))
		sum, err := ts.Sweep(ctx, sweep.Options{Period: c.period, OnResult: func(res sweep.Result) { run.result(res, plans) }})
		cancel()
		if err != nil {
			b.Fatalf("sweep %d: %v", k, err)
		}
		run.sweeps++
		if sum.Deferred > 0 {
			run.deferred++
		}
		run.deferredDeadline += sum.DeferredDeadline
		if verbose {
			b.Logf("sweep %2d at %5.1fs: due %5d refreshed %4d failed %4d deferred %5d (deadline %4d) took %5dms min life left %ds",
				k, time.Since(t0).Seconds(), sum.Due, sum.Refreshed, sum.Failed, sum.Deferred, sum.DeferredDeadline, sum.DurationMS, sum.MinLifeLeftSeconds)
		}
	}
	close(plans)
	_ = readers.Wait()
	if err := side.Wait(); err != nil {
		b.Fatal(err)
	}
	expired := 0
	for _, exp := range run.exp {
		if exp.Before(end) {
			expired++
		}
	}

	// The simulator, given the same inputs: the seeded connections were
	// issued over the seeding, before t0; sign-ups are planned as the
	// callback function plans them (at the interval, no load known); the
	// same ids (the same phases).
	sc := simulate.Scenario{
		Name: "check", Title: "the real run's inputs", Connections: c.n,
		IssuedFrom: seedStart.Sub(t0), IssuedTo: seedEnd.Sub(t0),
		Horizon: c.horizon, Bin: c.bin, Rate: c.rate, Period: c.period, Timeout: reserve + c.work, Reserve: reserve,
		Interval: c.interval, Lifetime: c.life, Margin: c.margin, RetryBase: c.retryBase, RetryMax: c.retryMax,
		Bursts: []simulate.Burst{c.burst}, Outages: []simulate.Outage{c.outage}, Day: c.life / 30,
		SignUpsAtInterval: true, IDPrefix: "check-",
	}
	sim, err := simulate.Run(sc)
	if err != nil {
		b.Fatal(err)
	}
	capBin := float64(sim.BinCapacity())
	peak := func(xs ...[]int) float64 {
		m := 0
		for i := range xs[0] {
			s := 0
			for _, x := range xs {
				s += x[i]
			}
			m = max(m, s)
		}
		return float64(m) / capBin
	}
	realLoad, realCalls := peak(run.load), peak(run.done, run.fail)
	rows := [][4]any{
		{"peak load: refreshes planned per bin ÷ capacity (sign-ups' first plans and every refresh's next; not retries)", pct(realLoad), pct(sim.PeakLoad), off(sim.PeakLoad, realLoad)},
		{"peak refresh calls per bin ÷ capacity", pct(realCalls), pct(sim.PeakCalls), off(sim.PeakCalls, realCalls)},
		{"smallest refresh-token life a refresh found", run.minLife.Round(100 * time.Millisecond), sim.MinLifeAtRefresh.Round(100 * time.Millisecond),
			off(sim.MinLifeAtRefresh.Seconds(), run.minLife.Seconds())},
		{"refreshed", run.refreshed, sim.Refreshes, off(float64(sim.Refreshes), float64(run.refreshed))},
		{"failed calls (outage)", run.failures, sim.Failures, off(float64(sim.Failures), float64(run.failures))},
		{"expired (refresh token past its expiry at the end unrefreshed, or refused by GoTo: reauth_required)", fmt.Sprintf("%d (%d reauth_required)", expired, run.other[sweep.ReauthRequired]), sim.Expired, ""},
	}
	t := &table{head: []string{"Measure", "Real sweep", "Simulator", "Simulator off by"}}
	for _, r := range rows {
		t.add(r[0], r[1], r[2], r[3])
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Measured by `make simulate-check` on %s, which took %s (%d sweeps, %d of them deferring, %d started more than a second late, the latest %s late; "+
		"%d refreshes cut off by a sweep's deadline, that is slower than the rate limit planned; the simulator deferred in %d sweeps; %d refreshes' next plans not read back).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), time.Since(began).Round(time.Second), run.sweeps, run.deferred, run.overruns, run.late.Round(10*time.Millisecond),
		run.deferredDeadline, sim.DeferredSweeps, run.unread)
	if n := run.other[sweep.Skipped] + run.other[sweep.StoreFailed]; n > 0 {
		fmt.Fprintf(&md, "The real run also had %d refreshes skipped and %d whose answer could not be stored.\n\n", run.other[sweep.Skipped], run.other[sweep.StoreFailed])
	}
	fmt.Fprintf(&md, "Inputs: %d connections seeded in %s (gototest grants, `SaveConnection`), refresh tokens living %s, `REFRESH_INTERVAL` %s, "+
		"safety margin %s; a sweep every %s working %s (deadline = reserve %s + %s) under the shared rate limit at %g/s (%d refreshes per sweep); "+
		"%d sign-ups over %s from %s; GoTo failing every token request (503) for %s from %s; backoff %s doubling to %s; bins of %s; run for %s.\n\n",
		c.n, seedEnd.Sub(seedStart).Round(time.Second), c.life, c.interval, c.margin, c.period, c.work, reserve, c.work, c.rate, sim.Capacity,
		c.burst.N, c.burst.Over, c.burst.At, c.outage.For, c.outage.At, c.retryBase, c.retryMax, c.bin, c.horizon)
	md.WriteString(t.String())
	fmt.Fprintf(&md, "\nThe due index's read cost (the sweep's `Query` with `ReturnConsumedCapacity: TOTAL`, all 32 shards, every connection due): "+
		"%.1f read units for %d connections (%.5f per due connection), %.1f for %d (%.5f per due connection).\n",
		rcuFirst, dueFirst, rcuFirst/float64(dueFirst), rcuAll, dueAll, rcuAll/float64(dueAll))
	b.Log("\n" + md.String())
	if path := os.Getenv("SIMCHECK_WRITE"); path != "" {
		if err := simulate.Replace(path, checkBegin, checkEnd, md.String()); err != nil {
			b.Fatal(err)
		}
	}
}

// The markers of the comparison in BENCHMARKS.md.
const (
	checkBegin = "<!-- make simulate-check: generated section, do not edit by hand -->"
	checkEnd   = "<!-- make simulate-check: end of the generated section -->"
)

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// off is how far the simulator's figure is from the real one, relative.
func off(sim, real float64) string {
	if real == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.1f%%", 100*(sim-real)/real)
}

// dueReadUnits reads the whole due index as the sweep does (every shard,
// everything due by far in the future) and returns the read capacity
// DynamoDB Local reports consuming, and the items read.
func dueReadUnits(b *testing.B, db *dynamodb.Client, table string) (float64, int) {
	b.Helper()
	units, items := 0.0, 0
	far := strconv.FormatInt(time.Now().Add(100*365*24*time.Hour).Unix(), 10)
	for shard := 0; shard < 32; shard++ {
		p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
			TableName:              &table,
			IndexName:              aws.String("due"),
			KeyConditionExpression: aws.String("due_shard = :s AND next_refresh_at <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":s":   &types.AttributeValueMemberS{Value: fmt.Sprintf("due#%02d", shard)},
				":now": &types.AttributeValueMemberN{Value: far},
			},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			items += len(page.Items)
			if cc := page.ConsumedCapacity; cc != nil && cc.CapacityUnits != nil {
				units += *cc.CapacityUnits
			}
		}
	}
	return units, items
}

// nextRefreshAt reads connection id's next_refresh_at (Unix seconds).
func nextRefreshAt(db *dynamodb.Client, table, id string) (time.Time, bool) {
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:            &table,
		Key:                  map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "conn#" + id}},
		ProjectionExpression: aws.String("next_refresh_at"),
		ConsistentRead:       aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, false
	}
	n, ok := out.Item["next_refresh_at"].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
