package gotoauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// encPrefix marks an encrypted token attribute: enc:v1:<key id>:<data>.
const encPrefix = "enc:v1:"

// TokenCipher encrypts the access and refresh tokens at rest with
// AES-256-GCM, under keys named by id, with the connection id as additional
// data (so a token copied to another connection's item does not decrypt).
// Stored values look like enc:v1:<key id>:<base64url(nonce || ciphertext)>.
//
// Old keys stay listed to decrypt what they encrypted; new writes use the
// active key. A TokenCipher is safe for concurrent use.
type TokenCipher struct {
	active string
	aeads  map[string]cipher.AEAD
}

// NewTokenCipher builds a cipher from keys (key id to 32-byte key) and the
// id of the key that encrypts new writes.
func NewTokenCipher(keys map[string][]byte, active string) (*TokenCipher, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("gotoauth: the active token encryption key %q is not among the keys", active)
	}
	c := &TokenCipher{active: active, aeads: map[string]cipher.AEAD{}}
	for id, key := range keys {
		if id == "" || strings.Contains(id, ":") {
			return nil, fmt.Errorf("gotoauth: token encryption key id %q must be non-empty and without ':'", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("gotoauth: token encryption key %q is %d bytes, want 32 (AES-256)", id, len(key))
		}
		aead, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		c.aeads[id] = aead
	}
	return c, nil
}

// Encrypt seals a token for the connection connectionID.
func (c *TokenCipher) Encrypt(token, connectionID string) string {
	aead := c.aeads[c.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, []byte(token), []byte(connectionID))
	return encPrefix + c.active + ":" + base64.RawURLEncoding.EncodeToString(sealed)
}

// Decrypt opens a value written by Encrypt for the same connection. A value
// without the enc:v1: prefix is returned as it is (a plain token).
func (c *TokenCipher) Decrypt(value, connectionID string) (string, error) {
	if !strings.HasPrefix(value, encPrefix) {
		return value, nil
	}
	if c == nil {
		return "", fmt.Errorf("%w: it is encrypted but no token encryption keys are configured", ErrTokenKey)
	}
	rest := strings.TrimPrefix(value, encPrefix)
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("%w: malformed encrypted value", ErrTokenKey)
	}
	aead, ok := c.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: it was encrypted with key %q, which is not configured", ErrTokenKey, id)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%w: malformed encrypted value", ErrTokenKey)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(connectionID))
	if err != nil {
		return "", fmt.Errorf("%w: it does not decrypt with key %q for this connection", ErrTokenKey, id)
	}
	return string(plain), nil
}

// newGCM is AES-256-GCM under key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
