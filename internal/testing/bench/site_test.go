package bench_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/dynamo"
	"github.com/gotoconnector/gotoconnector/internal/service/config"
	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// The deployment the Lambda benchmarks play (as in the end-to-end tests).
const (
	siteDomain   = "benchapi.execute-api.us-east-1.amazonaws.com"
	siteRedirect = "https://" + siteDomain + "/callback"
	siteReturnTo = "https://app.example.com/settings"
	secretID     = "goto-connector-bench"
	linkSecretID = "goto-connector-bench-link"
	linkKey      = "bench-link-signing-key-7c1e0a"
)

// site is the connector's surroundings for the Lambda benchmarks: its
// table in DynamoDB Local, GoTo (gototest) and Secrets Manager (a fake
// speaking the AWS protocol), each behind a meter, and the function
// environment that points at the meters.
type site struct {
	goTo    *gototest.Server
	sm      *fakeSecretsManager
	db      *dynamodb.Client // direct, unmetered: the benchmark's own reads
	table   string
	secrets *secrets.Secrets
	// Meters in front of DynamoDB Local, Secrets Manager and GoTo.
	ddbM, smM, goToM *meter
	// vars is the functions' configuration (the values SAM would set).
	vars map[string]string
}

func newSite(tb testing.TB, goToOpts ...gototest.Option) *site {
	tb.Helper()
	ddb, _ := testutil.DynamoDB(tb)
	db, table := testutil.Table(tb)
	goTo := gototest.NewServer(append([]gototest.Option{gototest.WithRedirectURIs(siteRedirect)}, goToOpts...)...)
	tb.Cleanup(goTo.Close)
	key := make([]byte, 32)
	rand.Read(key)
	doc, _ := json.Marshal(map[string]any{
		"client_secret":               goTo.ClientSecret,
		"link_signing_key":            linkKey,
		"token_encryption_keys":       map[string]string{"k1": base64.StdEncoding.EncodeToString(key)},
		"token_encryption_active_key": "k1",
	})
	sec, err := secrets.Parse(doc)
	if err != nil {
		tb.Fatal(err)
	}
	// The stack's link secret, which authorize reads instead of the client
	// secret (LINK_SECRET_ID).
	link, _ := json.Marshal(map[string]string{"link_signing_key": linkKey})
	sm := newFakeSecretsManager(tb, map[string]string{secretID: string(doc), linkSecretID: string(link)})
	tok, _ := url.Parse(goTo.TokenURL())
	s := &site{
		goTo: goTo, sm: sm, db: db, table: table, secrets: sec,
		ddbM: newMeter(tb, ddb.Endpoint()), smM: newMeter(tb, sm.URL), goToM: newMeter(tb, tok.Scheme+"://"+tok.Host),
	}
	s.vars = map[string]string{
		"GOTO_CLIENT_ID":                   goTo.ClientID,
		"GOTO_SECRET_ID":                   secretID,
		"LINK_SECRET_ID":                   linkSecretID,
		"GOTO_AUTHORIZE_URL":               goTo.AuthorizeURL(),
		"GOTO_TOKEN_URL":                   s.goToM.URL + tok.Path,
		"GOTO_REVOKE_URL":                  goTo.RevokeURL(),
		"GOTO_REDIRECT_URI":                siteRedirect,
		"TABLE_NAME":                       table,
		"ALLOWED_RETURN_ORIGINS":           "https://app.example.com",
		"PKCE":                             "true",
		"REFRESH_INTERVAL":                 "24h",
		"REFRESH_TOKEN_LIFETIME":           "720h",
		"REFRESH_RATE_LIMIT":               "10",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.smM.URL,
	}
	for _, kv := range devenv.LocalAWSEnv(s.ddbM.URL) {
		k, v, _ := strings.Cut(kv, "=")
		s.vars[k] = v
	}
	return s
}

// app returns the connect flow's handlers configured like the functions,
// on db (through the meter, or not) and the given secrets source.
func (s *site) app(tb testing.TB, db dynamo.Client, src secrets.Source, httpc *http.Client) *connect.App {
	tb.Helper()
	cfg, err := config.Load(func(k string) string { return s.vars[k] })
	if err != nil {
		tb.Fatal(err)
	}
	return &connect.App{Config: cfg, Secrets: src, DB: db, HTTPClient: httpc, Logger: discardLogger()}
}

// authorizeEvent returns GET /authorize with a fresh signed connect link.
func authorizeEvent(tb testing.TB, id string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	link, err := gotoauth.SignLink("https://"+siteDomain+"/authorize", []byte(linkKey),
		gotoauth.Link{ConnectionID: id, ReturnTo: siteReturnTo, Expires: time.Now().Add(15 * time.Minute)})
	if err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(link)
	return httpEvent("GET /authorize", u.RawQuery)
}

// callbackEvent runs authorize (through a, unmetered) and GoTo's consent
// for connection id and returns the GET /callback the browser would send.
func callbackEvent(tb testing.TB, a *connect.App, goTo *gototest.Server, id string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	resp, err := a.Authorize(context.Background(), authorizeEvent(tb, id))
	if err != nil || resp.StatusCode != http.StatusFound || len(resp.Cookies) != 1 {
		tb.Fatalf("authorize: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	back, err := goTo.Approve(resp.Headers["Location"])
	if err != nil {
		tb.Fatal(err)
	}
	c, err := http.ParseSetCookie(resp.Cookies[0])
	if err != nil {
		tb.Fatal(err)
	}
	return httpEvent("GET /callback", back.RawQuery, c.Name+"="+c.Value)
}

func httpEvent(routeKey, rawQuery string, cookies ...string) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(routeKey, " ")
	now := time.Now()
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: path, RawQueryString: rawQuery, Cookies: cookies,
		Headers: map[string]string{"host": siteDomain, "user-agent": "bench", "x-forwarded-proto": "https"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: fmt.Sprintf("bench-%d", now.UnixNano()), DomainName: siteDomain, Stage: "$default",
			RouteKey: routeKey, TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.24", UserAgent: "bench"},
		},
	}
}

// connectionEvent is GET /connections/{id} as API Gateway sends it to the
// connections function for a SigV4-signed call it authorized with IAM.
func connectionEvent(id string) events.APIGatewayV2HTTPRequest {
	ev := httpEvent("GET /connections/{connection_id}", "")
	ev.RawPath = "/connections/" + url.PathEscape(id)
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.PathParameters = map[string]string{"connection_id": id}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: "ASIABENCHKEY", AccountID: "123456789012", CallerID: "AROABENCH:backend",
			UserARN: "arn:aws:iam::123456789012:role/saas-backend", UserID: "AROABENCH:backend",
		},
	}
	return ev
}
