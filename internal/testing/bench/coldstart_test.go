package bench_test

// The Lambda benchmarks of BENCHMARKS.md: cold starts of each bootstrap
// under the Runtime Interface Emulator against hello worlds built in the same
// run with the same flags, and the warm path (Secrets Manager, DynamoDB and
// GoTo calls counted at the endpoints).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gotoconnector/gotoconnector"
	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
)

// Cold starts per bootstrap (the median is reported).
var coldStarts = envInt("BENCH_COLD_STARTS", 11)

// Warm invocations of authorize counted for Secrets Manager reads, and
// connections of the refresh function's counted sweep.
var (
	warmInvocations = envInt("BENCH_WARM_INVOCATIONS", 1000)
	warmRefreshes   = envInt("BENCH_WARM_REFRESHES", 50)
)

// bootstraps are the functions' and the hello worlds' bootstraps, built
// once per run: the functions with the Makefile target sam build runs, the
// hello worlds with the same flags (make build-package), the tap plainly.
type bootstraps struct {
	root, rie, tap string
	path           map[string]string // by name
}

var (
	builtOnce sync.Once
	built     *bootstraps
	buildErr  error
)

// The bootstraps measured, in the order of the tables; hello worlds last.
var functionIDs = []string{"AuthorizeFunction", "CallbackFunction", "RefreshFunction", "ConnectionsFunction"}

// readsNeeded is how many DynamoDB reads a function's first invocation
// needs for its own job (GET /connections/{id} reads the connection).
var readsNeeded = map[string]int{"ConnectionsFunction": 1}

const (
	helloPlain   = "hello: aws-lambda-go only"
	helloClients = "hello: builds the AWS clients"
	helloCalls   = "hello: builds the clients and calls the same operations"
)

var helloPkgs = map[string]string{
	helloPlain:   "./internal/testing/bench/hello/plain",
	helloClients: "./internal/testing/bench/hello/clients",
	helloCalls:   "./internal/testing/bench/hello/calls",
}

func getBootstraps(tb testing.TB) *bootstraps {
	tb.Helper()
	builtOnce.Do(func() { built, buildErr = buildBootstraps(tb) })
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return built
}

func buildBootstraps(tb testing.TB) (*bootstraps, error) {
	root, err := devenv.ModuleRoot(".")
	if err != nil {
		return nil, err
	}
	rie, err := invoke.FindRIE(root)
	if err != nil {
		return nil, err
	}
	// In the module's .cache (ignored by git), replaced by every run.
	dir := filepath.Join(root, ".cache", "bench-bootstraps")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	bs := &bootstraps{root: root, rie: rie, path: map[string]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out bytes.Buffer
	for _, id := range functionIDs {
		if bs.path[id], err = invoke.Build(ctx, root, id, filepath.Join(dir, id), &out); err != nil {
			return nil, fmt.Errorf("%v\n%s", err, out.String())
		}
	}
	for name, pkg := range helloPkgs {
		d := filepath.Join(dir, "hello-"+filepath.Base(pkg))
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "build-package",
			"PKG="+pkg, "ARTIFACTS_DIR="+d, "LAMBDA_GOARCH="+invoke.HostArch)
		cmd.Env = withoutMake(os.Environ())
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, b)
		}
		bs.path[name] = filepath.Join(d, "bootstrap")
	}
	bs.tap = filepath.Join(dir, "tap")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bs.tap, "./internal/testing/bench/tap")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the tap: %v\n%s", err, b)
	}
	tb.Logf("bootstraps built in %s", dir)
	return bs, nil
}

