package simulate

import (
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// baseline is today's fixed schedule: gotoauth.Schedule.Next (now +
// REFRESH_INTERVAL, at the latest a tenth of the refresh token's life
// before it expires), the sweep taking due connections in the due index's
// order (ascending next_refresh_at) and leaving the rest due.
type baseline struct {
	sch                 gotoauth.Schedule
	retryBase, retryMax time.Duration
}

func newBaseline(s Scenario) *baseline {
	return &baseline{
		sch:       gotoauth.Schedule{Interval: s.Interval, RefreshTokenLifetime: s.Lifetime},
		retryBase: s.RetryBase, retryMax: s.RetryMax,
	}
}

// plan is the schedule before issue 16: Interval after the refresh, at
// most until a tenth of the life is left, then every hundredth of it.
func (b *baseline) plan(_ int32, _, now, exp time.Duration) time.Duration {
	interval, life := b.sch.Interval, b.sch.RefreshTokenLifetime
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	if life <= 0 {
		life = 720 * time.Hour
	}
	next := now + interval
	if late := exp - life/10; late > now {
		next = min(next, late)
	} else {
		next = min(next, now+life/100)
	}
	return max(next, now)
}

func (b *baseline) signUp(id int32, now, exp time.Duration) time.Duration {
	return b.plan(id, noPlan, now, exp)
}

func (b *baseline) retry(_ int32, now, exp time.Duration, failures int) time.Duration {
	return backoff(now, exp, failures, b.retryBase, b.retryMax)
}

func (b *baseline) indexOrder() bool { return true }

func (b *baseline) decide(time.Duration, []dueConn, int, int) int {
	panic("simulate: the baseline takes the due index's order")
}

// backoff is the connector's retry after the failures-th transient failure
// in a row (TokenSource's retryAt without Retry-After): base doubling per
// earlier failure up to most, never past exp − base.
func backoff(now, exp time.Duration, failures int, base, most time.Duration) time.Duration {
	wait := base
	for i := 1; i < failures && wait < most; i++ {
		wait *= 2
	}
	wait = min(wait, most)
	t := now + wait
	if t >= exp-base {
		t = max(exp-base, now)
	}
	return t
}
