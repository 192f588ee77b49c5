package gototest

import (
	"net/http"
	"strings"
)

// handleMe serves GET /admin/rest/v1/me, GoTo's Admin API "get me": 200 with
// the user's identity for a valid access token; 401 for one this server
// issued that has expired (or was expired early with ExpireAccessToken); and
// 403 {"int_err_code":"InvalidToken"} for any other, as GoTo's APIs answer a
// bad token.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	s.stats.apiRequests.Add(1)
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	var g grant
	if ok && strings.EqualFold(scheme, "Bearer") {
		g, ok = s.accessGrantFor(tok)
	} else {
		ok = false
	}
	switch {
	case !ok && s.expiredAccessToken(tok):
		s.stats.apiRejections.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"int_err_code": "InvalidToken",
			"msg":          "Token expired",
		})
		return
	case !ok:
		s.stats.apiRejections.Add(1)
		writeJSON(w, http.StatusForbidden, map[string]string{
			"int_err_code": "InvalidToken",
			"msg":          "Invalid token passed",
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"key":         g.identity.OrganizerKey,
		"accountKey":  g.identity.AccountKey,
		"accountType": g.identity.AccountType,
		"email":       g.identity.Email,
		"firstName":   g.identity.FirstName,
		"lastName":    g.identity.LastName,
		"principal":   g.identity.Principal,
	})
}

// expiredAccessToken reports whether tok is an access token this server
// issued whose life is over.
func (s *Server) expiredAccessToken(tok string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[tok]
	return ok && !now.Before(g.expires)
}

// ExpireAccessToken ends the life of access token tok now, as GoTo does
// when it expires a token early: the API answers 401 to it from then on,
// while the refresh token of its grant stays valid. It reports whether tok
// was a live access token.
func (s *Server) ExpireAccessToken(tok string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[tok]
	if !ok || !now.Before(g.expires) {
		return false
	}
	g.expires = now
	return true
}
