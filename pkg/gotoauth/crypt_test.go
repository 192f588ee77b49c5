package gotoauth

import (
	"strings"
	"testing"
)

func testCipher(t *testing.T, active string) *TokenCipher {
	t.Helper()
	keys := map[string][]byte{
		"k1": []byte("0123456789abcdef0123456789abcdef"),
		"k2": []byte("fedcba9876543210fedcba9876543210"),
	}
	c, err := NewTokenCipher(keys, active)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenCipherRoundTripAndRotation(t *testing.T) {
	old := testCipher(t, "k1")
	sealed := old.Encrypt("rt_secret_value", "conn-1")
	if !strings.HasPrefix(sealed, "enc:v1:k1:") || strings.Contains(sealed, "rt_secret_value") {
		t.Fatalf("sealed = %q", sealed)
	}
	// After rotation to k2, values under k1 still open.
	rotated := testCipher(t, "k2")
	got, err := rotated.Decrypt(sealed, "conn-1")
	if err != nil || got != "rt_secret_value" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if s := rotated.Encrypt("x", "conn-1"); !strings.HasPrefix(s, "enc:v1:k2:") {
		t.Fatalf("new writes use %q", s)
	}
	// Bound to the connection id.
	if _, err := rotated.Decrypt(sealed, "conn-2"); err == nil {
		t.Fatal("a token moved to another connection decrypted")
	}
	// Plain values pass through (tables written before encryption was on).
	if got, err := rotated.Decrypt("plain", "conn-1"); err != nil || got != "plain" {
		t.Fatalf("plain = %q, %v", got, err)
	}
	// No cipher: encrypted values are an error, not garbage.
	var none *TokenCipher
	if _, err := none.Decrypt(sealed, "conn-1"); err == nil {
		t.Fatal("nil cipher decrypted an encrypted value")
	}
}

func TestNewTokenCipherRefusesBadKeys(t *testing.T) {
	if _, err := NewTokenCipher(map[string][]byte{"k": make([]byte, 16)}, "k"); err == nil {
		t.Fatal("16-byte key accepted")
	}
	if _, err := NewTokenCipher(map[string][]byte{"k": make([]byte, 32)}, "other"); err == nil {
		t.Fatal("missing active key accepted")
	}
}
