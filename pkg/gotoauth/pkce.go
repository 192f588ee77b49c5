package gotoauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// GenerateVerifier returns a fresh PKCE code verifier (RFC 7636): 32 random
// bytes, base64url-encoded without padding (43 characters).
func GenerateVerifier() string {
	return randomString(32)
}

// S256Challenge returns the S256 code challenge of a PKCE verifier:
// base64url(sha256(verifier)) without padding.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// GenerateState returns a fresh OAuth state value with 256 random bits.
func GenerateState() string {
	return randomString(32)
}

// newOwnerID returns a fresh, random lease owner id.
func newOwnerID() string { return "refresher-" + randomString(9) }
