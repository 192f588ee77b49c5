package gotoauth

import (
	"time"

	"github.com/gotoconnector/gotoconnector/internal/tuning"
)

// Schedule decides when a connection is refreshed next. Its zero value uses
// the defaults of the connector's configuration.
type Schedule struct {
	// Interval is the longest time between two refreshes (REFRESH_INTERVAL,
	// default 24h).
	Interval time.Duration
	// AccessTokenAhead, when positive, also refreshes this long before the
	// access token expires (ACCESS_TOKEN_REFRESH_AHEAD, default off).
	AccessTokenAhead time.Duration
	// RefreshTokenLifetime is a refresh token's life from issue
	// (REFRESH_TOKEN_LIFETIME, default 720h, GoTo's 30 days).
	RefreshTokenLifetime time.Duration
}

func (s Schedule) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return tuning.DefaultRefreshInterval
}

func (s Schedule) lifetime() time.Duration {
	if s.RefreshTokenLifetime > 0 {
		return s.RefreshTokenLifetime
	}
	return tuning.DefaultRefreshTokenLifetime
}

// RefreshTokenExpiry is when a refresh token issued at issued expires.
func (s Schedule) RefreshTokenExpiry(issued time.Time) time.Time {
	return issued.Add(s.lifetime())
}

// Next returns when a connection whose tokens were written at now should be
// refreshed: after Interval at the latest, AccessTokenAhead before the access
// token expires when that is on, and in any case while a tenth of the refresh
// token's life is still left, so that failures have time to be retried.
//
// Inside that last tenth (a refresh token GoTo did not replace), it tries
// again every hundredth of the life, and once more halfway to the expiry,
// rather than at every sweep.
func (s Schedule) Next(now, accessExpiry, refreshExpiry time.Time) time.Time {
	next := now.Add(s.interval())
	if s.AccessTokenAhead > 0 && !accessExpiry.IsZero() {
		if t := accessExpiry.Add(-s.AccessTokenAhead); t.Before(next) {
			next = t
		}
	}
	if !refreshExpiry.IsZero() {
		late := refreshExpiry.Add(-s.lifetime() / 10)
		if late.After(now) {
			if late.Before(next) {
				next = late
			}
		} else {
			step := s.lifetime() / 100
			t := now.Add(step)
			if left := refreshExpiry.Sub(now); left < 2*step {
				t = now.Add(left / 2)
			}
			if t.Before(next) {
				next = t
			}
		}
	}
	if next.Before(now) {
		next = now
	}
	return next
}
