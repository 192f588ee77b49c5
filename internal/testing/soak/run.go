package soak

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/testing/faultproxy"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// ErrFailed is returned by Run when the audit found lost connections or
// refresh tokens spent twice.
var ErrFailed = errors.New("soak: connections lost or refresh tokens spent twice")

// world is what the orchestrator runs.
type world struct {
	set    Settings
	root   string
	ddb    *devenv.DynamoDB
	db     *dynamodb.Client // straight to DynamoDB Local
	table  string
	proxy  *faultproxy.Proxy
	goTo   *gototest.Server
	ledger *ledger
	http   *http.Server
	phases []event
	t0     time.Time
}

func (w *world) phase(format string, args ...any) {
	e := event{at: time.Since(w.t0).Round(100 * time.Millisecond), what: fmt.Sprintf(format, args...)}
	w.phases = append(w.phases, e)
	fmt.Printf("soak: [%s] %s\n", e.at, e.what)
}

// Run runs a whole soak with the settings of the environment and prints the
// audit. It returns ErrFailed when the audit fails.
func Run() error {
	set, err := SettingsFromEnv()
	if err != nil {
		return err
	}
	if set.Seed == 0 {
		set.Seed = time.Now().UnixNano()
	}
	w := &world{set: set, t0: time.Now()}
	defer w.close()
	if err := w.start(); err != nil {
		return err
	}
	if err := w.connect(); err != nil {
		return err
	}

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logDir := filepath.Join(w.root, ".cache", "soak-logs")
	_ = os.RemoveAll(logDir)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	env := append(set.env(), devenv.LocalAWSEnv(w.proxy.URL())...)
	env = append(env, envTable+"="+w.table, envGoToURL+"="+w.goTo.URL,
		envClientID+"="+w.goTo.ClientID, envClientSecret+"="+w.goTo.ClientSecret)
	ps := newProcs(exe, env, logDir)
	if err := ps.startAll(set.TokenProcesses); err != nil {
		return err
	}
	w.phase("started 1 sweep process and %d TokenSource processes (%d callers each); logs in %s",
		set.TokenProcesses, set.TokenWorkers, logDir)

	in := &injector{set: set, rng: rand.New(rand.NewPCG(uint64(set.Seed), 7)), proxy: w.proxy, goTo: w.goTo,
		ledger: w.ledger, procs: ps, revoked: map[string]time.Time{}, goToN: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), set.Duration)
	in.run(ctx)
	cancel()
	w.phase("fault phase over (%s)", set.Duration)

	ps.stopAll(2 * time.Minute)
	w.phase("processes stopped")

	final, err := w.finalSweeps()
	if err != nil {
		return err
	}
	w.phase("final sweeps with everything healthy: %+v", final)

	a, err := w.audit(in, ps)
	if err != nil {
		return err
	}
	w.phase("audit done")
	text := w.report(a, in, ps, final)
	fmt.Print(text)
	out := set.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(w.root, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
		if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "soak: writing %s: %v\n", out, err)
		}
	}
	if a.failed() {
		return ErrFailed
	}
	return nil
}

