package bench_test

// The sweep benchmarks of BENCHMARKS.md. Run them with `make bench`, or:
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./internal/testing/bench/
//
// They need DynamoDB Local (make dynamodb-local). Each benchmark reports
// refreshes/s (connections refreshed per second of wall time) and more;
// ns/op is meaningless here and suppressed. The BENCH_* environment
// variables below change the sizes.

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	tw "github.com/gotoconnector/gotoconnector/internal/testing/world"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// Knobs (environment variables, with their defaults).
var (
	// Connections in the table of the big sweeps.
	connections = envInt("BENCH_CONNECTIONS", 10000)
	// GoTo's answer time: gototest delays every token answer this long.
	providerDelay = envDuration("BENCH_DELAY", 50*time.Millisecond)
	// The rate limit (calls to GoTo per second) of the big rate-limited
	// sweep, and its concurrency (the production default). The limit can
	// only be reached while concurrency / GoTo's answer time exceeds it.
	// REFRESH_RATE_LIMIT's default, 10/s, would need 1000 s for 10,000
	// connections: see BENCH_DEFAULT_RATE_CONNECTIONS.
	rateLimit       = envFloat("BENCH_RATE", 200)
	rateConcurrency = envInt("BENCH_RATE_CONCURRENCY", refresh.DefaultConcurrency)
	// Connections of the sweep at the production defaults (10/s, 16
	// workers): 300 take 30 s.
	defaultRateConnections = envInt("BENCH_DEFAULT_RATE_CONNECTIONS", 300)
	// How many connections the naive sweep refreshes after its full scan
	// (0: all). One at a time at 50 ms each, 10,000 would take 9 minutes;
	// the full time is projected from the measured part.
	naiveConnections = envInt("BENCH_NAIVE_CONNECTIONS", 1000)
)

// Production defaults (internal/config, internal/sweep).
const (
	defaultRate        = 10
	defaultConcurrency = refresh.DefaultConcurrency
)

const redirectURI = "https://connector.example.com/callback"

func BenchmarkSweep(b *testing.B) {
	b.Run(fmt.Sprintf("limit=%grps/concurrency=%d", rateLimit, rateConcurrency), func(b *testing.B) {
		benchSweep(b, connections, rateLimit, rateConcurrency)
	})
	b.Run(fmt.Sprintf("limit=%drps/concurrency=%d", defaultRate, defaultConcurrency), func(b *testing.B) {
		benchSweep(b, defaultRateConnections, defaultRate, defaultConcurrency)
	})
	b.Run(fmt.Sprintf("unlimited/concurrency=%d", defaultConcurrency), func(b *testing.B) {
		benchSweep(b, connections, 0, defaultConcurrency)
	})
	b.Run("unlimited/concurrency=64", func(b *testing.B) {
		benchSweep(b, connections, 0, 64)
	})
}

// benchSweep makes every connection of an n-connection world due and
// sweeps them with the Sweeper (limit 0: no rate limiter), then checks that
// each was refreshed exactly once.
func benchSweep(b *testing.B, n int, limit float64, concurrency int) {
	w := getWorld(b, n)
	var (
		refreshed int
		elapsed   time.Duration
		dueRead   time.Duration
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dueRead += w.makeDue(b)
		before := w.counters()
		var opts []gotoauth.Option
		if limit > 0 {
			// As the refresh function builds it: a token bucket with burst
			// 1 and the limit shared through the table.
			opts = append(opts, gotoauth.WithRateLimit(limit))
		}
		s := &refresh.Sweeper{Source: w.source(b, opts...), Concurrency: concurrency}
		b.StartTimer()
		start := time.Now()
		sum, err := s.Sweep(context.Background())
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Due != n || sum.Refreshed != n || sum.Failed+sum.Skipped+sum.ReauthRequired+sum.Deferred != 0 {
			b.Fatalf("sweep of %d: %+v", n, sum)
		}
		w.verify(b, before, n)
		refreshed += sum.Refreshed
		elapsed += took
	}
	rps := float64(refreshed) / elapsed.Seconds()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rps, "refreshes/s")
	if limit > 0 {
		b.ReportMetric(100*rps/limit, "%_of_limit")
	}
	b.ReportMetric(float64(n), "connections")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/sweep")
	b.ReportMetric(float64(dueRead.Milliseconds())/float64(b.N), "ms/due-read")
	recordSweep(b, sweepRow{n: n, limit: limit, concurrency: concurrency, wall: elapsed / time.Duration(b.N), rps: rps})
	lim := "no rate limit"
	if limit > 0 {
		lim = fmt.Sprintf("rate limit %g/s (%.1f%% reached)", limit, 100*rps/limit)
	}
	b.Logf("%d connections swept in %s: %.1f refreshes/s; %s, concurrency %d, GoTo answers in %s; each refreshed exactly once",
		n, elapsed.Round(time.Millisecond)/time.Duration(b.N), rps, lim, concurrency, providerDelay)
}