func withoutMake(env []string) []string {
	var out []string
	for _, kv := range env {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// env returns function id's environment as sam local invoke would set it
// from the site's values.
func (s *site) env(tb testing.TB, id string) []string {
	tb.Helper()
	fn, err := invoke.TemplateFunction(gotoconnector.Template, id)
	if err != nil {
		tb.Fatal(err)
	}
	return invoke.Environ(invoke.Environment(fn, invoke.EnvVars{id: s.vars}, nil))
}

// coldSample is one cold start: init (process start to the first poll for
// an invocation), the first invocation (event delivered to answer), and
// how that invocation's time went: waiting on Secrets Manager, DynamoDB and
// GoTo (measured at their meters), the rest being the bootstrap's own work.
type coldSample struct {
	init, first        time.Duration
	secret, ddb, goTo  time.Duration
	own                time.Duration
	smCalls            int
	awsOps             []string // Secrets Manager and DynamoDB operations, in order
	ddbCount, goToCall map[string]int
	response           []byte
}

// coldStart starts bootstrap under the emulator (through the tap), sends
// one event and stops it.
func (s *site) coldStart(tb testing.TB, bs *bootstraps, bootstrap string, env []string, event any) coldSample {
	tb.Helper()
	tapOut := filepath.Join(tb.TempDir(), "tap")
	var logs bytes.Buffer
	em, err := invoke.Start(context.Background(), invoke.Options{
		RIE: bs.rie, Bootstrap: bs.tap, Output: &logs,
		Env: append(append([]string{}, env...), "BENCH_TAP_OUT="+tapOut, "BENCH_TAP_BOOTSTRAP="+bootstrap),
	})
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := json.Marshal(event)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	resp, err := em.Invoke(ctx, body)
	cancel()
	em.Close()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", bootstrap, err, logs.String())
	}
	if typ, msg, ok := invoke.FunctionError(resp); ok {
		tb.Fatalf("%s: function error %s: %s\n%s", bootstrap, typ, msg, logs.String())
	}
	marks := readTap(tb, tapOut)
	next, done := marks["next"], marks["response"]
	sm, ddb, gt := s.smM.between(next, done), s.ddbM.between(next, done), s.goToM.between(next, done)
	c := coldSample{
		init: next.Sub(marks["exec"]), first: done.Sub(next),
		secret: sm.busy, ddb: ddb.busy, goTo: gt.busy,
		smCalls: sm.calls, ddbCount: ddb.count, goToCall: gt.count, response: resp,
	}
	c.own = c.first - c.secret - c.ddb - c.goTo
	for range sm.calls {
		c.awsOps = append(c.awsOps, "GetSecretValue")
	}
	c.awsOps = append(c.awsOps, ddb.ops...)
	return c
}

func readTap(tb testing.TB, path string) map[string]time.Time {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	marks := map[string]time.Time{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, v, _ := strings.Cut(line, " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		marks[name] = time.Unix(0, n)
	}
	for _, k := range []string{"exec", "next", "response"} {
		if marks[k].IsZero() {
			tb.Fatalf("tap recorded no %q: %s", k, b)
		}
	}
	return marks
}

// coldRow is the medians of one bootstrap's cold starts.
type coldRow struct {
	name                           string
	size                           int64
	init, first, secret, ddb, goTo time.Duration
	own                            time.Duration
	smCalls                        int
	ops                            []string
	ddbCount, goToCount            map[string]int
}

func summarize(name, path string, samples []coldSample) coldRow {
	st, _ := os.Stat(path)
	r := coldRow{name: name, size: st.Size(), smCalls: samples[0].smCalls, ops: samples[0].awsOps,
		ddbCount: samples[0].ddbCount, goToCount: samples[0].goToCall}
	pick := func(f func(coldSample) time.Duration) time.Duration {
		var ds []time.Duration
		for _, s := range samples {
			ds = append(ds, f(s))
		}
		return median(ds)
	}
	r.init = pick(func(s coldSample) time.Duration { return s.init })
	r.first = pick(func(s coldSample) time.Duration { return s.first })
	r.secret = pick(func(s coldSample) time.Duration { return s.secret })
	r.ddb = pick(func(s coldSample) time.Duration { return s.ddb })
	r.goTo = pick(func(s coldSample) time.Duration { return s.goTo })
	r.own = pick(func(s coldSample) time.Duration { return s.own })
	return r
}

// BenchmarkColdStart starts every bootstrap cold BENCH_COLD_STARTS times
// under the emulator, interleaved (one of each, then again), and reports
// the medians.
func BenchmarkColdStart(b *testing.B) {
	bs := getBootstraps(b)
	s := newSite(b)
	// Connections for the refresh function's cold starts (each forces one
	// refresh of its own connection).
	direct := s.app(b, s.db, secrets.Static{S: s.secrets}, nil)
	n := coldStarts
	refreshIDs := make([]string, n)
	for i := range refreshIDs {
		refreshIDs[i] = fmt.Sprintf("cold-refresh-%02d", i)
		resp, err := direct.Callback(context.Background(), callbackEvent(b, direct, s.goTo, refreshIDs[i]))
		if err != nil || resp.StatusCode != http.StatusFound {
			b.Fatalf("connecting %s: %v %d %s", refreshIDs[i], err, resp.StatusCode, resp.Body)
		}
	}

	samples := map[string][]coldSample{}
	b.ResetTimer()
	for i := 0; i < n; i++ {
		// The connector's functions.
		a := s.coldStart(b, bs, bs.path["AuthorizeFunction"], s.env(b, "AuthorizeFunction"), authorizeEvent(b, fmt.Sprintf("cold-auth-%02d", i)))
		checkHTTP(b, "authorize", a.response, http.StatusFound)
		samples["AuthorizeFunction"] = append(samples["AuthorizeFunction"], a)
		c := s.coldStart(b, bs, bs.path["CallbackFunction"], s.env(b, "CallbackFunction"), callbackEvent(b, direct, s.goTo, fmt.Sprintf("cold-cb-%02d", i)))
		checkHTTP(b, "callback", c.response, http.StatusFound)
		samples["CallbackFunction"] = append(samples["CallbackFunction"], c)
		r := s.coldStart(b, bs, bs.path["RefreshFunction"], s.env(b, "RefreshFunction"), refresh.ManualRequest{ConnectionIDs: []string{refreshIDs[i]}, Force: true})
		var sum refresh.Summary
		if json.Unmarshal(r.response, &sum) != nil || sum.Refreshed != 1 {
			b.Fatalf("refresh: %s", r.response)
		}
		samples["RefreshFunction"] = append(samples["RefreshFunction"], r)
		k := s.coldStart(b, bs, bs.path["ConnectionsFunction"], s.env(b, "ConnectionsFunction"), connectionEvent(refreshIDs[i]))
		checkHTTP(b, "connections", k.response, http.StatusOK)
		samples["ConnectionsFunction"] = append(samples["ConnectionsFunction"], k)

		// The floors, with authorize's environment.
		env := s.env(b, "AuthorizeFunction")
		samples[helloPlain] = append(samples[helloPlain], s.coldStart(b, bs, bs.path[helloPlain], env, map[string]any{}))
		samples[helloClients] = append(samples[helloClients], s.coldStart(b, bs, bs.path[helloClients], env, map[string]any{}))
		// The same AWS operations as each function's first invocation.
		for _, id := range functionIDs {
			ops := samples[id][0].awsOps
			key := helloCalls + " as " + id
			samples[key] = append(samples[key], s.coldStart(b, bs, bs.path[helloCalls], env, map[string]any{"ops": ops}))
		}
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")

	rows := map[string]coldRow{}
	for name, ss := range samples {
		path := bs.path[name]
		if strings.HasPrefix(name, helloCalls) {
			path = bs.path[helloCalls]
		}
		rows[name] = summarize(name, path, ss)
	}
	for _, id := range functionIDs {
		r := rows[id]
		b.ReportMetric(float64(r.init.Microseconds())/1000, "ms-init-"+strings.TrimSuffix(id, "Function"))
		b.ReportMetric(float64(r.first.Microseconds())/1000, "ms-first-"+strings.TrimSuffix(id, "Function"))
	}
	writeFragment(b, "10-coldstart", coldStartReport(bs, rows, n))
}

func checkHTTP(tb testing.TB, name string, raw []byte, status int) {
	tb.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode != status {
		tb.Fatalf("%s answered %s, want status %d", name, raw, status)
	}
}

func coldStartReport(bs *bootstraps, rows map[string]coldRow, n int) string {
	var b strings.Builder
	floor := rows[helloClients].init
	fmt.Fprintf(&b, "### 1. Cold starts under the Runtime Interface Emulator\n\n")
	fmt.Fprintf(&b, "Median of %d cold starts each, interleaved. Bootstraps built for this machine (%s) with the deployed flags "+
		"(`make build-<LogicalId>` / `make build-package`: `-tags lambda.norpc -trimpath -ldflags=\"-s -w\"`, CGO off). "+
		"Init = process start to the first poll for an invocation; first invocation = event delivered to answer, split into the time "+
		"Secrets Manager, DynamoDB Local and GoTo (gototest) took, measured at a proxy in front of each, and the rest (own work: "+
		"SDK signing and serialization, connection set-up, our code).\n\n", n, invoke.HostArch)
	t := &table{head: []string{"Bootstrap", "Size", "Init", "Init ÷ SDK hello", "Target ≤ 1.3x", "First invocation", "Secret fetch", "DynamoDB", "GoTo", "Own work", "Calls in the first invocation"}}
	names := append(append([]string{}, functionIDs...), helloPlain, helloClients)
	for _, id := range functionIDs {
		names = append(names, helloCalls+" as "+id)
	}
	for _, name := range names {
		r, ok := rows[name]
		if !ok {
			continue
		}
		ratio := float64(r.init) / float64(floor)
		target := ""
		if !strings.HasPrefix(name, "hello") {
			target = verdict(ratio <= 1.3)
		}
		t.add(name, fmt.Sprintf("%.2f MB", float64(r.size)/1e6), ms(r.init), fmt.Sprintf("%.2fx", ratio), target,
			ms(r.first), ms(r.secret), ms(r.ddb), ms(r.goTo), ms(r.own), callList(r))
	}
	b.WriteString(t.String())
	b.WriteString("\n**Nothing that could be done once** (first invocation, counted at the endpoints):\n\n")
	t2 := &table{head: []string{"Function", "Secrets Manager reads", "DynamoDB reads (GetItem/Query)", "Own work vs hello calling the same operations", "Verdict"}}
	for _, id := range functionIDs {
		r, h := rows[id], rows[helloCalls+" as "+id]
		reads := r.ddbCount["GetItem"] + r.ddbCount["Query"]
		t2.add(id, r.smCalls, reads, fmt.Sprintf("%s vs %s (%+.2f ms)", ms(r.own), ms(h.own), float64(r.own-h.own)/float64(time.Millisecond)),
			verdict(r.smCalls == 1 && reads == readsNeeded[id]))
	}
	b.WriteString(t2.String())
	b.WriteString("\nThe connections function's first invocation is `GET /connections/{id}`, which needs its one `GetItem`.\n")
	return b.String()
}

func callList(r coldRow) string {
	var parts []string
	if r.smCalls > 0 {
		parts = append(parts, fmt.Sprintf("GetSecretValue ×%d", r.smCalls))
	}
	for _, op := range []string{"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"} {
		if c := r.ddbCount[op]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d", op, c))
		}
	}
	for op, c := range r.goToCount {
		parts = append(parts, fmt.Sprintf("GoTo %s ×%d", op, c))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
