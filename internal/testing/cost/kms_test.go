package cost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/ops"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/platform"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/testing/simulate"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// kmsConnections is how many connections the KMS measurement connects and
// refreshes (twice) in one process each.
const kmsConnections = 1000

// The markers of the KMS figures in BENCHMARKS.md (written with
// COST_WRITE=<file>, as `make cost` does).
const (
	kmsBegin = "<!-- make cost: generated section (KMS), do not edit by hand -->"
	kmsEnd   = "<!-- make cost: end of the generated section (KMS) -->"
)

// KMS prices (us-east-1, public list price as of 2025; check the AWS
// pricing page): requests and a customer-managed key.
const (
	kmsPricePer10k   = 0.03
	kmsKeyPriceMonth = 1.00
)

// kmsWire is a reverse proxy in front of local-kms that counts the
// requests that reach it, what KMS would bill: by operation, and the
// distinct ciphertext blobs (data keys) Decrypt was asked for.
type kmsWire struct {
	mu    sync.Mutex
	ops   map[string]int
	blobs map[string]bool
	bad   int // answers other than 200
}

func (w *kmsWire) take() (ops.KMSCalls, int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := ops.KMSCalls{GenerateDataKey: w.ops["GenerateDataKey"], Decrypt: w.ops["Decrypt"]}
	blobs, bad := len(w.blobs), w.bad
	for op, n := range w.ops {
		if op != "GenerateDataKey" && op != "Decrypt" {
			bad += n // any other KMS operation is unexpected
		}
	}
	w.ops, w.blobs, w.bad = map[string]int{}, map[string]bool{}, 0
	return c, blobs, bad
}