// start starts DynamoDB Local, the table, the fault proxy and gototest.
func (w *world) start() error {
	wd, _ := os.Getwd()
	root, err := devenv.ModuleRoot(wd)
	if err != nil {
		return err
	}
	w.root = root
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A cold JVM on a loaded 2-core machine can take well over 30 s.
	w.ddb, err = devenv.StartDynamoDB(ctx, devenv.DynamoDBOptions{UseEnvEndpoint: true, StartTimeout: 3 * time.Minute})
	if err != nil {
		return fmt.Errorf("starting DynamoDB Local (make dynamodb-local installs it): %w", err)
	}
	if w.db, err = w.ddb.Client(ctx); err != nil {
		return err
	}
	w.table = fmt.Sprintf("soak-%d", time.Now().Unix())
	if err := devenv.CreateTable(ctx, w.db, w.table); err != nil {
		return err
	}
	if w.proxy, err = faultproxy.Start(w.ddb.Endpoint()); err != nil {
		return err
	}
	w.goTo = gototest.NewUnstartedServer(
		gototest.WithSingleUseRefreshTokens(),
		gototest.WithAccessTokenLifetime(w.set.AccessTokenLifetime),
		gototest.WithRefreshTokenLifetime(w.set.RefreshTokenLifetime),
		gototest.WithRedirectURIs(redirectURI),
		gototest.WithDelay(w.set.GoToDelay),
	)
	w.ledger = newLedger(w.goTo)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	w.goTo.SetURL("http://" + ln.Addr().String())
	w.http = &http.Server{Handler: w.ledger, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.http.Serve(ln) }()
	w.phase("DynamoDB Local at %s, fault proxy at %s, table %s, gototest at %s (single-use refresh tokens, access %s, refresh %s)",
		w.ddb.Endpoint(), w.proxy.URL(), w.table, w.goTo.URL, w.set.AccessTokenLifetime, w.set.RefreshTokenLifetime)
	return nil
}

// connect creates the connections through the consent flow: the
// authorization URL, gototest's consent, the code exchange and the store.
func (w *world) connect() error {
	c, err := w.connector(0, "setup")
	if err != nil {
		return err
	}
	client := newClient(w.goTo.ClientID, w.goTo.ClientSecret, w.goTo.AuthorizeURL(), w.ledger.tokenURL("setup"))
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= w.set.Connections {
					return
				}
				if err := w.connectOne(c, client, connectionID(i)); err != nil {
					errMu.Lock()
					first = errors.Join(first, err)
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	w.phase("%d connections created through the consent flow", w.set.Connections)
	return nil
}

// connectOne runs one customer's consent flow and stores the connection.
func (w *world) connectOne(c *connector, client *gotoauth.Client, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	back, err := w.goTo.Approve(client.AuthCodeURL("soak-" + id))
	if err != nil {
		return fmt.Errorf("consent for %s: %w", id, err)
	}
	tok, err := client.Exchange(ctx, back.Query().Get("code"), "")
	if err != nil {
		return fmt.Errorf("code exchange for %s: %w", id, err)
	}
	if _, err := c.store.SaveConnection(ctx, id, tok); err != nil {
		return fmt.Errorf("storing %s: %w", id, err)
	}
	w.ledger.register(id, tok.RefreshToken)
	return nil
}

// connector is the orchestrator's own connector, straight to DynamoDB
// Local.
func (w *world) connector(rateLimit float64, owner string) (*connector, error) {
	client := newClient(w.goTo.ClientID, w.goTo.ClientSecret, w.goTo.AuthorizeURL(), w.ledger.tokenURL(owner))
	return newConnector(w.db, w.table, client, w.set, rateLimit, slog.New(slog.NewJSONHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelWarn})))
}

// finalSweeps sweeps with everything healthy until a sweep leaves nothing
// behind (leases of killed processes expire meanwhile), for at most three
// minutes.
func (w *world) finalSweeps() (sweepResult, error) {
	c, err := w.connector(0, "final")
	if err != nil {
		return sweepResult{}, err
	}
	var total sweepResult
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), c.reserve+2*time.Minute)
		sum, err := c.sweep(ctx)
		cancel()
		addSweep(&total, sum)
		if err != nil {
			fmt.Printf("soak: final sweep: %v\n", err)
		}
		if sum.Failed+sum.Skipped+sum.Deferred+sum.StoreFailures == 0 || time.Now().After(deadline) {
			return total, nil
		}
		time.Sleep(5 * time.Second)
	}
}

func (w *world) close() {
	if w.http != nil {
		_ = w.http.Close()
	}
	if w.goTo != nil {
		w.goTo.Close()
	}
	if w.proxy != nil {
		w.proxy.Close()
	}
	if w.ddb != nil {
		_ = w.ddb.Close()
	}
}

// trim shortens s for a table cell.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimSpace(s[:n-1]) + "…"
}
