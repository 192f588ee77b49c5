package gototest

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Sizes of the random part of the credentials the server issues, in bytes.
// Encoded, an access token is about 1 KB (like GoTo's JWTs) and a refresh
// token about 260 characters.
const (
	codeBytes    = 64
	accessBytes  = 768
	refreshBytes = 192
)

// grant is what the user consented to.
type grant struct {
	clientID string
	scope    string
	identity Identity
}

type codeGrant struct {
	grant
	redirectURI string
	challenge   string // S256 code_challenge, "" without PKCE
	expires     time.Time
}

type accessGrant struct {
	grant
	expires time.Time
}

type refreshGrant struct {
	grant
	issued  time.Time
	expires time.Time
}

// randomString returns prefix followed by n random bytes, base64url-encoded
// without padding.
func randomString(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read crashes the program instead
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func newCode() string         { return randomString("", codeBytes) }
func newAccessToken() string  { return randomString("at_", accessBytes) }
func newRefreshToken() string { return randomString("rt_", refreshBytes) }

// issueCode stores a new authorization code for ar and returns it.
func (s *Server) issueCode(ar *authzRequest) string {
	code := newCode()
	scope := ar.scope
	if scope == "" {
		scope = s.defaultScope
	}
	g := &codeGrant{
		grant:       grant{clientID: ar.clientID, scope: scope, identity: s.identity},
		redirectURI: ar.redirectURI,
		challenge:   ar.challenge,
		expires:     s.now().Add(s.codeLifetime),
	}
	s.mu.Lock()
	s.codes[code] = g
	s.mu.Unlock()
	return code
}

// takeCode removes code and returns its grant: a code is burned by its first
// exchange attempt, successful or not.
func (s *Server) takeCode(code string) (*codeGrant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.codes[code]
	delete(s.codes, code)
	return g, ok
}

// issueTokens stores a new access token and refresh token for g.
func (s *Server) issueTokens(g grant) (access, refresh string) {
	access, refresh = newAccessToken(), newRefreshToken()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access[access] = &accessGrant{grant: g, expires: now.Add(s.accessLifetime)}
	s.refresh[refresh] = &refreshGrant{grant: g, issued: now, expires: now.Add(s.refreshLifetime)}
	return access, refresh
}

// refreshResult is the outcome of a valid refresh.
type refreshResult struct {
	grant
	access  string
	refresh string // "" when the response must omit refresh_token
}

// useRefreshToken applies the rotation policy to a refresh of rt. It reports
// false when rt is unknown, spent or expired.
func (s *Server) useRefreshToken(rt string) (refreshResult, bool) {
	access, candidate := newAccessToken(), newRefreshToken()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[rt]
	if !ok {
		s.noteUnknown(rt)
		return refreshResult{}, false
	}
	if !now.Before(g.expires) {
		delete(s.refresh, rt)
		return refreshResult{}, false
	}
	res := refreshResult{grant: g.grant, access: access}
	switch {
	case s.rotation.rotates(now.Sub(g.issued)):
		delete(s.refresh, rt)
		s.markSpent(rt)
		s.refresh[candidate] = &refreshGrant{grant: g.grant, issued: now, expires: now.Add(s.refreshLifetime)}
		res.refresh = candidate
	case s.rotation.echoes():
		res.refresh = rt
	}
	s.access[access] = &accessGrant{grant: g.grant, expires: now.Add(s.accessLifetime)}
	return res, true
}

// accessGrantFor returns the grant of a valid, unexpired access token.
func (s *Server) accessGrantFor(tok string) (grant, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[tok]
	if !ok || !now.Before(g.expires) {
		return grant{}, false
	}
	return g.grant, true
}

// ValidAccessToken reports whether tok is an access token this server issued
// that has not expired or been revoked.
func (s *Server) ValidAccessToken(tok string) bool {
	_, ok := s.accessGrantFor(tok)
	return ok
}

// ValidRefreshToken reports whether tok is a refresh token this server
// issued that a refresh would accept now: not expired, revoked or spent.
func (s *Server) ValidRefreshToken(tok string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[tok]
	return ok && now.Before(g.expires)
}

// Revoke invalidates tok, an access token or a refresh token, as a product
// logout would, and reports whether it was known.
func (s *Server) Revoke(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.access[tok]
	_, r := s.refresh[tok]
	delete(s.access, tok)
	delete(s.refresh, tok)
	return a || r
}
