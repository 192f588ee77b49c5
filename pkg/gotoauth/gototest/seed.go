package gototest

import (
	"errors"
	"time"
)

// Grant is a consent the server did not see happen: tokens another
// integration obtained from GoTo, which a test hands to the code under test
// (an import of existing connections, for instance). AddGrant makes the
// server accept them as if it had issued them.
type Grant struct {
	// RefreshToken is the refresh token to accept; required. Any string
	// works; it is used as given.
	RefreshToken string
	// AccessToken, when set, is an access token to accept until
	// AccessTokenExpiresAt (by default the access token lifetime from now).
	AccessToken          string
	AccessTokenExpiresAt time.Time
	// IssuedAt is when the refresh token was issued (default now): it
	// expires the refresh token lifetime later, and the rotation policy
	// judges its age from it.
	IssuedAt time.Time
	// Scope is the granted scope (default the server's default scope).
	Scope string
	// Identity is who consented (default the server's identity).
	Identity *Identity
}

// ErrGrant reports a Grant that AddGrant cannot accept.
var ErrGrant = errors.New("gototest: bad grant")

// AddGrant seeds the server with g, issued to the server's client: its
// refresh token is then accepted by the token endpoint (and rotated, echoed
// or kept by the rotation policy) exactly like one the server issued, and
// its access token by MePath. It fails with ErrGrant when g has no refresh
// token, or when one of its tokens is already known to the server.
func (s *Server) AddGrant(g Grant) error {
	if g.RefreshToken == "" {
		return errors.Join(ErrGrant, errors.New("a grant needs a refresh token"))
	}
	now := s.now()
	gr := grant{clientID: s.ClientID, scope: g.Scope, identity: s.identity}
	if gr.scope == "" {
		gr.scope = s.defaultScope
	}
	if g.Identity != nil {
		gr.identity = *g.Identity
	}
	issued := g.IssuedAt
	if issued.IsZero() {
		issued = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.refresh[g.RefreshToken]; ok {
		return errors.Join(ErrGrant, errors.New("the refresh token is already known"))
	}
	if _, ok := s.access[g.AccessToken]; ok && g.AccessToken != "" {
		return errors.Join(ErrGrant, errors.New("the access token is already known"))
	}
	s.refresh[g.RefreshToken] = &refreshGrant{grant: gr, issued: issued, expires: issued.Add(s.refreshLifetime)}
	if g.AccessToken != "" {
		exp := g.AccessTokenExpiresAt
		if exp.IsZero() {
			exp = now.Add(s.accessLifetime)
		}
		s.access[g.AccessToken] = &accessGrant{grant: gr, expires: exp}
	}
	return nil
}
