package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Roles of a child process (SOAK_ROLE).
const (
	roleSweep  = "sweep"
	roleTokens = "tokens"
)

// childEnv are the variables the orchestrator passes to every child, besides
// the settings and the AWS ones.
const (
	envRole         = "SOAK_ROLE"
	envProc         = "SOAK_PROC"
	envTable        = "SOAK_TABLE"
	envGoToURL      = "SOAK_GOTO_URL"
	envClientID     = "SOAK_CLIENT_ID"
	envClientSecret = "SOAK_CLIENT_SECRET"
)

// report is one line a child writes on stdout for the orchestrator.
type report struct {
	Proc string `json:"proc"`
	// Sweep: one per sweep.
	Sweep    *sweepResult `json:"sweep,omitempty"`
	SweepErr string       `json:"sweep_err,omitempty"`
	// Tokens: running totals of the TokenSource callers, every few seconds
	// and at exit.
	Tokens *tokenStats `json:"tokens,omitempty"`
}

// tokenStats counts what the TokenSource callers of one process got.
type tokenStats struct {
	Calls      int            `json:"calls"`
	OK         int            `json:"ok"`
	Reauth     int            `json:"reauth"`
	NotFound   int            `json:"not_found"`
	Errors     map[string]int `json:"errors,omitempty"` // by error code
	APIOK      int            `json:"api_ok"`
	APIRefused int            `json:"api_refused"` // GoTo's API refused a token TokenSource handed out
	APIErrors  int            `json:"api_errors"`
}

// IsChild reports whether this process was started by the orchestrator.
func IsChild() bool { return os.Getenv(envRole) != "" }

// RunChild runs the role in SOAK_ROLE until SIGTERM (or SIGINT), then
// finishes the work in flight and returns.
func RunChild() error {
	set, err := SettingsFromEnv()
	if err != nil {
		return err
	}
	proc := os.Getenv(envProc)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	cfg, err := config.LoadDefaultConfig(context.Background()) // AWS_* from the orchestrator: the fault proxy
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	base := os.Getenv(envGoToURL)
	client := newClient(os.Getenv(envClientID), os.Getenv(envClientSecret), base+"/oauth/authorize",
		base+procPrefix+proc+"/oauth/token")
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := newConnector(db, os.Getenv(envTable), client, set, set.RateLimit, logger)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	emit := func(r report) {
		outMu.Lock()
		defer outMu.Unlock()
		r.Proc = proc
		_ = out.Encode(r)
	}
	switch role := os.Getenv(envRole); role {
	case roleSweep:
		sweepLoop(ctx, conn, set, emit)
	case roleTokens:
		tokenLoop(ctx, conn, set, base+"/admin/rest/v1/me", emit)
	default:
		return fmt.Errorf("soak: unknown %s %q", envRole, role)
	}
	return nil
}

// sweepLoop sweeps, pauses, and sweeps again, as the schedule would, until
// ctx ends. A sweep in progress is never interrupted: it has its own
// deadline, as a Lambda invocation does.
func sweepLoop(ctx context.Context, conn *connector, set Settings, emit func(report)) {
	deadline := max(set.SweepDeadline, conn.reserve+time.Minute) // else the sweep would start nothing
	for ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(context.Background(), deadline)
		sum, err := conn.sweep(sctx)
		cancel()
		r := report{Sweep: &sum}
		if err != nil {
			r.SweepErr = gotoauth.ErrorCode(err)
		}
		emit(r)
		select {
		case <-ctx.Done():
		case <-time.After(set.SweepEvery):
		}
	}
}

// tokenLoop runs TokenWorkers callers: each asks for the access token of a
// random connection and calls GoTo's API with it, until ctx ends.
func tokenLoop(ctx context.Context, conn *connector, set Settings, meURL string, emit func(report)) {
	var (
		mu    sync.Mutex
		stats = tokenStats{Errors: map[string]int{}}
		wg    sync.WaitGroup
	)
	snapshot := func() *tokenStats {
		mu.Lock()
		defer mu.Unlock()
		s := stats
		s.Errors = make(map[string]int, len(stats.Errors))
		for k, v := range stats.Errors {
			s.Errors[k] = v
		}
		return &s
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	for range set.TokenWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := connectionID(rand.IntN(set.Connections))
				// Not ctx: a call in flight finishes after SIGTERM.
				cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				tok, err := conn.tokens(cctx, id)
				api := 0
				if err == nil {
					api = callAPI(cctx, hc, meURL, tok)
				}
				cancel()
				mu.Lock()
				stats.Calls++
				switch {
				case err == nil:
					stats.OK++
				case errors.Is(err, gotoauth.ErrReauthRequired):
					stats.Reauth++
				case errors.Is(err, gotoauth.ErrNotFound):
					stats.NotFound++
				default:
					stats.Errors[gotoauth.ErrorCode(err)]++
				}
				switch {
				case err != nil:
				case api == http.StatusOK:
					stats.APIOK++
				case api == http.StatusForbidden || api == http.StatusUnauthorized:
					stats.APIRefused++
				default:
					stats.APIErrors++
				}
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(set.TokenPause):
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			emit(report{Tokens: snapshot()})
		case <-done:
			emit(report{Tokens: snapshot()})
			return
		}
	}
}

// callAPI calls GoTo's "get me" with tok and returns the HTTP status (0 when
// no answer came).
func callAPI(ctx context.Context, hc *http.Client, meURL, tok string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meURL, nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := hc.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
