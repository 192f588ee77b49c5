package gotoauth

import (
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// Schedule decides when a connection is refreshed next. Its zero value uses
// the defaults of the connector's configuration. The decisions themselves
// are internal/schedule's (the same functions make simulate runs).
type Schedule struct {
	// Interval is REFRESH_INTERVAL (default 24h): how long after a refresh
	// the next one is planned while the load fits GoTo's limit. When it
	// does not, the sweep stretches it up to RefreshTokenLifetime minus
	// SafetyMargin (see internal/schedule).
	Interval time.Duration
	// AccessTokenAhead, when positive, also refreshes this long before the
	// access token expires (ACCESS_TOKEN_REFRESH_AHEAD, default off).
	AccessTokenAhead time.Duration
	// RefreshTokenLifetime is a refresh token's life from issue
	// (REFRESH_TOKEN_LIFETIME, default 720h, GoTo's 30 days).
	RefreshTokenLifetime time.Duration
	// SafetyMargin is REFRESH_SAFETY_MARGIN (default 72h, a tenth of the
	// lifetime when that is shorter): no refresh is planned later than this
	// before the refresh token expires.
	SafetyMargin time.Duration
}

// config is the schedule as internal/schedule takes it.
func (s Schedule) config() schedule.Config {
	return schedule.Config{
		Interval:             s.Interval,
		AccessTokenAhead:     s.AccessTokenAhead,
		RefreshTokenLifetime: s.RefreshTokenLifetime,
		SafetyMargin:         s.SafetyMargin,
	}.WithDefaults()
}

// RefreshTokenExpiry is when a refresh token issued at issued expires.
func (s Schedule) RefreshTokenExpiry(issued time.Time) time.Time {
	return issued.Add(s.config().RefreshTokenLifetime)
}

// Next returns when connection id, whose tokens were written at now, should
// be refreshed when nothing is known of the load: on the connection's
// phase (a hash of its id) within Interval after now, so that connections
// created together spread over the interval; AccessTokenAhead before the
// access token expires when that is on; and in any case SafetyMargin
// before the refresh token expires. Inside the margin (a refresh token GoTo
// did not replace) it tries again every hundredth of the life, and once
// more halfway to the expiry, rather than at every sweep.
func (s Schedule) Next(id string, now, accessExpiry, refreshExpiry time.Time) time.Time {
	return s.config().Next(id, now, accessExpiry, refreshExpiry, schedule.Load{})
}
