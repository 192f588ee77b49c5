package secrets

import (
	"bytes"
	"testing"
)

func TestParseTokenKeys(t *testing.T) {
	keys, err := ParseTokenKeys(map[string]string{
		"k1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", // padded, standard alphabet
		"k2": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA",  // unpadded
	})
	if err != nil || !bytes.Equal(keys["k1"], []byte("0123456789abcdef0123456789abcdef")) || !bytes.Equal(keys["k2"], []byte("fedcba9876543210fedcba9876543210")) {
		t.Fatalf("keys = %q, %v", keys, err)
	}
	if _, err := ParseTokenKeys(map[string]string{"k": "%%%"}); err == nil {
		t.Fatal("non-base64 key accepted")
	}
}
