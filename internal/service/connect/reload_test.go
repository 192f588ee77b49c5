package connect_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
)

// The client secret was rotated (GoTo and Secrets Manager hold the new
// one) while a warm function still caches the old one: the code exchange
// gets invalid_client, the secret is read again at once and the exchange
// retried with the new secret, so the customer's connection is stored.
// When the secret read again is the same, nothing is retried.
func TestInvalidClientRereadsTheSecretOnce(t *testing.T) {
	for _, rotated := range []bool{true, false} {
		t.Run(map[bool]string{true: "rotated", false: "unchanged"}[rotated], func(t *testing.T) {
			e := newEnv(t, callbackHT)
			version := &secretVersion{}
			version.set(map[string]string{"client_secret": "the-old-client-secret", "link_signing_key": linkKey}, e.clock.Now())
			sm := httptest.NewServer(http.HandlerFunc(version.serve))
			defer sm.Close()
			e.app.Secrets = &secrets.Manager{
				Client: secretsmanager.New(secretsmanager.Options{
					Region: "us-east-1", BaseEndpoint: aws.String(sm.URL), Credentials: aws.AnonymousCredentials{},
				}),
				SecretID: "goto-connector", Now: e.clock.Now,
			}
			consent, cookie := e.start("cust-1", returnTo) // caches the old secret
			back, err := e.goto_.Approve(consent)
			if err != nil {
				t.Fatal(err)
			}
			if rotated {
				version.set(map[string]string{"client_secret": e.goto_.ClientSecret, "link_signing_key": linkKey}, e.clock.Now())
			}
			r := e.callback(back.RawQuery, cookie)
			loc, _ := url.Parse(r.Headers["Location"])
			if rotated {
				if loc.Query().Get("status") != "connected" || e.connection("cust-1") == nil || e.goto_.TokenRequests() != 2 {
					t.Fatalf("%s, %d token requests", loc, e.goto_.TokenRequests())
				}
				return
			}
			if loc.Query().Get("error") != "invalid_client" || e.connection("cust-1") != nil || e.goto_.TokenRequests() != 1 {
				t.Fatalf("%s, %d token requests", loc, e.goto_.TokenRequests())
			}
		})
	}
}
