package gotoauth

import (
	"sync/atomic"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// planning is what the store plans refreshes with beyond its Schedule: the
// capacity (rate limit, sweep working time) and the load the last sweep of
// this process observed. Without a sweep (the authorize and callback
// functions), refreshes are planned at Interval on each connection's phase.
type planning struct {
	cfg  schedule.Config
	load schedule.Load
}

// planState holds a Store's planning; the zero value plans at Interval.
type planState struct{ p atomic.Pointer[planning] }

// set records the capacity and the load a sweep observed.
func (ps *planState) set(cfg schedule.Config, load schedule.Load) {
	ps.p.Store(&planning{cfg: cfg, load: load})
}

// next plans connection id's next refresh after a refresh at now that
// answered the plan planned (zero: none; see schedule.Config.NextAfter).
func (s *Store) next(id string, planned, now, accessExpiry, refreshExpiry time.Time) time.Time {
	if p := s.planning.p.Load(); p != nil {
		return p.cfg.NextAfter(id, planned, now, accessExpiry, refreshExpiry, p.load)
	}
	return s.schedule.Next(id, now, accessExpiry, refreshExpiry)
}
