package gotoauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// A SaaS backend mints a connect link for one of its customers and sends the
// customer's browser to it.
func ExampleSignLink() {
	link, err := gotoauth.SignLink("https://abc123.execute-api.eu-west-1.amazonaws.com/authorize",
		[]byte("the link signing key from the secret"),
		gotoauth.Link{
			ConnectionID: "customer-42",
			ReturnTo:     "https://app.example.com/integrations/goto",
			Expires:      time.Unix(1893456000, 0), // use time.Now().Add(15 * time.Minute)
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link)

	// The authorize function checks it (what VerifyLink is for).
	u, _ := url.Parse(link)
	l, err := gotoauth.VerifyLink(u.Query(), []byte("the link signing key from the secret"), time.Unix(1893455000, 0))
	fmt.Println(l.ConnectionID, err)
	_, err = gotoauth.VerifyLink(u.Query(), []byte("another key"), time.Unix(1893455000, 0))
	fmt.Println(gotoauth.Classify(err) == gotoauth.Invalid, errors.Is(err, gotoauth.ErrLinkSignature))
	// Output:
	// https://abc123.execute-api.eu-west-1.amazonaws.com/authorize?connection_id=customer-42&expires=1893456000&return_to=https%3A%2F%2Fapp.example.com%2Fintegrations%2Fgoto&signature=cdybpt4jNqNQlk8AT-bogQY5sTD1DBykgM7i4OfwISY
	// customer-42 <nil>
	// true true
}

// A SaaS backend gets a valid access token whenever it calls a GoTo API. The
// TokenSource refreshes on demand, safely alongside the scheduled refresh.
func ExampleNewTokenSource() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	store, err := gotoauth.NewStore(dynamodb.NewFromConfig(awsCfg), "goto-connector-ConnectionsTable-XYZ")
	if err != nil {
		log.Fatal(err)
	}
	ts, err := gotoauth.NewTokenSource(store, &gotoauth.Client{
		ClientID:     "your-client-id",
		ClientSecret: "client_secret from the connector's secret",
	}, gotoauth.WithRateLimit(10)) // GoTo's limit is per client: the sweep and you together
	if err != nil {
		log.Fatal(err)
	}
	token, err := ts.AccessToken(ctx, "customer-42")
	if err != nil {
		switch gotoauth.Classify(err) {
		case gotoauth.Permanent: // ErrReauthRequired
			// Ask the customer to connect again (send a new connect link).
		case gotoauth.NotFound:
			// Never connected, or disconnected.
		case gotoauth.Transient:
			// Try again later.
		default:
			// Configuration: an operator must act; Invalid: a bad id.
		}
		return
	}
	_ = token // "Authorization: Bearer " + token, or use ts.Client
}

// The authenticated HTTP client, against gototest (GoTo's stand-in) and
// DynamoDB Local. GoTo expires the access token early: the API answers 401,
// the client refreshes once and retries once.
func ExampleTokenSource_Client() {
	ctx := context.Background()
	srv := gototest.NewServer(gototest.WithSingleUseRefreshTokens())
	defer srv.Close()
	client := &gotoauth.Client{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		RedirectURL: "https://connector.example.com/callback",
		Endpoint:    gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()},
	}
	db, table := testutil.ExampleTable("client-example") // DynamoDB Local
	store, err := gotoauth.NewStore(db, table)
	if err != nil {
		log.Fatal(err)
	}
	// The customer connected (what the callback function does).
	back, _ := srv.Approve(client.AuthCodeURL("state"))
	tok, err := client.Exchange(ctx, back.Query().Get("code"), "")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.SaveConnection(ctx, "customer-42", tok); err != nil {
		log.Fatal(err)
	}

	ts, err := gotoauth.NewTokenSource(store, client)
	if err != nil {
		log.Fatal(err)
	}
	hc := ts.Client(ctx, "customer-42")
	get := func() {
		resp, err := hc.Get(srv.MeURL())
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, len(body) > 0)
	}
	get()
	srv.ExpireAccessToken(tok.AccessToken) // GoTo ends the token's life early
	get()
	fmt.Println("API calls:", srv.APIRequests(), "rejected:", srv.APIRejections(), "refreshes:", srv.RefreshRequests())
	// Output:
	// 200 true
	// 200 true
	// API calls: 3 rejected: 1 refreshes: 1
}

