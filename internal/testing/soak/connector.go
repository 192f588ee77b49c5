package soak

import (
	"context"
	"log/slog"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// This file is the only one that knows how pkg/gotoauth is assembled into a
// sweep and a TokenSource; the rest of the soak drives them through
// connector.

// connector is the connector's refresh machinery for one process.
type connector struct {
	store  *gotoauth.Store
	tokens func(ctx context.Context, id string) (string, error)
	sweep  func(ctx context.Context) (sweepResult, error)
	// reserve is how long before its deadline a sweep stops starting
	// refreshes.
	reserve time.Duration
}

// sweepResult is a sweep's summary, the library's.
type sweepResult = sweep.Summary

// addSweep counts sweep b into a: every count, Due included (the soak adds
// up distinct runs), but no per-connection errors (the audit has its own).
func addSweep(a *sweepResult, b sweepResult) {
	a.Merge(b)
	a.Due += b.Due
	a.Errors = nil
}

// schedule is the connector's schedule under s.
func (s Settings) schedule() gotoauth.Schedule {
	return gotoauth.Schedule{Interval: s.Interval, RefreshTokenLifetime: s.RefreshTokenLifetime}
}

// newConnector assembles the store and the TokenSource (which also sweeps)
// of one process. rateLimit 0 means none.
func newConnector(db dynamo.Client, table string, client *gotoauth.Client, set Settings,
	rateLimit float64, logger *slog.Logger) (*connector, error) {
	store, err := gotoauth.NewStore(db, table, gotoauth.WithSchedule(set.schedule()))
	if err != nil {
		return nil, err
	}
	opts := []gotoauth.Option{gotoauth.WithLogger(logger)}
	if rateLimit > 0 {
		opts = append(opts, gotoauth.WithRateLimit(rateLimit))
	}
	ts, err := gotoauth.NewTokenSource(store, client, opts...)
	if err == nil {
		err = ts.Tune(tuning.Margin(set.Margin))
	}
	if err != nil {
		return nil, err
	}
	return &connector{
		store:  store,
		tokens: ts.AccessToken,
		sweep: func(ctx context.Context) (sweepResult, error) {
			return ts.Sweep(ctx, sweep.Options{Concurrency: sweep.DefaultConcurrency})
		},
		reserve: ts.SweepReserve(),
	}, nil
}

// newClient is the GoTo client of one process; tokenURL carries the
// process's name (see ledger).
func newClient(id, secret, authURL, tokenURL string) *gotoauth.Client {
	return &gotoauth.Client{ClientID: id, ClientSecret: secret, RedirectURL: redirectURI,
		Endpoint: gotoauth.Endpoint{AuthURL: authURL, TokenURL: tokenURL}} // default connect and answer timeouts
}

// redirectURI is the callback URL registered at gototest.
const redirectURI = "https://connector.example.com/callback"
