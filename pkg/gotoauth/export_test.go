package gotoauth

// NewSharedLimiter exposes the table-backed rate limiter to this package's
// tests.
func NewSharedLimiter(store *Store, name string, rate float64) Limiter {
	return &sharedLimiter{store: store, name: name, rate: rate}
}

// SweepConcurrency exposes the sweep's sizing to this package's tests.
func SweepConcurrency(rate float64) int { return sweepConcurrency(rate) }
