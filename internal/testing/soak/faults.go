package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// event is one fault injected, for the report.
type event struct {
	at   time.Duration // since the fault phase started
	what string
}

// injector injects the faults of one soak.
type injector struct {
	set    Settings
	rng    *rand.Rand
	proxy  *faultproxy.Proxy
	goTo   *gototest.Server
	ledger *ledger
	procs  *procs
	start  time.Time

	mu      sync.Mutex
	events  []event
	revoked map[string]time.Time // connection -> when its customer revoked at GoTo
	goToN   map[string]int       // GoTo failures injected, by kind
	outages []outage             // DynamoDB faults, cut or throttled
}

// outage is a time DynamoDB was cut or throttled for the processes.
type outage struct{ from, to time.Time }

// outageBetween reports whether a DynamoDB outage overlapped [from, to].
func (in *injector) outageBetween(from, to time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, o := range in.outages {
		if !o.from.After(to) && (o.to.IsZero() || !o.to.Before(from)) {
			return true
		}
	}
	return false
}

func (in *injector) note(format string, args ...any) {
	in.mu.Lock()
	defer in.mu.Unlock()
	e := event{at: time.Since(in.start).Round(time.Second), what: fmt.Sprintf(format, args...)}
	in.events = append(in.events, e)
	fmt.Printf("soak: +%-5s %s\n", e.at, e.what)
}

// step is one scripted fault: at a fraction of the duration, do something.
type step struct {
	at float64
	do func(ctx context.Context)
}

// run injects faults until ctx ends (the end of the fault phase), then
// lifts them all.
func (in *injector) run(ctx context.Context) {
	in.start = time.Now()
	d := in.set.Duration
	longCut := min(2*time.Minute, d/2)
	script := []step{
		{0.10, func(ctx context.Context) { in.ddb(ctx, "DynamoDB cut", 30*time.Second, in.proxy.Cut) }},
		{0.25, func(context.Context) { in.kill() }},
		{0.30, func(ctx context.Context) { in.ddb(ctx, "DynamoDB throttled", 20*time.Second, in.proxy.Throttle) }},
		{0.40, func(ctx context.Context) {
			in.proxy.Only("UpdateItem")
			in.ddb(ctx, "DynamoDB UpdateItem throttled", 10*time.Second, in.proxy.Throttle)
			in.proxy.Only()
		}},
		{0.45, func(ctx context.Context) { in.ddb(ctx, "DynamoDB cut", longCut, in.proxy.Cut) }},
		{0.45 + 0.5*float64(longCut)/float64(d), func(context.Context) { in.kill() }},
		{0.85, func(context.Context) { in.kill() }},
		{0.88, func(ctx context.Context) {
			in.proxy.Delay(500 * time.Millisecond)
			in.ddb(ctx, "DynamoDB answers 500 ms late", 10*time.Second, func() {})
			in.proxy.Delay(0)
		}},
	}
	var wg sync.WaitGroup
	for _, s := range script {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sleep(ctx, time.Duration(s.at*float64(d))) {
				s.do(ctx)
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); in.goToFaults(ctx) }()
	go func() { defer wg.Done(); in.revocations(ctx) }()
	wg.Wait()
	in.proxy.Restore()
	in.proxy.Delay(0)
	in.proxy.Only()
	in.goTo.StopFailing()
	in.note("faults stopped")
}

// ddb applies a DynamoDB fault for d (or until ctx ends), then restores.
func (in *injector) ddb(ctx context.Context, what string, d time.Duration, apply func()) {
	in.note("%s for %s", what, d)
	in.mu.Lock()
	i := len(in.outages)
	in.outages = append(in.outages, outage{from: time.Now()})
	in.mu.Unlock()
	apply()
	sleep(ctx, d)
	in.proxy.Restore()
	in.mu.Lock()
	in.outages[i].to = time.Now()
	in.mu.Unlock()
	in.note("%s: restored", what)
}

// kill SIGKILLs a random refresher process (the sweep or a TokenSource
// process) and restarts it.
func (in *injector) kill() {
	in.mu.Lock()
	slot := in.rng.IntN(in.set.TokenProcesses + 1)
	in.mu.Unlock()
	name, err := in.procs.killAndRestart(slot)
	if err != nil {
		in.note("SIGKILL failed: %v", err)
		return
	}
	in.note("SIGKILL %s (restarted)", name)
}

// goToFaults makes GoTo's token endpoint misbehave every few seconds:
// server errors, rate limiting, slow answers and garbage.
func (in *injector) goToFaults(ctx context.Context) {
	kinds := []struct {
		name string
		f    func(r *rand.Rand) gototest.Failure
	}{
		{"5xx", func(r *rand.Rand) gototest.Failure {
			return gototest.ServerError([]int{500, 502, 503, 504}[r.IntN(4)])
		}},
		{"429", func(r *rand.Rand) gototest.Failure {
			return gototest.RateLimited(time.Duration(1+r.IntN(3)) * time.Second)
		}},
		{"slow", func(r *rand.Rand) gototest.Failure { return gototest.Slow(time.Duration(2+r.IntN(19)) * time.Second) }},
		{"html", func(*rand.Rand) gototest.Failure { return gototest.HTMLError(http.StatusBadGateway) }},
		{"truncated", func(*rand.Rand) gototest.Failure { return gototest.TruncatedJSON() }},
		{"empty", func(r *rand.Rand) gototest.Failure { return gototest.EmptyBody([]int{200, 500}[r.IntN(2)]) }},
	}
	for {
		in.mu.Lock()
		wait := time.Duration(1000+in.rng.IntN(3000)) * time.Millisecond
		k := kinds[in.rng.IntN(len(kinds))]
		n := 1 + in.rng.IntN(5)
		f := k.f(in.rng)
		in.mu.Unlock()
		if !sleep(ctx, wait) {
			return
		}
		in.goTo.FailNext(n, f)
		in.mu.Lock()
		in.goToN[k.name] += n
		in.mu.Unlock()
	}
}

// revocations revokes Revocations connections' refresh tokens at GoTo at
// random times in the first 60% of the run, so that each is refreshed (and
// found dead) before the end.
func (in *injector) revocations(ctx context.Context) {
	in.mu.Lock()
	times := make([]time.Duration, in.set.Revocations)
	ids := make([]string, in.set.Revocations)
	for i := range times {
		times[i] = time.Duration((0.05 + 0.55*in.rng.Float64()) * float64(in.set.Duration))
		ids[i] = connectionID(in.rng.IntN(in.set.Connections))
	}
	in.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	for i, t := range times {
		if !sleep(ctx, t-time.Since(in.start)) {
			return
		}
		if in.ledger.revokeLatest(ids[i]) {
			in.mu.Lock()
			if _, done := in.revoked[ids[i]]; !done {
				in.revoked[ids[i]] = time.Now()
			}
			in.mu.Unlock()
		}
	}
	in.mu.Lock()
	n := len(in.revoked)
	in.mu.Unlock()
	in.note("%d customers revoked access at GoTo", n)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
