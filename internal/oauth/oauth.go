// Package oauth is the OAuth 2.0 plumbing the connector shares between
// pkg/gotoauth and its own handlers: the Basic credentials GoTo documents,
// PKCE, state values, the errors of a token endpoint and the sanitising of
// error codes. A backend uses pkg/gotoauth (Classify, ErrorCode) instead.
package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
)

// GoTo's authorization server: where a customer consents, and where codes
// and refresh tokens are exchanged (the default of gotoauth.Client and of
// GOTO_AUTHORIZE_URL and GOTO_TOKEN_URL).
const (
	GoToAuthURL  = "https://authentication.logmeininc.com/oauth/authorize"
	GoToTokenURL = "https://authentication.logmeininc.com/oauth/token"
)

// GoToRevokeURL is GoTo's token revocation endpoint (RFC 7009), as its
// authorization-server metadata lists it: the default of
// gotoauth.Client's Endpoint.RevokeURL and of GOTO_REVOKE_URL.
const GoToRevokeURL = "https://identity.goto.com/oauth/revoke"

// BasicAuth returns the Authorization header value GoTo documents: "Basic "
// and the base64 of the raw "clientID:clientSecret", with neither part
// form-encoded first.
func BasicAuth(clientID, clientSecret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret))
}

// AuthCodeOption adds parameters to an authorization URL.
type AuthCodeOption func(url.Values)

// S256ChallengeOption sends the S256 PKCE challenge of verifier. Pass the
// same verifier to Exchange.
func S256ChallengeOption(verifier string) AuthCodeOption {
	return func(v url.Values) {
		v.Set("code_challenge", S256Challenge(verifier))
		v.Set("code_challenge_method", "S256")
	}
}

// GenerateVerifier returns a fresh PKCE code verifier (RFC 7636): 32 random
// bytes, base64url-encoded without padding (43 characters).
func GenerateVerifier() string {
	return RandomString(32)
}

// S256Challenge returns the S256 code challenge of a PKCE verifier:
// base64url(sha256(verifier)) without padding.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RandomString returns n random bytes, base64url-encoded without padding.
func RandomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// GenerateState returns a fresh OAuth state value with 256 random bits.
func GenerateState() string {
	return RandomString(32)
}

// SafeCode keeps an error code only when it looks like one (lower-case
// letters, digits and underscores, at most 64), so that nothing a provider
// or an attacker sends ends up verbatim in a URL, a page or a log.
func SafeCode(code string) string {
	if code == "" || len(code) > 64 {
		return "unknown"
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "unknown"
		}
	}
	return code
}
