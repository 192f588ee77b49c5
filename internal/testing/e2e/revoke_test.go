package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

// TestLambdaDeleteRevokes: DELETE through the real connections bootstrap
// revokes the refresh token at GoTo (RFC 7009), so that it then gets
// invalid_grant; with GoTo's revocation endpoint failing, DELETE still
// answers 204 and the item is gone, and the event says so.
func TestLambdaDeleteRevokes(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const id, failing = "e2e:revoke.customer-1", "e2e:revoke.customer-2"
	s.connectByBrowser(id)
	s.connectByBrowser(failing)
	_, rt := s.tokens(s.connection(id))
	_, rt2 := s.tokens(s.connection(failing))

	if status, body := s.api("DELETE /connections/{connection_id}", id, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	if s.connection(id) != nil {
		t.Fatal("the item is still stored")
	}
	if s.goTo.Revocations() != 1 || s.goTo.ValidRefreshToken(rt) {
		t.Fatalf("Revocations %d, refresh token still valid %v", s.goTo.Revocations(), s.goTo.ValidRefreshToken(rt))
	}
	client := &gotoauth.Client{ClientID: s.goTo.ClientID, ClientSecret: s.goTo.ClientSecret,
		Endpoint: gotoauth.Endpoint{AuthURL: s.goTo.AuthorizeURL(), TokenURL: s.goTo.TokenURL()}}
	if _, err := client.Refresh(context.Background(), rt); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh with the revoked token: %v", err)
	}

	s.goTo.FailRevocations(gototest.ServerError(503))
	if status, body := s.api("DELETE /connections/{connection_id}", failing, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE with GoTo's revocation failing: %d %v", status, body)
	}
	if s.connection(failing) != nil {
		t.Fatal("the item is still stored")
	}
	if !s.goTo.ValidRefreshToken(rt2) || s.goTo.RevocationRequests() != 2 {
		t.Fatalf("revocation requests %d, token valid %v", s.goTo.RevocationRequests(), s.goTo.ValidRefreshToken(rt2))
	}

	revoked := map[string]any{}
	for _, e := range s.events.Entries() {
		if e.DetailType != "connection.disconnected" {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatal(err)
		}
		revoked[d["connection_id"].(string)] = d["revoked"]
	}
	if revoked[id] != true || revoked[failing] != false {
		t.Fatalf("revoked in the events: %v", revoked)
	}
	if !strings.Contains(s.logs.String(), "revoking the refresh token at GoTo failed") {
		t.Fatal("the failed revocation is not logged")
	}
}
