package e2e_test

import "testing"

// With a 60 s function timeout (under the sweep's 5 min 20 s reserve), a
// forced refresh through the real refresh bootstrap under the emulator
// still refreshes: GoTo's answer wait and the store budget are cut to the
// time left instead of deferring everything.
func TestForcedRefreshWithA60sTimeout(t *testing.T) {
	t.Parallel()
	s := startStack(t, map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "60"})
	const id = "e2e-short-timeout-1"
	s.connectByBrowser(id)
	sum := s.refresh(map[string]any{"connection_ids": []string{id}, "force": true})
	if sum.Refreshed != 1 || sum.Deferred != 0 {
		t.Fatalf("forced refresh with a 60 s timeout: %+v, want 1 refreshed", sum)
	}
}
