package gotoauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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

// GoTo documents the Basic header as the base64 of the raw id and secret.
func ExampleBasicAuth() {
	fmt.Println(gotoauth.BasicAuth("client", "s3cr+t/Value=="))
	// Output: Basic Y2xpZW50OnMzY3IrdC9WYWx1ZT09
}

// A SaaS backend gets a valid access token whenever it calls a GoTo API. The
// TokenSource refreshes on demand, safely alongside the scheduled refresh.
func ExampleTokenSource() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	store := gotoauth.NewStore(dynamodb.NewFromConfig(awsCfg), "goto-connector-ConnectionsTable-XYZ")
	ts := &gotoauth.TokenSource{Refresher: &gotoauth.Refresher{
		Store: store,
		Client: &gotoauth.Client{
			ClientID:     "your-client-id",
			ClientSecret: "client_secret from the connector's secret",
		},
		// GoTo's limit is per client, for the sweep and you together.
		Limiter: gotoauth.NewRateLimit(store, "your-client-id", 10),
	}}
	token, err := ts.AccessToken(ctx, "customer-42")
	switch {
	case errors.Is(err, gotoauth.ErrReauthRequired):
		// Ask the customer to connect again (send a new connect link).
	case err != nil:
		// Try again later.
	default:
		req, _ := http.NewRequest(http.MethodGet, "https://api.getgo.com/admin/rest/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		// ... http.DefaultClient.Do(req)
	}
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
	verifier := gotoauth.GenerateVerifier()
	// The customer's browser consents; GoTo redirects back with a code.
	back, err := srv.Approve(c.AuthCodeURL(gotoauth.GenerateState(), gotoauth.S256ChallengeOption(verifier)))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.Exchange(context.Background(), back.Query().Get("code"), verifier)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Account(), tok.RefreshToken != "")
	// Output: mister.jones@fakemail.com true
}
