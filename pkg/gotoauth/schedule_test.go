package gotoauth

import (
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	day := 24 * time.Hour
	cases := []struct {
		name          string
		s             Schedule
		access, rtExp time.Time
		lo, hi        time.Time // want in (lo, hi]
	}{
		{"on its phase within the interval", Schedule{}, now.Add(time.Hour), now.Add(30 * day), now, now.Add(day)},
		{"ahead of access expiry", Schedule{AccessTokenAhead: 10 * time.Minute}, now.Add(time.Hour), now.Add(30 * day), now, now.Add(50 * time.Minute)},
		{"before refresh token expiry", Schedule{Interval: 20 * day}, now.Add(time.Hour), now.Add(10 * day), now, now.Add(10*day - 3*day)},
		{"inside the margin: every hundredth of the life", Schedule{Interval: 20 * day}, now.Add(time.Hour), now.Add(2 * day), now.Add(720*time.Hour/100 - time.Second), now.Add(720 * time.Hour / 100)},
		{"last hours: halfway to expiry", Schedule{}, now.Add(time.Hour), now.Add(time.Hour), now.Add(30*time.Minute - time.Second), now.Add(30 * time.Minute)},
		{"never in the past", Schedule{}, now.Add(time.Hour), now.Add(-time.Hour), now.Add(-time.Second), now},
	}
	for _, c := range cases {
		if got := c.s.Next("cust-1", now, c.access, c.rtExp); !got.After(c.lo) || got.After(c.hi) {
			t.Errorf("%s: Next = %s, want in (%s, %s]", c.name, got, c.lo, c.hi)
		}
	}
}
