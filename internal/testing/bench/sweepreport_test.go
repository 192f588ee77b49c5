package bench_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sweep rows of BenchmarkSweep and BenchmarkNaive, for the generated
// section (items 4's baseline and 5 of issue 12).
type sweepRow struct {
	n           int
	limit       float64
	concurrency int
	wall        time.Duration
	rps         float64
}

type naiveRow struct {
	n, refreshed int
	scan         time.Duration
	perRefresh   time.Duration
	projected    time.Duration
	rps          float64
}

var (
	sweepMu   sync.Mutex
	sweepRows []sweepRow
	naive     *naiveRow
)

func recordSweep(tb testing.TB, r sweepRow) {
	sweepMu.Lock()
	sweepRows = append(sweepRows, r)
	sweepMu.Unlock()
	writeSweepFragment(tb)
}

func recordNaive(tb testing.TB, r naiveRow) {
	sweepMu.Lock()
	naive = &r
	sweepMu.Unlock()
	writeSweepFragment(tb)
}

func writeSweepFragment(tb testing.TB) {
	sweepMu.Lock()
	defer sweepMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "### 5. The sweep at scale, and against the naive sweep\n\n"+
		"GoTo answers every token request in %s; DynamoDB Local without added latency; single-use refresh tokens; "+
		"every row checked (each due connection refreshed exactly once, every stored refresh token still valid at GoTo).\n\n", providerDelay)
	t := &table{head: []string{"Sweep", "Connections", "Rate limit", "Concurrency", "Wall time", "Refreshes/s", "% of the limit", "Target ≥ 95%"}}
	var c16, c64 float64
	for _, r := range sweepRows {
		lim, pct, target := "–", "–", ""
		if r.limit > 0 {
			lim = fmt.Sprintf("%g/s", r.limit)
			pct = fmt.Sprintf("%.1f%%", 100*r.rps/r.limit)
			target = verdict(r.rps/r.limit >= 0.95)
		} else if r.concurrency == defaultConcurrency {
			c16 = r.rps
		} else if r.concurrency == 64 {
			c64 = r.rps
		}
		t.add("Sweeper", r.n, lim, r.concurrency, r.wall.Round(100*time.Millisecond), fmt.Sprintf("%.1f", r.rps), pct, target)
	}
	if naive != nil {
		t.add(fmt.Sprintf("Naive: scan + sequential (%d of %d refreshed)", naive.refreshed, naive.n), naive.n, "–", 1,
			fmt.Sprintf("scan %s + %s per refresh", naive.scan.Round(time.Millisecond), naive.perRefresh.Round(100*time.Microsecond)),
			fmt.Sprintf("%.1f", naive.rps), "–", "")
		t.add("Naive, projected to all", naive.n, "–", 1, naive.projected.Round(time.Second), fmt.Sprintf("%.1f", float64(naive.n)/naive.projected.Seconds()), "–", "")
	}
	b.WriteString(t.String())
	if naive != nil && c16 > 0 {
		naiveRate := float64(naive.n) / naive.projected.Seconds()
		perWorker := time.Duration(float64(defaultConcurrency) / c16 * float64(time.Second))
		ceiling := float64(defaultConcurrency) * float64(naive.perRefresh) / float64(perWorker)
		fmt.Fprintf(&b, "\n**Sweep ÷ naive at the default concurrency (%d): %.1fx** (over the projected full naive sweep).",
			defaultConcurrency, c16/naiveRate)
		fmt.Fprintf(&b, " Each of the %d workers completes a refresh every %s (%d ÷ %.1f/s), against the naive loop's %s, "+
			"so the ratio is %d × %s ÷ %s ≈ %.1fx. At most it would be %dx (each worker as fast as the naive loop): "+
			"what is lost per worker is the lease write the naive loop does not make and the 2 cores shared with DynamoDB Local and GoTo "+
			"(the naive loop has one request in flight, the sweep %d). Past that, the ratio grows only with concurrency.",
			defaultConcurrency, perWorker.Round(100*time.Microsecond), defaultConcurrency, c16, naive.perRefresh.Round(100*time.Microsecond),
			defaultConcurrency, naive.perRefresh.Round(100*time.Microsecond), perWorker.Round(100*time.Microsecond), ceiling, defaultConcurrency, defaultConcurrency)
		if c64 > 0 {
			fmt.Fprintf(&b, " At concurrency 64: %.1fx (%.0f/s, %.0f%% of the %.0f/s that 64 ÷ %s would allow: the 2 cores, shared with DynamoDB Local and GoTo, are the limit there; this row is this machine's ceiling for any sweep in this run).",
				c64/naiveRate, c64, 100*c64/(64/perWorker.Seconds()), 64/perWorker.Seconds(), perWorker.Round(100*time.Microsecond))
		}
		b.WriteString("\n")
	}
	writeFragment(tb, "50-sweep", b.String())
}
