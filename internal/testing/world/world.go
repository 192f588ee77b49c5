// Package world is the fixture of the tests that need connected customers:
// a fresh table in DynamoDB Local, a gototest server, a clock the connector
// and GoTo share, and helpers that connect customers through GoTo's real
// consent and code exchange. Call testutil.Main from the package's
// TestMain, as for any test that uses DynamoDB Local.
package world

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/sweep"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// RedirectURI is the redirect URI of the world's OAuth client.
const RedirectURI = "https://connector.example.com/callback"

// World is one test's table, clock and GoTo.
type World struct {
	T     testing.TB
	Clock *testutil.Clock // GoTo's, the clients' and the stores'
	GoTo  *gototest.Server
	// Raw is DynamoDB Local, for the test's own reads; DB is what the
	// stores use (Raw unless a test puts a wrapper in front).
	Raw   *dynamodb.Client
	DB    dynamo.Client
	Table string
	// Schedule is the stores' refresh schedule (zero: the defaults).
	Schedule gotoauth.Schedule
	// StoreOptions are given to every store the world builds (Connect's
	// included), before a caller's own: WithKMSCipher, for example.
	StoreOptions []gotoauth.StoreOption
	// ConnectTimeout and AnswerTimeout are the clients' (1s and 5s).
	ConnectTimeout, AnswerTimeout time.Duration
	// Tokens are the tokens Connect obtained, in order.
	Tokens []*gotoauth.Token
}

// New returns a world with GoTo built with opts (and the world's clock).
func New(t testing.TB, opts ...gototest.Option) *World {
	t.Helper()
	clock := testutil.NewClock(time.Now().Truncate(time.Second))
	srv := gototest.NewServer(append([]gototest.Option{gototest.WithClock(clock.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	db, table := testutil.Table(t)
	return &World{T: t, Clock: clock, GoTo: srv, Raw: db, DB: db, Table: table,
		ConnectTimeout: time.Second, AnswerTimeout: 5 * time.Second}
}

// Store is a store on the world's table, with its clock and schedule.
func (w *World) Store(opts ...gotoauth.StoreOption) *gotoauth.Store {
	w.T.Helper()
	all := append([]gotoauth.StoreOption{gotoauth.WithSchedule(w.Schedule)}, w.StoreOptions...)
	s, err := gotoauth.NewStore(w.DB, w.Table, append(all, opts...)...)
	if err != nil {
		w.T.Fatal(err)
	}
	s.Tune(tuning.Clock(w.Clock.Now))
	return s
}

// Client is the OAuth client registered at the world's GoTo.
func (w *World) Client() *gotoauth.Client {
	return &gotoauth.Client{
		ClientID: w.GoTo.ClientID, ClientSecret: w.GoTo.ClientSecret, RedirectURL: RedirectURI,
		Endpoint:       gotoauth.Endpoint{AuthURL: w.GoTo.AuthorizeURL(), TokenURL: w.GoTo.TokenURL()},
		ConnectTimeout: w.ConnectTimeout, AnswerTimeout: w.AnswerTimeout, Now: w.Clock.Now,
	}
}

// Source is one refresher process on a store of its own, with opts, a
// store retry budget of 2 seconds and a poll interval of 20ms (so that a
// DynamoDB outage or a wait for another process costs a test seconds, not
// minutes), then tune.
func (w *World) Source(opts []gotoauth.Option, tune ...func(*tuning.TokenSource)) *gotoauth.TokenSource {
	w.T.Helper()
	ts, err := gotoauth.NewTokenSource(w.Store(), w.Client(), opts...)
	if err == nil {
		err = ts.Tune(append([]func(*tuning.TokenSource){tuning.StoreRetryBudget(2 * time.Second), tuning.PollInterval(20 * time.Millisecond)}, tune...)...)
	}
	if err != nil {
		w.T.Fatal(err)
	}
	return ts
}

// Connect runs each id's consent and code exchange at GoTo and stores the
// connection, as the callback does.
func (w *World) Connect(ids ...string) {
	w.T.Helper()
	c, s := w.Client(), w.Store()
	for _, id := range ids {
		back, err := w.GoTo.Approve(c.AuthCodeURL("s"))
		if err != nil {
			w.T.Fatal(err)
		}
		tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
		if err != nil {
			w.T.Fatal(err)
		}
		w.Tokens = append(w.Tokens, tok)
		if _, err := s.SaveConnection(context.Background(), id, tok); err != nil {
			w.T.Fatal(err)
		}
	}
}

// MarkReauth has GoTo refuse the grants of ids for good and refreshes them
// through ts (a plain source when nil), one second apart, so that they are
// marked reauth_required in a known order.
func (w *World) MarkReauth(ts *gotoauth.TokenSource, ids ...string) {
	w.T.Helper()
	if ts == nil {
		ts = w.Source(nil)
	}
	w.GoTo.FailAlways(gototest.OAuthError(400, "invalid_grant", "refresh token revoked"))
	defer w.GoTo.StopFailing()
	for _, id := range ids {
		w.Clock.Advance(time.Second)
		if res := ts.Refresh(context.Background(), id, true); res.Outcome != sweep.ReauthRequired {
			w.T.Fatalf("marking %s: %s %v", id, res.Outcome, res.Err)
		}
	}
}

// Item is connection id's item as stored, nil when there is none.
func (w *World) Item(id string) map[string]types.AttributeValue {
	return testutil.Item(w.T, w.Raw, w.Table, "conn#"+id)
}

// Stored is connection id as the store reads it.
func (w *World) Stored(id string) *gotoauth.Connection {
	w.T.Helper()
	c, err := w.Store().Connection(context.Background(), id)
	if err != nil {
		w.T.Fatal(err)
	}
	return c
}
