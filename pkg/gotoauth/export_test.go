package gotoauth

// NewSharedLimiter exposes the table-backed rate limiter to this package's
// tests.
func NewSharedLimiter(store *Store, name string, rate float64) Limiter {
	return &sharedLimiter{store: store, name: name, rate: rate}
}
