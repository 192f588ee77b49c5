package gototest

import (
	"net/http"
	"strings"
)

// handleMe serves GET /admin/rest/v1/me, GoTo's Admin API "get me": 200 with
// the user's identity for a valid access token, 403 InvalidToken otherwise.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	var g grant
	if ok && strings.EqualFold(scheme, "Bearer") {
		g, ok = s.accessGrantFor(strings.TrimSpace(tok))
	} else {
		ok = false
	}
	if !ok {
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
