package gotoauth

import (
	"testing"
	"time"
)

// The store's retry loop leaves room for a last full attempt before its
// budget ends, and never spins faster than every 100 ms.
func TestBackoffWithin(t *testing.T) {
	const attempt = 750 * time.Millisecond
	for _, tc := range []struct {
		name       string
		wait, left time.Duration
		min, max   time.Duration
	}{
		{"plenty of budget", 200 * time.Millisecond, time.Minute, 200 * time.Millisecond, 200 * time.Millisecond},
		{"shortened to fit one more attempt", 800 * time.Millisecond, 1200 * time.Millisecond, 300 * time.Millisecond, 450 * time.Millisecond},
		{"no room left", time.Second, 500 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := backoffWithin(tc.wait, time.Now().Add(tc.left), attempt)
			if got < tc.min || got > tc.max {
				t.Errorf("backoffWithin(%s, now+%s, %s) = %s, want %s..%s", tc.wait, tc.left, attempt, got, tc.min, tc.max)
			}
		})
	}
}
