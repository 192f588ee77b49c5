package gotoauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
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
	// Output:
	// https://abc123.execute-api.eu-west-1.amazonaws.com/authorize?connection_id=customer-42&expires=1893456000&return_to=https%3A%2F%2Fapp.example.com%2Fintegrations%2Fgoto&signature=cdybpt4jNqNQlk8AT-bogQY5sTD1DBykgM7i4OfwISY
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
