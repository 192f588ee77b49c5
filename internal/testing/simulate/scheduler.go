package simulate

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// scheduler is the connector's scheduler: internal/schedule's
// Config.NextAfter plans each connection (keeping its place, or at its
// phase, stretched by the load, never past expiry − REFRESH_SAFETY_MARGIN)
// and Config.Decide chooses what a sweep with more due than room
// refreshes (most urgent first; the rest stay due, as the real sweep
// leaves them): the functions the sweep calls.
// The load it plans with is the one the sweep infers (ObserveLoad) from
// the due connections it read and the due index's item count.
type scheduler struct {
	cfg                 schedule.Config
	load                schedule.Load // the last sweep's (ObserveLoad)
	prefix              string
	retryBase, retryMax time.Duration
	signUpAtInterval    bool
	buf                 []byte
	ids                 []byte // the ids of decide's due connections
	ends                []int  // where each ends in ids
	out                 []dueConn
	due                 []schedule.Due
}

// Config is the scheduling configuration of s, as the refresh function
// builds it.
func (s Scenario) Config() schedule.Config {
	return schedule.Config{
		Interval: s.Interval, SafetyMargin: s.Margin, RefreshTokenLifetime: s.Lifetime,
		RateLimit: s.Rate, SweepPeriod: s.Period, WorkingTime: schedule.WorkingTime(s.Timeout, s.Reserve),
	}
}

func newScheduler(s Scenario) *scheduler {
	return &scheduler{cfg: s.Config(), prefix: s.idPrefix(), retryBase: s.RetryBase, retryMax: s.RetryMax, signUpAtInterval: s.SignUpsAtInterval}
}

// warm makes the scheduler a process that has swept a steady state of n
// connections: it plans with their load from the start.
func (p *scheduler) warm(n int) { p.load = schedule.Load{Connections: n} }

// ID is connection i's id: the prefix and at least six digits.
func ID(prefix string, i int32) string { return string(appendID(nil, prefix, i)) }

func appendID(b []byte, prefix string, i int32) []byte {
	b = append(b, prefix...)
	for d := int32(100_000); d > 1 && i < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(i), 10)
}

// tmpID is id i in a buffer reused by the next call (for functions that do
// not keep it).
func (p *scheduler) tmpID(i int32) string {
	p.buf = appendID(p.buf[:0], p.prefix, i)
	return unsafe.String(unsafe.SliceData(p.buf), len(p.buf))
}

func (p *scheduler) plan(id int32, planned, now, exp time.Duration) time.Duration {
	var after time.Time
	if planned != noPlan {
		after = at(planned)
	}
	return since(p.cfg.NextAfter(p.tmpID(id), after, at(now), time.Time{}, at(exp), p.load))
}

// signUp plans a new connection as plan does, or, with
// Scenario.SignUpsAtInterval, as a process that never swept does (no load
// known: on its phase within Interval).
func (p *scheduler) signUp(id int32, now, exp time.Duration) time.Duration {
	if !p.signUpAtInterval {
		return p.plan(id, noPlan, now, exp)
	}
	return since(p.cfg.Next(p.tmpID(id), at(now), time.Time{}, at(exp), schedule.Load{}))
}

func (p *scheduler) retry(_ int32, now, exp time.Duration, failures int) time.Duration {
	return backoff(now, exp, failures, p.retryBase, p.retryMax)
}

func (p *scheduler) indexOrder() bool { return false }

func (p *scheduler) decide(now time.Duration, due []dueConn, capacity, indexed int) int {
	// The ids are written into one buffer, reused by the next decide:
	// Decide keeps none of them, and index reads them back at once.
	p.ids, p.ends = p.ids[:0], p.ends[:0]
	for _, d := range due {
		p.ids = appendID(p.ids, p.prefix, d.id)
		p.ends = append(p.ends, len(p.ids))
	}
	p.due = p.due[:0]
	from := 0
	for i, d := range due {
		id := unsafe.String(unsafe.SliceData(p.ids[from:]), p.ends[i]-from)
		from = p.ends[i]
		p.due = append(p.due, schedule.Due{ID: id, NextRefreshAt: at(d.next), RefreshExpiry: at(d.exp)})
	}
	// The load, as pkg/gotoauth's sweep infers it, then its decision.
	p.load = p.cfg.ObserveLoad(p.due, at(now), indexed)
	dec := p.cfg.Decide(p.due, capacity, at(now))
	// Refresh first, in its order; the others (Replan and Kept: the real
	// sweep writes neither) after.
	out := due[:0:0]
	if cap(p.out) >= len(due) {
		out = p.out[:0]
	}
	for _, d := range dec.Refresh {
		out = append(out, dueConn{id: p.index(d.ID)})
	}
	for _, r := range dec.Replan {
		out = append(out, dueConn{id: p.index(r.ID)})
	}
	for _, d := range dec.Kept {
		out = append(out, dueConn{id: p.index(d.ID)})
	}
	copy(due, out)
	p.out = out
	return len(dec.Refresh)
}

func (p *scheduler) index(id string) int32 {
	i, err := strconv.Atoi(id[len(p.prefix):])
	if err != nil {
		panic("simulate: not a simulated id: " + id)
	}
	return int32(i)
}
