package bench_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Sizes of the sweeps under latency.
var (
	// Connections per world (one world per GoTo latency).
	latencyConnections = envInt("BENCH_LATENCY_CONNECTIONS", 1500)
	// Seconds each measured sweep should last at its expected rate.
	latencySeconds = envFloat("BENCH_LATENCY_SECONDS", 6)
)

// BenchmarkSweepLatency sweeps with DynamoDB Local behind the fault
// proxy adding 5 ms and 20 ms to every call, and GoTo answering in 50 ms and
// 300 ms: first without a limit at the default concurrency (which measures
// the time one refresh takes, L = concurrency ÷ rate), then at 10/s and
// 200/s with the default concurrency, then at 200/s with the concurrency
// Little's law asks for (⌈1.25 × 200/s × L'⌉, L' = L plus the rate-limit
// slot's write). Each sweep names its
// connections (SweepOptions.IDs, without Force: the refresh path of the
// scheduled sweep, without the due-index read) so that every row lasts
// about BENCH_LATENCY_SECONDS.
func BenchmarkSweepLatency(b *testing.B) {
	ddb, base := testutil.DynamoDB(b)
	t := &table{head: []string{"GoTo", "DynamoDB +", "Rate limit", "Concurrency", "Connections", "Wall time", "Refreshes/s (n ÷ wall)", "Calls/s at GoTo", "% of the limit (calls/s at GoTo)", "Target ≥ 95%", "Time per refresh (L)"}}
	var notes []string
	b.ResetTimer()
	for _, goTo := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		b.StopTimer()
		w := newWorldDelay(b, latencyConnections, goTo)
		sends := &sendLog{inner: w.httpc.Transport}
		w.httpc.Transport = sends
		proxy, err := faultproxy.Start(ddb.Endpoint())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(proxy.Close)
		w.sweepDB = dynamodb.New(base.Options(), func(o *dynamodb.Options) {
			o.BaseEndpoint = strPtr(proxy.URL())
			o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
				t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
			})
		})
		b.StartTimer()
		for _, extra := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond} {
			proxy.Delay(extra)
			sweep := func(limit float64, concurrency, n int) (float64, time.Duration) {
				n = max(20, min(n, w.n))
				b.StopTimer()
				w.makeDue(b)
				before := w.counters()
				var opts []gotoauth.Option
				if limit > 0 {
					opts = append(opts, gotoauth.WithRateLimit(limit))
				}
				ts := w.source(b, opts...)
				ids := make([]string, n)
				for i := range ids {
					ids[i] = fmt.Sprintf("bench-%06d", i)
				}
				ops0 := total(proxy.Counts())
				sends.reset()
				b.StartTimer()
				start := time.Now()
				sum, err := ts.Sweep(context.Background(), sweep.Options{IDs: ids, Concurrency: concurrency})
				took := time.Since(start)
				b.StopTimer()
				if err != nil || sum.Refreshed != n || sum.Due != n {
					b.Fatalf("sweep of %d (GoTo %s, DynamoDB +%s, %g/s, concurrency %d): %v %+v", n, goTo, extra, limit, concurrency, err, sum)
				}
				w.verify(b, before, n)
				b.StartTimer()
				rps := float64(n) / took.Seconds()
				sendRate := sends.rate()
				perRefresh := float64(total(proxy.Counts())-ops0) / float64(n)
				lim, pct, target := "–", "–", ""
				if limit > 0 {
					lim, pct, target = fmt.Sprintf("%g/s", limit), fmt.Sprintf("%.1f%%", 100*sendRate/limit), verdict(sendRate/limit >= 0.95)
				}
				L := time.Duration(float64(concurrency) / rps * float64(time.Second))
				lcell := "–"
				if limit == 0 {
					lcell = fmt.Sprintf("%s (%.1f DynamoDB calls/refresh)", L.Round(time.Millisecond), perRefresh)
				}
				t.add(goTo, "+"+extra.String(), lim, concurrency, n, took.Round(100*time.Millisecond), fmt.Sprintf("%.1f", rps), fmt.Sprintf("%.1f", sendRate), pct, target, lcell)
				b.ReportMetric(rps, fmt.Sprintf("rps-goto%dms-ddb%dms-limit%g-c%d", goTo.Milliseconds(), extra.Milliseconds(), limit, concurrency))
				return rps, L
			}
			guess := goTo + 4*extra + 5*time.Millisecond
			_, L := sweep(0, defaultConcurrency, int(float64(defaultConcurrency)/guess.Seconds()*latencySeconds*0.7))
			sweep(defaultRate, defaultConcurrency, int(defaultRate*latencySeconds))
			ceiling := float64(defaultConcurrency) / L.Seconds()
			sweep(rateLimit, defaultConcurrency, int(math.Min(rateLimit, ceiling)*latencySeconds))
			// Under the limit each refresh also takes a rate-limit slot: one
			// more DynamoDB write (with the proxy's delay) than the
			// unlimited sweep that measured L.
			Llim := L + extra + 2*time.Millisecond
			need := int(math.Ceil(1.25 * rateLimit * Llim.Seconds()))
			if need > defaultConcurrency {
				sweep(rateLimit, need, int(rateLimit*latencySeconds))
			}
			notes = append(notes, fmt.Sprintf("- GoTo %s, DynamoDB +%s: L = %s without the limit, so %d workers carry at most %.0f/s; "+
				"under the limit a refresh also writes its rate-limit slot, L ≈ %s, and %g/s needs ≥ %.0f workers (Little's law: rate × L), %d with 25%% headroom.",
				goTo, extra, L.Round(time.Millisecond), defaultConcurrency, ceiling, Llim.Round(time.Millisecond), rateLimit, math.Ceil(rateLimit*Llim.Seconds()), need))
		}
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	writeFragment(b, "40-sweep-latency", "### 4. The sweep under realistic latency\n\n"+
		"DynamoDB Local behind the fault proxy (`faultproxy.Delay`, every call: lease, rate-limit slot, token write), "+
		"GoTo (`gototest.WithDelay`) at 50 ms and 300 ms; single-use refresh tokens, every row checked as above. "+
		"L, the time one refresh takes, is measured by the unlimited row (concurrency ÷ refreshes/s). "+
		"Calls/s at GoTo is the rate the refresh requests left the connector: (n − 1) ÷ (last send − first send); "+
		"n ÷ wall also counts the last answer and write, one L, which weighs on short rows.\n\n"+
		t.String()+"\n"+strings.Join(notes, "\n")+"\n")
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func strPtr(s string) *string { return &s }

// sendLog records when each request to GoTo leaves.
type sendLog struct {
	inner http.RoundTripper
	mu    sync.Mutex
	times []time.Time
}

func (l *sendLog) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	return l.inner.RoundTrip(req)
}

func (l *sendLog) reset() {
	l.mu.Lock()
	l.times = l.times[:0]
	l.mu.Unlock()
}

// rate is the requests per second between the first and the last.
func (l *sendLog) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.times) < 2 {
		return 0
	}
	first, last := l.times[0], l.times[0]
	for _, t := range l.times {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return float64(len(l.times)-1) / last.Sub(first).Seconds()
}
