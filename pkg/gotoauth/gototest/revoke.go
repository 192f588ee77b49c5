package gototest

import (
	"net/http"
	"net/url"
)

// RevokePath is the token revocation endpoint (RFC 7009), the path of the
// revocation_endpoint in GoTo's authorization-server metadata.
const RevokePath = "/oauth/revoke"

// RevokeURL returns URL + "/oauth/revoke".
func (s *Server) RevokeURL() string { return s.base() + RevokePath }

// Revocations returns how many requests the revocation endpoint accepted
// (answered 200), whether the token they named was known, unknown or
// already revoked. Rejected requests and injected failures are not counted.
func (s *Server) Revocations() int { return int(s.stats.revocations.Load()) }

// RevocationRequests returns how many POST requests reached the revocation
// endpoint, whatever their answer (injected failures included).
func (s *Server) RevocationRequests() int { return int(s.stats.revocationRequests.Load()) }

// FailRevocations makes every request to the revocation endpoint answer f
// (Slow delays it and then processes it) until StopFailing. It does not
// affect the token endpoint, and FailNext and FailAlways do not affect the
// revocation endpoint.
func (s *Server) FailRevocations(f Failure) {
	mustValid(f)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.revoke = &f
}

func (s *Server) revokeFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures.revoke != nil {
		return *s.failures.revoke, true
	}
	return Failure{}, false
}

// handleRevoke serves POST /oauth/revoke as RFC 7009 describes: the client
// authenticates as at the token endpoint (raw Basic credentials), names the
// token in token (token_type_hint is optional and only a hint), and gets 200
// with an empty body whether the token was valid, unknown or already
// revoked. A revoked refresh token then gets invalid_grant at the token
// endpoint; revoking a refresh token also revokes nothing else, as the
// access tokens issued with it stay valid until they expire.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, ok := s.begin(w, r, func(url.Values) { s.stats.revocationRequests.Add(1) }, s.revokeFailure)
	if !ok {
		return
	}
	if len(form["token"]) != 1 || form.Get("token") == "" {
		s.writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required, once.")
		return
	}
	switch form.Get("token_type_hint") {
	case "", "refresh_token", "access_token":
	default:
		s.writeOAuthError(w, http.StatusBadRequest, "unsupported_token_type",
			"token_type_hint must be refresh_token or access_token.")
		return
	}
	s.Revoke(form.Get("token"))
	s.stats.revocations.Add(1)
	writeBody(w, http.StatusOK, "", nil)
}