// BenchmarkNaive sweeps the same table naively: a full scan, then one
// refresh after the other, written back with a plain UpdateItem.
func BenchmarkNaive(b *testing.B) {
	n := connections
	w := getWorld(b, n)
	want := n
	if naiveConnections > 0 && naiveConnections < n {
		want = naiveConnections
	}
	var res NaiveResult
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w.makeDue(b)
		before := w.counters()
		nv := &Naive{DB: w.db, Table: w.table, Client: w.client(), Cipher: w.cipher, Schedule: w.schedule, Now: w.clock.Now}
		b.StartTimer()
		r, err := nv.Sweep(context.Background(), want)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if r.Scanned < n || r.Due != n || r.Refreshed != want || r.Failed != 0 {
			b.Fatalf("naive sweep: %+v", r)
		}
		w.verify(b, before, want)
		res.Scanned, res.Due = r.Scanned, r.Due
		res.Refreshed += r.Refreshed
		res.ScanTime += r.ScanTime
		res.RefreshTime += r.RefreshTime
	}
	measured := res.ScanTime + res.RefreshTime
	rps := float64(res.Refreshed) / measured.Seconds()
	perRefresh := res.RefreshTime / time.Duration(res.Refreshed)
	scan := res.ScanTime / time.Duration(b.N)
	projected := scan + time.Duration(n)*perRefresh
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rps, "refreshes/s")
	b.ReportMetric(float64(want), "connections")
	b.ReportMetric(measured.Seconds()/float64(b.N), "s/sweep")
	b.ReportMetric(scan.Seconds(), "s/scan")
	b.ReportMetric(projected.Seconds(), "s/projected-full-sweep")
	recordNaive(b, naiveRow{n: n, refreshed: want, scan: scan, perRefresh: perRefresh, projected: projected, rps: rps})
	b.Logf("naive: scanned %d items (%d due) in %s, then refreshed %d one by one in %s (%s each): %.1f refreshes/s; all %d would take %s",
		res.Scanned, res.Due, scan.Round(time.Millisecond), want, (res.RefreshTime / time.Duration(b.N)).Round(time.Millisecond),
		perRefresh.Round(100*time.Microsecond), rps, n, projected.Round(time.Second))
}

// world is a connector table full of connections, GoTo (gototest, every
// token answer delayed by providerDelay, single-use refresh tokens) and the
// clock they share.
type world struct {
	n        int
	clock    *testutil.Clock
	srv      *gototest.Server
	db       *dynamodb.Client
	table    string
	cipher   *gotoauth.TokenCipher
	schedule gotoauth.Schedule
	httpc    *http.Client
	// versions is each connection's version as last verified.
	versions map[string]int64
	// sweepDB, when set, is the DynamoDB the token sources use (a latency
	// proxy in front of DynamoDB Local); setup and checks use db.
	sweepDB dynamo.Client
}

// worlds are built once per size and shared by the benchmarks (in order:
// each one starts by making every connection due).
var worlds = map[int]*world{}

func getWorld(b *testing.B, n int) *world {
	b.Helper()
	if w := worlds[n]; w != nil {
		return w
	}
	b.StopTimer()
	defer b.StartTimer()
	w := newWorld(b, n)
	worlds[n] = w
	return w
}

func newWorld(b *testing.B, n int) *world { return newWorldDelay(b, n, providerDelay) }

