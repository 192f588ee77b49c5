package gototest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// begin is what the token and revocation endpoints do first: read the form
// (bounded), count the request, wait the configured delay, answer an
// injected failure from next (a slow one only delays), then refuse a body
// that is not a form (400 invalid_request) and a client that does not
// authenticate (401 invalid_client). ok is false when it has answered.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, count func(url.Values), next func() (Failure, bool)) (form url.Values, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	parseErr := r.ParseForm()
	form = r.PostForm
	count(form)

	s.wait(r.Context(), s.delay)
	if f, ok := next(); ok {
		if f.kind != failSlow {
			s.writeFailure(w, f)
			return nil, false
		}
		s.wait(r.Context(), f.delay)
	}

	if !isForm(r) || parseErr != nil {
		s.writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"The request body must be application/x-www-form-urlencoded.")
		return nil, false
	}
	if !s.authenticateClient(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="gototest"`)
		s.writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return nil, false
	}
	return form, true
}

// handleToken serves POST /oauth/token. The order matters: the request is
// counted, delayed, possibly answered by an injected failure (before anything
// is consumed), then the client is authenticated (a request that fails
// authentication does not consume its code) and the grant is processed.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, ok := s.begin(w, r, func(f url.Values) { s.stats.countTokenRequest(f.Get("grant_type")) }, s.nextFailure)
	if !ok {
		return
	}
	for _, k := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token"} {
		if len(form[k]) > 1 {
			s.writeOAuthError(w, http.StatusBadRequest, "invalid_request", k+" is repeated.")
			return
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		s.exchangeCode(w, form)
	case "refresh_token":
		s.refreshTokens(w, form)
	case "":
		s.writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required.")
	default:
		s.writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			"Only authorization_code and refresh_token are supported.")
	}
}

func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// authenticateClient checks "Authorization: Basic base64(id:secret)" the way
// GoTo documents it: the raw values, split at the first ':', without any
// URL-unescaping. A client that form-encodes its credentials first fails.
func (s *Server) authenticateClient(r *http.Request) bool {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret))
	return idOK&secretOK == 1
}

// exchangeCode handles grant_type=authorization_code.
func (s *Server) exchangeCode(w http.ResponseWriter, form url.Values) {
	code := form.Get("code")
	if code == "" {
		s.writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code is required.")
		return
	}
	g, ok := s.takeCode(code)
	if !ok {
		s.writeInvalidGrant(w, "The authorization code is invalid or has already been used.")
		return
	}
	if !s.now().Before(g.expires) {
		s.writeInvalidGrant(w, "The authorization code has expired.")
		return
	}
	if g.clientID != s.ClientID {
		s.writeInvalidGrant(w, "The authorization code was issued to another client.")
		return
	}
	if g.redirectURI != "" {
		if _, sent := form["redirect_uri"]; !sent {
			s.writeInvalidGrant(w, "redirect_uri is required: the authorization request had one.")
			return
		}
		if form.Get("redirect_uri") != g.redirectURI {
			s.writeInvalidGrant(w, "redirect_uri does not match the authorization request.")
			return
		}
	}
	if desc := checkVerifier(g.challenge, form.Get("code_verifier")); desc != "" {
		s.writeInvalidGrant(w, desc)
		return
	}
	access, refresh := s.issueTokens(g.grant)
	s.writeTokens(w, access, refresh, g.grant)
}

// checkVerifier checks a PKCE code_verifier against the S256 challenge of the
// code; it returns an error description, or "" when it matches.
func checkVerifier(challenge, verifier string) string {
	switch {
	case challenge == "" && verifier != "":
		return "code_verifier was sent but the authorization request had no code_challenge."
	case challenge == "":
		return ""
	case verifier == "":
		return "code_verifier is required."
	case !validVerifier(verifier):
		return "code_verifier must be 43 to 128 characters from [A-Za-z0-9-._~]."
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return "code_verifier does not match the code_challenge."
	}
	return ""
}

// validVerifier applies RFC 7636 §4.1.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range []byte(v) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// refreshTokens handles grant_type=refresh_token. A scope parameter, if any,
// is ignored: the refreshed grant keeps the scope of the original consent.
func (s *Server) refreshTokens(w http.ResponseWriter, form url.Values) {
	rt := form.Get("refresh_token")
	if rt == "" {
		s.writeOAuthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required.")
		return
	}
	res, ok := s.useRefreshToken(rt)
	if !ok {
		s.writeInvalidGrant(w, "The refresh token is invalid, expired or revoked.")
		return
	}
	s.writeTokens(w, res.access, res.refresh, res.grant)
}

// tokenResponse builds a token response body in the configured style;
// refresh_token is omitted when refresh is "".
func (s *Server) tokenResponse(access, refresh string, g grant) map[string]any {
	m := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   s.expiresIn(),
	}
	if refresh != "" {
		m["refresh_token"] = refresh
	}
	switch s.style {
	case StyleLegacy:
		m["account_key"] = g.identity.AccountKey
		m["account_type"] = g.identity.AccountType
		m["email"] = g.identity.Email
		m["firstName"] = g.identity.FirstName
		m["lastName"] = g.identity.LastName
		m["organizer_key"] = g.identity.OrganizerKey
		m["version"] = "3"
	default:
		m["scope"] = g.scope
		m["principal"] = g.identity.Principal
	}
	return m
}

func (s *Server) expiresIn() any {
	secs := int64(s.accessLifetime / time.Second)
	if s.expiresInString {
		return strconv.FormatInt(secs, 10)
	}
	return secs
}

func (s *Server) writeTokens(w http.ResponseWriter, access, refresh string, g grant) {
	writeJSON(w, http.StatusOK, s.tokenResponse(access, refresh, g))
}

// writeOAuthError answers {"error":code,"error_description":description}.
func (s *Server) writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	if code == "invalid_grant" {
		s.stats.invalidGrants.Add(1)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func (s *Server) writeInvalidGrant(w http.ResponseWriter, description string) {
	s.writeOAuthError(w, http.StatusBadRequest, "invalid_grant", description)
}

// writeJSON answers status with v as JSON, uncacheable, as token endpoints
// must.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "gototest: encoding JSON failed", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "application/json", body)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
