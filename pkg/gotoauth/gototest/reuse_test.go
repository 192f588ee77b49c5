package gototest_test

import (
	"net/http"
	"testing"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestRefreshTokenReuses(t *testing.T) {
	s := start(t, gototest.WithSingleUseRefreshTokens())
	old := login(t, s).str("refresh_token")

	// A failed, injected answer consumes nothing: retrying is no reuse.
	s.FailNext(1, gototest.ServerError(http.StatusServiceUnavailable))
	if r := refresh(t, s, old); r.status != http.StatusServiceUnavailable {
		t.Fatalf("injected failure: %d %s", r.status, r.body)
	}
	r := refresh(t, s, old)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	next := r.str("refresh_token")
	if s.RefreshTokenReuses() != 0 {
		t.Fatalf("RefreshTokenReuses = %d before any reuse", s.RefreshTokenReuses())
	}

	// The rotated-away token, presented again, twice.
	wantOAuthError(t, refresh(t, s, old), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, refresh(t, s, old), http.StatusBadRequest, "invalid_grant")
	if got := s.RefreshTokenReuses(); got != 2 {
		t.Errorf("RefreshTokenReuses = %d, want 2", got)
	}

	// Unknown and revoked tokens are invalid_grant but no reuse.
	wantOAuthError(t, refresh(t, s, "rt_unknown"), http.StatusBadRequest, "invalid_grant")
	s.Revoke(next)
	wantOAuthError(t, refresh(t, s, next), http.StatusBadRequest, "invalid_grant")
	if got := s.RefreshTokenReuses(); got != 2 {
		t.Errorf("RefreshTokenReuses = %d after unknown and revoked tokens, want still 2", got)
	}
}

func TestRefreshTokenReusesKeepRotation(t *testing.T) {
	s := start(t) // RotationKeep: the token is never rotated away
	rt := login(t, s).str("refresh_token")
	for range 3 {
		if r := refresh(t, s, rt); r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
	}
	if got := s.RefreshTokenReuses(); got != 0 {
		t.Errorf("RefreshTokenReuses = %d with a token that is kept", got)
	}
}