// newWorldDelay builds a world whose GoTo answers every token request in
// delay.
func newWorldDelay(b *testing.B, n int, delay time.Duration) *world {
	b.Helper()
	clock := testutil.NewClock(time.Now().Truncate(time.Second))
	srv := gototest.NewServer(gototest.WithClock(clock.Now), gototest.WithDelay(delay), gototest.WithSingleUseRefreshTokens())
	// Shared by every benchmark; it dies with the test binary.

	// Enough idle connections that hundreds of requests in flight reuse
	// them instead of opening (and leaving in TIME_WAIT) one each.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
	_, base := testutil.DynamoDB(b)
	db := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
		})
	})
	_, table := testutil.Table(b)
	key := make([]byte, 32)
	rand.Read(key)
	cipher, err := gotoauth.NewTokenCipher(map[string][]byte{"bench": key}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	w := &world{
		n: n, clock: clock, srv: srv, db: db, table: table, cipher: cipher,
		schedule: gotoauth.Schedule{Interval: 24 * time.Hour, RefreshTokenLifetime: 720 * time.Hour},
		httpc:    &http.Client{Transport: tr},
		versions: make(map[string]int64, n),
	}

	// Connect n customers: consent, code exchange (delayed like every
	// token answer), SaveConnection; 64 at a time (more makes DynamoDB
	// Local time out waiting for its lock on a busy machine).
	start := time.Now()
	c := w.client()
	store := w.store()
	var g errgroup.Group
	g.SetLimit(64)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bench-%06d", i)
		w.versions[id] = 1
		g.Go(func() error {
			back, err := srv.Approve(c.AuthCodeURL(id))
			if err != nil {
				return err
			}
			tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
			if err != nil {
				return fmt.Errorf("exchange for %s: %w", id, err)
			}
			_, err = store.SaveConnection(context.Background(), id, tok)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	if srv.ExchangeRequests() != n || srv.InvalidGrants() != 0 {
		b.Fatalf("setup: %d exchanges, %d invalid_grant", srv.ExchangeRequests(), srv.InvalidGrants())
	}
	b.Logf("setup: %d connections (consent, exchange, SaveConnection) in %s, table %s",
		n, time.Since(start).Round(time.Millisecond), table)
	return w
}

func (w *world) store() *gotoauth.Store {
	var db dynamo.Client = w.db
	if w.sweepDB != nil {
		db = w.sweepDB
	}
	s, err := gotoauth.NewStore(db, w.table, gotoauth.WithTokenCipher(w.cipher),
		gotoauth.WithSchedule(w.schedule))
	if err != nil {
		panic(err) // the arguments are fixed: a programming error
	}
	s.Tune(tuning.Clock(w.clock.Now))
	return s
}

// client is the test world's client (default timeouts), through httpc.
func (w *world) client() *gotoauth.Client {
	c := (&tw.World{GoTo: w.srv, Clock: w.clock}).Client()
	c.HTTPClient = w.httpc
	return c
}

func (w *world) source(b *testing.B, opts ...gotoauth.Option) *gotoauth.TokenSource {
	ts, err := gotoauth.NewTokenSource(w.store(), w.client(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	return ts
}

// makeDue moves the clock 25 hours on, past every connection's next
// refresh, checks through the due index that all of them are due, and
// returns how long that index read took.
func (w *world) makeDue(b *testing.B) time.Duration {
	b.Helper()
	w.clock.Advance(25 * time.Hour)
	start := time.Now()
	due := countDue(b, w.db, w.table, w.clock.Now())
	took := time.Since(start)
	if due != w.n {
		b.Fatalf("%d of %d connections due", due, w.n)
	}
	return took
}

type counts struct{ tokens, refreshes, invalidGrants int }

func (w *world) counters() counts {
	return counts{w.srv.TokenRequests(), w.srv.RefreshRequests(), w.srv.InvalidGrants()}
}

// verify checks a sweep that should have refreshed exactly want
// connections since before: GoTo saw exactly want refresh requests and no
// invalid_grant; in the table, exactly want connections went up one version
// (none more), those are scheduled in the future, none is left leased or
// inactive, and every stored refresh token is one GoTo still accepts
// (single-use tokens: a connection refreshed twice, or whose new token was
// lost, would fail this).
func (w *world) verify(b *testing.B, before counts, want int) {
	b.Helper()
	after := w.counters()
	if d := after.refreshes - before.refreshes; d != want || after.tokens-before.tokens != want || after.invalidGrants != before.invalidGrants {
		b.Fatalf("GoTo saw %d refresh requests (%d token requests, %d invalid_grant), want %d, 0",
			d, after.tokens-before.tokens, after.invalidGrants-before.invalidGrants, want)
	}
	now := w.clock.Now().Unix()
	bumped, seen := 0, 0
	for _, item := range testutil.Items(b, w.db, w.table) {
		pk := testutil.S(item, "pk")
		if !strings.HasPrefix(pk, "conn#") {
			continue
		}
		seen++
		id := testutil.S(item, "connection_id")
		v, _ := strconv.ParseInt(testutil.N(item, "version"), 10, 64)
		next, _ := strconv.ParseInt(testutil.N(item, "next_refresh_at"), 10, 64)
		switch v - w.versions[id] {
		case 0:
		case 1:
			bumped++
			if next <= now {
				b.Fatalf("%s refreshed but still due", id)
			}
		default:
			b.Fatalf("%s went from version %d to %d", id, w.versions[id], v)
		}
		w.versions[id] = v
		if item["lease_owner"] != nil || testutil.S(item, "status") != "active" {
			b.Fatalf("%s: lease %v, status %s", id, item["lease_owner"], testutil.S(item, "status"))
		}
		rt, err := w.cipher.Decrypt(testutil.S(item, "refresh_token"), id)
		if err != nil || !w.srv.ValidRefreshToken(rt) {
			b.Fatalf("%s: stored refresh token not valid at GoTo (%v)", id, err)
		}
	}
	if seen != w.n || bumped != want {
		b.Fatalf("%d connections in the table, %d refreshed; want %d, %d", seen, bumped, w.n, want)
	}
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			panic(fmt.Sprintf("%s=%q is not a whole number", name, v))
		}
		return n
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			panic(fmt.Sprintf("%s=%q is not a positive number", name, v))
		}
		return f
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			panic(fmt.Sprintf("%s=%q is not a duration", name, v))
		}
		return d
	}
	return def
}

// countDue counts the connections due at now through the due index (its 32
// shards, as the sweep reads it).
func countDue(b *testing.B, db *dynamodb.Client, table string, now time.Time) int {
	b.Helper()
	due := 0
	for shard := 0; shard < 32; shard++ {
		p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
			TableName:              &table,
			IndexName:              aws.String("due"),
			KeyConditionExpression: aws.String("due_shard = :s AND next_refresh_at <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":s":   &types.AttributeValueMemberS{Value: fmt.Sprintf("due#%02d", shard)},
				":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			},
			Select: types.SelectCount,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			due += int(page.Count)
		}
	}
	return due
}