// The code exchange against gototest, a GoTo-compatible server for tests.
func ExampleClient_Exchange() {
	srv := gototest.NewServer()
	defer srv.Close()
	c := &gotoauth.Client{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		RedirectURL: "https://connector.example.com/callback",
		Endpoint:    gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()},
	}
	// The customer's browser consents; GoTo redirects back with a code.
	// (The state is a fresh random value bound to the browser's session;
	// the connector's callback does all this for you.)
	back, err := srv.Approve(c.AuthCodeURL("fresh-random-state"))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.Exchange(context.Background(), back.Query().Get("code"), "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Account(), tok.RefreshToken != "")
	// Output: mister.jones@fakemail.com true
}

// A backend that reacts when a customer's GoTo grant dies: the TokenSource
// announces it to an EventSink (the stack's functions use
// NewEventBridgeSink, with Source gotoauth.EventSource), the stored
// connection says what happened, and the error says what to do.
func ExampleWithEvents() {
	ctx := context.Background()
	srv := gototest.NewServer()
	defer srv.Close()
	client := &gotoauth.Client{
		ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		RedirectURL: "https://connector.example.com/callback",
		Endpoint:    gotoauth.Endpoint{AuthURL: srv.AuthorizeURL(), TokenURL: srv.TokenURL()},
	}
	db, table := testutil.ExampleTable("events-example") // DynamoDB Local
	store, err := gotoauth.NewStore(db, table)
	if err != nil {
		log.Fatal(err)
	}
	back, _ := srv.Approve(client.AuthCodeURL("state"))
	var tok *gotoauth.Token
	if tok, err = client.Exchange(ctx, back.Query().Get("code"), ""); err != nil {
		log.Fatal(err)
	}
	if _, err := store.SaveConnection(ctx, "customer-7", tok); err != nil {
		log.Fatal(err)
	}

	var sink gotoauth.EventSink = gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		fmt.Println("event:", e.Type, e.ConnectionID, e.Status, e.Reason)
		return nil
	})
	opts := []gotoauth.Option{
		gotoauth.WithEvents(sink),
		gotoauth.WithCacheSize(1000), // connections whose tokens stay in memory
		gotoauth.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	ts, err := gotoauth.NewTokenSource(store, client, opts...)
	if err != nil {
		log.Fatal(err)
	}
	// Your own http.Client, with the token source's Transport.
	hc := &http.Client{Transport: &gotoauth.Transport{Source: ts, ConnectionID: "customer-7"}}

	// The customer revokes the app at GoTo; GoTo ends the access token and
	// refuses the refresh token.
	srv.ExpireAccessToken(tok.AccessToken)
	srv.FailNext(1, gototest.OAuthError(400, "invalid_grant", "revoked"))
	_, err = hc.Get(srv.MeURL())
	var class gotoauth.Class = gotoauth.Classify(err)
	fmt.Println(class == gotoauth.Permanent, gotoauth.ErrorCode(err))

	var c *gotoauth.Connection
	if c, err = store.Connection(ctx, "customer-7"); err != nil {
		log.Fatal(err)
	}
	var st gotoauth.Status = c.Status
	var who gotoauth.Identity = c.Identity
	fmt.Println(st, st == gotoauth.StatusActive, who.Account())
	_, err = store.Connection(ctx, "customer-8")
	fmt.Println(errors.Is(err, gotoauth.ErrNotFound))
	// Output:
	// event: connection.reauth_required customer-7 reauth_required invalid_grant
	// true invalid_grant
	// reauth_required false mister.jones@fakemail.com
	// true
}
