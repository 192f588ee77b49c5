package gotoauth

import (
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// The deadline arithmetic at the defaults: the full reserve is 5 min 20 s
// (docs/deploy.md's Sizing), the minimum 40 s (sweep.MinimumTimeout), and a
// 60 s deadline starts refreshes with GoTo's answer and the store budget
// cut to what is left.
func TestDeadlineArithmetic(t *testing.T) {
	ts := &TokenSource{client: &Client{}, storeRetry: defaultStoreRetryBudget}
	if got := ts.refreshBudget(); got != 320*time.Second {
		t.Errorf("SweepReserve = %v, want 5m20s", got)
	}
	if got := ts.minimumTimeout(); got != sweep.MinimumTimeout {
		t.Errorf("minimumTimeout = %v, sweep.MinimumTimeout = %v: they must agree", got, sweep.MinimumTimeout)
	}
	now := time.Unix(1_800_000_000, 0)
	take, short, err := ts.takeDeadline(now, now.Add(900*time.Second))
	if err != nil || short || take.Sub(now) != 580*time.Second {
		t.Errorf("900 s: works %v (short %v, %v), want 580s", take.Sub(now), short, err)
	}
	take, short, err = ts.takeDeadline(now, now.Add(60*time.Second))
	if err != nil || !short || take.Sub(now) != 20*time.Second {
		t.Errorf("60 s: works %v (short %v, %v), want 20s, short", take.Sub(now), short, err)
	}
	if call := ts.callDeadline(now, now.Add(60*time.Second)); call.Sub(now) != 45*time.Second {
		t.Errorf("60 s: GoTo's answer awaited until %v, want 45s", call.Sub(now))
	}
	if call := ts.callDeadline(now, now.Add(900*time.Second)); !call.IsZero() {
		t.Errorf("900 s: GoTo's call cut at %v, want not cut", call.Sub(now))
	}
	if b := ts.storeBudget(now, now.Add(30*time.Second)); b != 25*time.Second {
		t.Errorf("store budget 30 s before the deadline = %v, want 25s", b)
	}
	if _, _, err := ts.takeDeadline(now, now.Add(30*time.Second)); err == nil {
		t.Error("30 s: want ErrTimeoutTooShort")
	}
}
