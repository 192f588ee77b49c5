package gototest_test

import (
	"net/url"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func revoke(t *testing.T, s *gototest.Server, auth string, form url.Values) tokenResp {
	t.Helper()
	return postTokenTo(t, s.RevokeURL(), auth, form)
}

func TestRevokeRefreshToken(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	auth := rawBasic(s.ClientID, s.ClientSecret)
	r := revoke(t, s, auth, url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}})
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("revoke: %d %q", r.status, r.body)
	}
	if s.ValidRefreshToken(rt) {
		t.Fatal("refresh token still valid after revocation")
	}
	wantOAuthError(t, refresh(t, s, rt), 400, "invalid_grant")
	// Already revoked, unknown, and without a hint: still 200 (RFC 7009 §2.2).
	for _, form := range []url.Values{
		{"token": {rt}, "token_type_hint": {"refresh_token"}},
		{"token": {"rt_unknown"}},
	} {
		if r := revoke(t, s, auth, form); r.status != 200 {
			t.Errorf("revoke %v: %d %s", form, r.status, r.body)
		}
	}
	if s.Revocations() != 3 || s.RevocationRequests() != 3 {
		t.Errorf("Revocations %d RevocationRequests %d", s.Revocations(), s.RevocationRequests())
	}
	if s.URL+gototest.RevokePath != s.RevokeURL() {
		t.Errorf("RevokeURL %s", s.RevokeURL())
	}
}

func TestRevokeRejectsBadRequests(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	good := rawBasic(s.ClientID, s.ClientSecret)
	wantOAuthError(t, revoke(t, s, "", url.Values{"token": {rt}}), 401, "invalid_client")
	wantOAuthError(t, revoke(t, s, rawBasic(s.ClientID, "wrong"), url.Values{"token": {rt}}), 401, "invalid_client")
	wantOAuthError(t, revoke(t, s, good, url.Values{}), 400, "invalid_request")
	wantOAuthError(t, revoke(t, s, good, url.Values{"token": {rt, rt}}), 400, "invalid_request")
	wantOAuthError(t, revoke(t, s, good, url.Values{"token": {rt}, "token_type_hint": {"id_token"}}), 400, "unsupported_token_type")
	if !s.ValidRefreshToken(rt) {
		t.Fatal("a rejected revocation revoked the token")
	}
	if s.Revocations() != 0 || s.RevocationRequests() != 5 {
		t.Errorf("Revocations %d RevocationRequests %d", s.Revocations(), s.RevocationRequests())
	}
}

func TestFailRevocations(t *testing.T) {
	s := start(t)
	rt := login(t, s).str("refresh_token")
	auth := rawBasic(s.ClientID, s.ClientSecret)
	s.FailRevocations(gototest.ServerError(503))
	if r := revoke(t, s, auth, url.Values{"token": {rt}}); r.status != 503 {
		t.Fatalf("status %d", r.status)
	}
	if !s.ValidRefreshToken(rt) || s.Revocations() != 0 {
		t.Fatal("a failed revocation revoked the token")
	}
	// The token endpoint is not affected.
	if r := refresh(t, s, rt); r.status != 200 {
		t.Fatalf("refresh while revocations fail: %d %s", r.status, r.body)
	}
	s.StopFailing()
	if r := revoke(t, s, auth, url.Values{"token": {rt}}); r.status != 200 || s.Revocations() != 1 {
		t.Fatalf("after StopFailing: %d, Revocations %d", r.status, s.Revocations())
	}
}