func startKMSWire(t *testing.T, target string) (*kmsWire, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	w := &kmsWire{ops: map[string]int{}, blobs: map[string]bool{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.StatusCode != http.StatusOK {
			w.mu.Lock()
			w.bad++
			w.mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
		var in struct{ CiphertextBlob string }
		_ = json.Unmarshal(body, &in)
		w.mu.Lock()
		w.ops[op]++
		if op == "Decrypt" {
			w.blobs[in.CiphertextBlob] = true
		}
		w.mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	return w, srv.URL
}

// newProcessKMS is one process's KMS cipher (what platform.FromEnv builds
// from TOKEN_KMS_KEY_ID), talking to KMS through the counting proxy; the
// SDK's default retries stay on, so a retry would show at the wire.
func newProcessKMS(t *testing.T, endpoint string, cfg *config.Config) *gotoauth.KMSCipher {
	t.Helper()
	client := kms.New(kms.Options{
		Region:       devenv.LocalRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(devenv.LocalAccessKeyID, devenv.LocalSecretAccessKey, ""),
	})
	k, err := gotoauth.NewKMSCipher(client, cfg.TokenKMSKeyID, cfg.TableName)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kmsPhase is one measured step.
type kmsPhase struct {
	what       string
	n          int // connects, refreshes or reads
	wire       ops.KMSCalls
	wireBlobs  int // distinct data keys Decrypt was asked for
	cipher     ops.KMSCalls
	storedKeys int // distinct data keys in the table afterwards
	want       ops.KMSCalls
	since      time.Time // when the process's first data key was had
	seconds    float64
}

// TestKMSCallCounts measures the KMS requests of the connect and refresh
// paths with TOKEN_KMS_KEY_ID set, against local-kms (KMS's protocol),
// counted at the wire by a proxy in front of it: kmsConnections connects in
// one process (the callback function's), two sweeps of all of them in
// another (the refresh function's: first reading data keys written by the
// connect process, then its own), and a fresh process reading every
// connection. It fails when the data-key cache does not hold: one
// GenerateDataKey per process and cache life, one Decrypt per distinct data
// key read. With COST_WRITE=<file> it writes the figures and the monthly
// KMS cost into that file's generated section.
func TestKMSCallCounts(t *testing.T) {
	// Every refresh rotates the refresh token (the policy GoTo's pages
	// allow that costs KMS the most: two tokens sealed per refresh).
	srv := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	t.Cleanup(srv.Close)
	plain, table := testutil.Table(t)
	local := testutil.KMS(t)
	wire, endpoint := startKMSWire(t, local.Endpoint())

	const linkKey = "cost-link-signing-key-0123456789abcdef"
	env := map[string]string{
		"GOTO_CLIENT_ID":         srv.ClientID,
		"GOTO_CLIENT_SECRET":     srv.ClientSecret,
		"GOTO_LINK_SIGNING_KEY":  linkKey,
		"GOTO_AUTHORIZE_URL":     srv.AuthorizeURL(),
		"GOTO_TOKEN_URL":         srv.TokenURL(),
		"GOTO_REDIRECT_URI":      "https://connect.example.com/callback",
		"TABLE_NAME":             table,
		"ALLOWED_RETURN_ORIGINS": "https://app.example.com",
		"TOKEN_KMS_KEY_ID":       local.KeyARN(),
		// Due a second after a connect or refresh; the sweep paced fast
		// enough that 1,000 refreshes take seconds, not 100 s (the pacing
		// does not change what KMS is asked).
		"REFRESH_INTERVAL":   "1s",
		"REFRESH_RATE_LIMIT": "500",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"client_secret": srv.ClientSecret, "link_signing_key": linkKey})
	sec, err := secrets.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	var phases []kmsPhase
	measure := func(p kmsPhase, k *gotoauth.KMSCipher, before ops.KMSCalls, start time.Time) kmsPhase {
		p.seconds = time.Since(start).Seconds()
		var bad int
		p.wire, p.wireBlobs, bad = wire.take()
		if bad != 0 {
			t.Errorf("%s: %d KMS requests failed or were of another operation", p.what, bad)
		}
		now := k.Calls()
		p.cipher = ops.KMSCalls{GenerateDataKey: now.GenerateDataKey - before.GenerateDataKey, Decrypt: now.Decrypt - before.Decrypt}
		p.storedKeys = storedDataKeys(t, plain, table)
		t.Logf("%s (%d, %.1f s): at the wire %d GenerateDataKey, %d Decrypt (%d distinct data keys); KMSCipher.Calls %+v; %d distinct data keys stored",
			p.what, p.n, p.seconds, p.wire.GenerateDataKey, p.wire.Decrypt, p.wireBlobs, p.cipher, p.storedKeys)
		if p.wire != p.cipher {
			t.Errorf("%s: the wire saw %+v, KMSCipher.Calls says %+v", p.what, p.wire, p.cipher)
		}
		if p.wire.Decrypt != p.wireBlobs {
			t.Errorf("%s: %d Decrypt requests for %d distinct data keys, want one each", p.what, p.wire.Decrypt, p.wireBlobs)
		}
		// The cache holds while the process is within one data-key life.
		if time.Since(p.since) < 4*time.Minute && p.wire != p.want {
			t.Errorf("%s: %d at the wire %+v, want %+v (DESIGN.md: a data key cached 5 minutes or 10,000 encryptions)", p.what, p.n, p.wire, p.want)
		}
		phases = append(phases, p)
		return p
	}

	// --- Process 1, the callback function: kmsConnections connects. ---
	kConnect := newProcessKMS(t, endpoint, cfg)
	app := &connect.App{Config: cfg, Secrets: secrets.Static{S: sec}, DB: plain, Logger: logger, KMS: kConnect}
	start := time.Now()
	parallel(t, kmsConnections, 4, func(i int) error { return connectVia(ctx, app, srv, linkKey, fmt.Sprintf("kms-%d", i)) })
	measure(kmsPhase{what: "connects in one process", n: kmsConnections, want: ops.KMSCalls{GenerateDataKey: 1}, since: start}, kConnect, ops.KMSCalls{}, start)

	// --- Process 2, the refresh function: two sweeps of every connection. ---
	kSweep := newProcessKMS(t, endpoint, cfg)
	var sweepStart time.Time
	handler := refresh.NewHandler(&platform.Parts{Config: cfg, DB: plain, Secrets: secrets.Static{S: sec}, Logger: logger, KMS: kSweep})
	schedule, err := os.ReadFile("../../../events/schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	sweepAll := func(what string, want ops.KMSCalls) kmsPhase {
		time.Sleep(1100 * time.Millisecond) // every connection is due
		before, start := kSweep.Calls(), time.Now()
		if sweepStart.IsZero() {
			sweepStart = start
		}
		restore := quietStdout(t)
		sum, err := handler(ctx, schedule)
		restore()
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		if sum.Due != kmsConnections || sum.Refreshed != kmsConnections {
			t.Fatalf("sweep summary %+v, want all %d refreshed", sum, kmsConnections)
		}
		return measure(kmsPhase{what: what, n: sum.Refreshed, want: want, since: sweepStart}, kSweep, before, start)
	}
	sweepAll("refreshes in a fresh process, of connections written by another", ops.KMSCalls{GenerateDataKey: 1, Decrypt: 1})
	sweepAll("refreshes again in the same process (its own data key)", ops.KMSCalls{})

	// --- Process 3, a fresh reader (the Connections API's store). ---
	kRead := newProcessKMS(t, endpoint, cfg)
	st, err := gotoauth.NewStore(plain, table, platform.StoreOptions(sec, kRead, cfg.Schedule)...)
	if err != nil {
		t.Fatal(err)
	}
	stored := storedDataKeys(t, plain, table)
	start = time.Now()
	for i := range kmsConnections {
		c, err := st.Connection(ctx, fmt.Sprintf("kms-%d", i))
		if err != nil || c.AccessToken == "" || c.RefreshToken == "" {
			t.Fatalf("read kms-%d: %v", i, err)
		}
	}
	measure(kmsPhase{what: "reads in a fresh process, of connections written by another", n: kmsConnections, want: ops.KMSCalls{Decrypt: stored}, since: start}, kRead, ops.KMSCalls{}, start)

	encPerRefresh := sealedAttributes(t, plain, table, "kms-0")
	md := kmsMarkdown(phases, encPerRefresh, cfg)
	t.Log("\n" + md)
	if path := os.Getenv("COST_WRITE"); path != "" && !t.Failed() {
		if err := simulate.Replace(path, kmsBegin, kmsEnd, md); err != nil {
			t.Fatal(err)
		}
	}
}

// connectVia runs one connect through the connect handlers: authorize,
// consent at gototest, callback.
func connectVia(ctx context.Context, app *connect.App, srv *gototest.Server, linkKey, id string) error {
	link, err := gotoauth.SignLink("https://connect.example.com/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: id, ReturnTo: "https://app.example.com/done", Expires: time.Now().Add(15 * time.Minute)})
	if err != nil {
		return err
	}
	u, _ := url.Parse(link)
	resp, err := app.Authorize(ctx, connect.Request{RawQueryString: u.RawQuery})
	if err != nil || resp.StatusCode != http.StatusFound || len(resp.Cookies) != 1 {
		return fmt.Errorf("authorize %s: %v %d %v", id, err, resp.StatusCode, resp.Body)
	}
	cookie, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		return err
	}
	back, err := srv.Approve(resp.Headers["Location"])
	if err != nil {
		return err
	}
	resp, err = app.Callback(ctx, connect.Request{RawQueryString: back.RawQuery, Cookies: []string{cookie.Name + "=" + cookie.Value}})
	if err != nil || resp.StatusCode != http.StatusFound || !strings.Contains(resp.Headers["Location"], "status=connected") {
		return fmt.Errorf("callback %s: %v %d %v %s", id, err, resp.StatusCode, resp.Headers, resp.Body)
	}
	return nil
}

// parallel runs f(0..n-1) on workers goroutines and fails on the first error.
func parallel(t *testing.T, n, workers int, f func(int) error) {
	t.Helper()
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// quietStdout discards os.Stdout (the sweep's metric line) until restored.
func quietStdout(t *testing.T) func() {
	done := captureStdout(t)
	return func() { done() }
}

// tokenAttributes are the connection attributes that hold sealed tokens.
var tokenAttributes = []string{"access_token", "refresh_token"}

// storedDataKeys reads the table (test-side, not counted) and returns how
// many distinct KMS data keys seal its tokens.
func storedDataKeys(t *testing.T, db *dynamodb.Client, table string) int {
	t.Helper()
	keys := map[string]bool{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			for _, a := range tokenAttributes {
				if v, ok := item[a].(*types.AttributeValueMemberS); ok && strings.HasPrefix(v.Value, "enc:kms1:") {
					keys[strings.Split(v.Value, ":")[2]] = true
				}
			}
		}
	}
	return len(keys)
}

// sealedAttributes is how many token attributes of connection id are
// sealed under KMS: the encryptions one refresh makes.
func sealedAttributes(t *testing.T, db *dynamodb.Client, table, id string) int {
	t.Helper()
	item := testutil.Item(t, db, table, "conn#"+id)
	n := 0
	for _, a := range tokenAttributes {
		if v, ok := item[a].(*types.AttributeValueMemberS); ok && strings.HasPrefix(v.Value, "enc:kms1:") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s holds no enc:kms1 value", id)
	}
	return n
}

// kmsMarkdown writes the measured counts and the monthly KMS cost.
func kmsMarkdown(phases []kmsPhase, encPerRefresh int, cfg *config.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run on %s: %s connections, local-kms behind a counting proxy (every request that reached KMS), `TOKEN_KMS_KEY_ID` set, the SDK's default retries on.\n\n",
		time.Now().UTC().Format("2006-01-02"), thousands(kmsConnections))
	b.WriteString("| step (one process each) | count | `GenerateDataKey` at the wire | `Decrypt` at the wire | distinct data keys `Decrypt` read | `KMSCipher.Calls()` | distinct data keys in the table after |\n|---|---:|---:|---:|---:|---|---:|\n")
	for _, p := range phases {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d + %d | %d |\n", p.what, thousands(float64(p.n)), p.wire.GenerateDataKey, p.wire.Decrypt, p.wireBlobs, p.cipher.GenerateDataKey, p.cipher.Decrypt, p.storedKeys)
	}
	refresh := phases[1]
	perK := func(n int) float64 { return 1000 * float64(n) / float64(refresh.n) }
	fmt.Fprintf(&b, "\n**Per 1,000 refreshes in one process: %.0f `GenerateDataKey` and %.0f `Decrypt`** (%d distinct data key read); "+
		"the same process's next 1,000: %d and %d. Each refresh seals %d tokens (the access and the refresh token: gototest rotates the refresh token at every refresh here, the costliest policy; one that keeps it seals 1), so a data key's "+
		"10,000 encryptions last %s refreshes; its 5 minutes, %s refreshes at the default `REFRESH_RATE_LIMIT=10`.\n",
		perK(refresh.wire.GenerateDataKey), perK(refresh.wire.Decrypt), refresh.wireBlobs, phases[2].wire.GenerateDataKey, phases[2].wire.Decrypt,
		encPerRefresh, thousands(float64(10000/encPerRefresh)), thousands(300*10))

	// The monthly model, from the counts above.
	refreshesPerKey := min(10000/encPerRefresh, 300*10)
	const sweeps = 30 * 24 * 4 // RefreshSchedule every 15 minutes
	b.WriteString("\nKMS per month, from these counts. Assumptions: the sweep runs every 15 minutes (2,880 runs a month) and every run is a fresh process " +
		"(a cold start: the upper bound; a warm one reuses its data key within 5 minutes); a run needs one data key per " +
		fmt.Sprintf("%s refreshes (the lower of the two cache limits above) and decrypts each distinct data key it reads once; ", thousands(float64(refreshesPerKey))) +
		"the connections due in a run were written by at most 2 earlier runs' data keys (the scheduler spreads a run's refreshes over its neighbours), " +
		"so a run's `Decrypt`s are twice its `GenerateDataKey`s; 1,000 connections at `REFRESH_INTERVAL=24h`, 1,000,000 at `48h` (README, *Sizing*); " +
		"a new connection makes at most 1 `GenerateDataKey` (one callback process each, the upper bound). The Connections API is counted apart below.\n\n")
	b.WriteString("| | 1,000 connections | 1,000,000 connections |\n|---|---:|---:|\n")
	type col struct {
		conns    int
		interval float64 // days
	}
	cols := []col{{1000, 1}, {1000000, 2}}
	row := func(name string, f func(c col) string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, f(cols[0]), f(cols[1]))
	}
	refreshes := func(c col) float64 { return float64(c.conns) * 30 / c.interval }
	perRun := func(c col) float64 { return refreshes(c) / sweeps }
	gdkRun := func(c col) float64 {
		// The measured data keys of one process's 1,000 refreshes (fewer
		// than refreshesPerKey), once per refreshesPerKey of the run.
		return float64(refresh.wire.GenerateDataKey) * math.Ceil(perRun(c)/float64(refreshesPerKey))
	}
	decRun := func(c col) float64 {
		return 2 * gdkRun(c) * float64(refresh.wire.Decrypt) / float64(max(refresh.wireBlobs, 1))
	}
	requests := func(c col) float64 { return sweeps * (gdkRun(c) + decRun(c)) }
	row("refreshes a month", func(c col) string { return fmt.Sprintf("%s", thousands(refreshes(c))) })
	row("refreshes per run (÷ 2,880)", func(c col) string { return fmt.Sprintf("%s", thousands(perRun(c))) })
	row(fmt.Sprintf("`GenerateDataKey` per run (⌈refreshes per run ÷ %s⌉)", thousands(float64(refreshesPerKey))), func(c col) string { return fmt.Sprintf("%.0f", gdkRun(c)) })
	row("`Decrypt` per run (2 × `GenerateDataKey`, 1 per distinct key)", func(c col) string { return fmt.Sprintf("%.0f", decRun(c)) })
	row("KMS requests a month (2,880 × both)", func(c col) string { return thousands(requests(c)) })
	row(fmt.Sprintf("their price (× $%.2f per 10,000)", kmsPricePer10k), func(c col) string { return fmt.Sprintf("$%.3f", requests(c)*kmsPricePer10k/10000) })
	row("the customer-managed key", func(c col) string { return fmt.Sprintf("$%.2f", kmsKeyPriceMonth) })
	row("**added cost a month**", func(c col) string {
		return fmt.Sprintf("**$%.2f**", kmsKeyPriceMonth+requests(c)*kmsPricePer10k/10000)
	})
	row("once per new connection (≤ 1 `GenerateDataKey`)", func(c col) string {
		return fmt.Sprintf("$%.3f for all %s", float64(c.conns)*kmsPricePer10k/10000, thousands(float64(c.conns)))
	})
	reads := phases[3]
	live := func(c col) float64 { return gdkRun(c) * sweeps / 30 * c.interval } // data keys sealing the table: one refresh interval's runs
	fmt.Fprintf(&b, "\nThe Connections API keeps the `TokenSource` cache off, so every token request reads and decrypts its connection, and its `Decrypt`s follow "+
		"its traffic, not the refreshes: measured, a fresh process reading %s connections made %d `Decrypt` (one per distinct data key, %d). Its process's "+
		"`KMSCipher` decrypts each data key at most once per 5 minutes; the table holds one refresh interval's data keys (%.0f at 1,000 connections, %.0f at 1,000,000), so one warm instance "+
		"reading every connection all month makes at most %s (%s) `Decrypt`s, $%.2f ($%.2f) a month; a backend reading a few connections, a few.\n",
		thousands(float64(reads.n)), reads.wire.Decrypt, reads.wireBlobs, live(cols[0]), live(cols[1]),
		thousands(live(cols[0])*12*24*30), thousands(live(cols[1])*12*24*30),
		live(cols[0])*12*24*30*kmsPricePer10k/10000, live(cols[1])*12*24*30*kmsPricePer10k/10000)
	fmt.Fprintf(&b, "\nKMS prices: `us-east-1` list prices as of my knowledge (2025), check them on the AWS pricing page before relying on them: "+
		"$%.2f per 10,000 requests, $%.2f per customer-managed key-month; the free tier (20,000 requests a month) ignored. The sweep's rate limit in production is %g/s (this run used %g/s; pacing does not change the KMS requests).\n",
		kmsPricePer10k, kmsKeyPriceMonth, 10.0, cfg.RefreshRateLimit)
	return b.String()
}

// thousands formats n rounded, with commas.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", math.Round(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
