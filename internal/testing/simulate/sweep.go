package simulate

import (
	"time"
)

// sweep runs sweep k at t: it gathers the due connections (those earlier
// sweeps left first, then the wheel's), lets the policy choose, and
// refreshes them one per 1/Rate.
func (e *engine) sweep(k int, t time.Duration) {
	e.minNext = k + 1
	e.take = e.take[:0]
	if e.p.indexOrder() {
		// The due index's order: ascending next_refresh_at; what is left
		// stays due, first in line next time.
		for _, id := range e.wheel[k] {
			if e.slot[id] == int32(k) && e.state[id] == active {
				e.slot[id] = inBacklog
				e.backlog = append(e.backlog, id)
			}
		}
		e.wheel[k] = nil
		i := 0
		for ; i < len(e.backlog) && len(e.take) < e.cap; i++ {
			if id := e.backlog[i]; e.slot[id] == inBacklog && e.state[id] == active {
				e.take = append(e.take, id)
				e.slot[id] = nowhere
			}
		}
		e.backlog = e.backlog[:copy(e.backlog, e.backlog[i:])]
	} else {
		e.due = e.due[:0]
		add := func(id int32) {
			e.slot[id] = nowhere
			e.due = append(e.due, dueConn{id: id, next: e.next[id], exp: e.exp[id]})
		}
		for _, id := range e.backlog {
			if e.slot[id] == inBacklog && e.state[id] == active {
				add(id)
			}
		}
		e.backlog = e.backlog[:0]
		for _, id := range e.wheel[k] {
			if e.slot[id] == int32(k) && e.state[id] == active {
				add(id)
			}
		}
		e.wheel[k] = nil
		n, replan := e.p.decide(t, e.due, e.cap)
		for _, d := range e.due[:n] {
			e.take = append(e.take, d.id)
		}
		for i, d := range e.due[n:] {
			if replan[i] <= t {
				e.slot[d.id] = inBacklog
				e.backlog = append(e.backlog, d.id)
			} else {
				e.schedule(d.id, replan[i], false)
			}
		}
	}
	if len(e.backlog) > 0 {
		e.res.DeferredSweeps++
		e.res.MaxBacklog = max(e.res.MaxBacklog, len(e.backlog))
	}
	pt := &e.res.Series[t/e.s.Bin]
	for j, id := range e.take {
		tr := t + time.Duration(float64(j)/e.s.Rate*float64(time.Second))
		switch exp := e.exp[id]; {
		case exp <= tr:
			// GoTo refuses it (invalid_grant): the connection needs its
			// customer again.
			if b := e.bin(exp); b >= e.minBin {
				e.res.Expired++
			}
			e.drop(id)
		case e.s.down(tr):
			pt.Failed++
			e.res.Failures++
			if e.fails[id] < 255 {
				e.fails[id]++
			}
			e.schedule(id, e.p.retry(id, tr, exp, int(e.fails[id])), false)
		default:
			e.res.MinLife = min(e.res.MinLife, exp-tr)
			e.res.MinLifeAtRefresh = min(e.res.MinLifeAtRefresh, exp-tr)
			e.hist[e.bin(exp)]--
			exp = tr + e.s.Lifetime
			e.exp[id], e.fails[id] = exp, 0
			e.hist[e.bin(exp)]++
			pt.Done++
			e.res.Refreshes++
			e.schedule(id, e.p.plan(id, tr, exp), true)
		}
	}
}
