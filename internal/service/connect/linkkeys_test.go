package connect_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gotoconnector/gotoconnector/internal/service/secrets"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// secretVersion is what a local Secrets Manager endpoint serves: one
// secret, its current version's JSON and creation time.
type secretVersion struct {
	mu      sync.Mutex
	value   map[string]string
	created time.Time
}

func (v *secretVersion) set(value map[string]string, created time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.value, v.created = value, created
}

// serve answers GetSecretValue as Secrets Manager's JSON protocol does.
func (v *secretVersion) serve(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		http.Error(w, "unexpected call", http.StatusBadRequest)
		return
	}
	s, _ := json.Marshal(v.value)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:goto-connector-Ab12Cd", "Name": "goto-connector",
		"SecretString": string(s), "VersionId": "v", "VersionStages": []string{"AWSCURRENT"},
		"CreatedDate": float64(v.created.Unix()),
	})
}

// A rotated link signing key: links signed with the previous key (kept as
// previous_link_signing_key in the new secret version) still work for
// LinkKeyGrace after the version was created, then are refused; links
// signed with the new key work; the previous key is never accepted without
// a rotation time.
func TestPreviousLinkKeyDuringGrace(t *testing.T) {
	e := newEnv(t, callbackHT)
	const newKey = "the-new-link-signing-key-after-rotation"
	version := &secretVersion{}
	version.set(map[string]string{
		"client_secret": e.goto_.ClientSecret, "link_signing_key": newKey, "previous_link_signing_key": linkKey,
	}, e.clock.Now().Add(-10*time.Minute))
	sm := httptest.NewServer(http.HandlerFunc(version.serve))
	defer sm.Close()
	manager := &secrets.Manager{
		Client: secretsmanager.New(secretsmanager.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(sm.URL), Credentials: aws.AnonymousCredentials{},
		}),
		SecretID: "goto-connector", TTL: time.Nanosecond, Now: e.clock.Now,
	}
	e.app.Secrets = manager

	signed := func(key, id string) url.Values {
		raw, err := gotoauth.SignLink("https://connector.example.com/authorize", []byte(key),
			gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: e.clock.Now().Add(15 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		return u.Query()
	}
	status := func(q url.Values) int { return e.authorize(q).StatusCode }

	if got := status(signed(linkKey, "old-1")); got != http.StatusFound {
		t.Fatalf("a link under the previous key within the grace: %d", got)
	}
	if got := status(signed(newKey, "new-1")); got != http.StatusFound {
		t.Fatalf("a link under the new key: %d", got)
	}
	if got := status(signed("some-other-key-0123456789", "x")); got != http.StatusForbidden {
		t.Fatalf("a link under another key: %d", got)
	}
	e.clock.Advance(secrets.LinkKeyGrace - 10*time.Minute)
	if got := status(signed(linkKey, "old-2")); got != http.StatusForbidden {
		t.Fatalf("a link under the previous key after the grace: %d", got)
	}
	if got := status(signed(newKey, "new-2")); got != http.StatusFound {
		t.Fatalf("a link under the new key after the grace: %d", got)
	}
	// A previous key in a static secret (no rotation time) never verifies.
	sec, err := secrets.Parse([]byte(`{"client_secret":"s","link_signing_key":"` + newKey + `","previous_link_signing_key":"` + linkKey + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	e.app.Secrets = secrets.Static{S: sec}
	if got := status(signed(linkKey, "old-3")); got != http.StatusForbidden {
		t.Fatalf("a previous key without a rotation time: %d", got)
	}
}

// With a link secret (LINK_SECRET_ID), authorize reads only it: a link
// secret of link keys alone serves the connect flow, and the rotation grace
// counts from its version; the client secret is never asked for.
func TestAuthorizeReadsOnlyTheLinkSecret(t *testing.T) {
	e := newEnv(t, callbackHT)
	const newKey = "the-new-link-signing-key-in-the-link-secret"
	version := &secretVersion{}
	version.set(map[string]string{"link_signing_key": newKey, "previous_link_signing_key": linkKey}, e.clock.Now().Add(-10*time.Minute))
	sm := httptest.NewServer(http.HandlerFunc(version.serve))
	defer sm.Close()
	e.app.Secrets = secrets.Missing{Err: errors.New("authorize asked for the client secret")}
	e.app.Links = &secrets.Manager{
		Client: secretsmanager.New(secretsmanager.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(sm.URL), Credentials: aws.AnonymousCredentials{},
		}),
		SecretID: "goto-connector-link", TTL: time.Nanosecond, Now: e.clock.Now, Parse: secrets.ParseLink,
	}
	signed := func(key, id string) url.Values {
		raw, err := gotoauth.SignLink("https://connector.example.com/authorize", []byte(key),
			gotoauth.Link{ConnectionID: id, ReturnTo: returnTo, Expires: e.clock.Now().Add(15 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		return u.Query()
	}
	if r := e.authorize(signed(newKey, "l-1")); r.StatusCode != http.StatusFound {
		t.Fatalf("a link under the link secret's key: %d %s", r.StatusCode, r.Body)
	}
	if got := e.authorize(signed(linkKey, "l-2")).StatusCode; got != http.StatusFound {
		t.Fatalf("a link under the previous key within the grace: %d", got)
	}
	e.clock.Advance(secrets.LinkKeyGrace)
	if got := e.authorize(signed(linkKey, "l-3")).StatusCode; got != http.StatusForbidden {
		t.Fatalf("a link under the previous key after the grace: %d", got)
	}
	// A link secret that also holds the client secret is refused (503), not
	// used (read by a function starting now: a warm one keeps its last good
	// value for an hour, as with any failed read).
	version.set(map[string]string{"link_signing_key": newKey, "client_secret": "must-not-be-here"}, e.clock.Now())
	e.app.Links = &secrets.Manager{Client: e.app.Links.(*secrets.Manager).Client, SecretID: "goto-connector-link", Now: e.clock.Now, Parse: secrets.ParseLink}
	if got := e.authorize(signed(newKey, "l-4")).StatusCode; got != http.StatusServiceUnavailable {
		t.Fatalf("a link secret holding client_secret: %d", got)
	}
}
