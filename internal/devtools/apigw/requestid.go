package apigw

import (
	"crypto/rand"
	"encoding/hex"
)

// newRequestID returns a random id shaped like API Gateway's.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
