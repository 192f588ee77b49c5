package simulate

import (
	"container/heap"
	"time"
)

// sweep runs sweep k at t: it gathers the due connections (those earlier
// sweeps left, and the wheel's), lets the policy choose, and refreshes
// them one per 1/Rate.
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
		// The wheel's due connections, and the most urgent of those kept
		// past their deadline by earlier sweeps: as many as the sweep can
		// do, and every one tied with the last of them. The others kept
		// only stand in line (DecideBehind): Decide would keep them again.
		e.due = e.due[:0]
		add := func(id int32) {
			e.slot[id] = nowhere
			e.due = append(e.due, dueConn{id: id, next: e.next[id], exp: e.exp[id]})
		}
		for _, id := range e.wheel[k] {
			if e.slot[id] == int32(k) && e.state[id] == active {
				add(id)
			}
		}
		e.wheel[k] = nil
		var last keptConn
		for taken := 0; len(e.kept) > 0; {
			top := e.kept[0]
			if !e.isKept(top) {
				heap.Pop(&e.kept)
				continue
			}
			if !e.s.allKept && taken >= e.cap && (taken == 0 || top.exp != last.exp || top.next != last.next) {
				break
			}
			heap.Pop(&e.kept)
			e.waiting--
			add(top.id)
			last, taken = top, taken+1
		}
		n, replan := e.p.decide(t, e.due, e.cap, e.waiting)
		for _, d := range e.due[:n] {
			e.take = append(e.take, d.id)
		}
		for i, d := range e.due[n:] {
			if replan[i] <= t {
				e.keep(d.id)
			} else {
				e.schedule(d.id, replan[i], false)
			}
		}
	}
	if left := len(e.backlog) + e.waiting; left > 0 {
		e.res.DeferredSweeps++
		e.res.MaxBacklog = max(e.res.MaxBacklog, left)
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
			planned := e.next[id]
			if e.fails[id] > 0 {
				planned = noPlan
			}
			e.hist[e.bin(exp)]--
			exp = tr + e.s.Lifetime
			e.exp[id], e.fails[id] = exp, 0
			e.hist[e.bin(exp)]++
			pt.Done++
			e.res.Refreshes++
			e.schedule(id, e.p.plan(id, planned, tr, exp), true)
		}
	}
}

// keptConn is a connection a sweep kept due past its deadline, with the
// times it was kept with: the kept heap's order is the urgency order
// (schedule.Urgent: expiry, then next_refresh_at; the ids of ties are
// ordered by Decide, which is given every tie).
type keptConn struct {
	exp, next time.Duration
	id        int32
}

// keptHeap is a min-heap of kept connections, most urgent first.
type keptHeap []keptConn

func (h keptHeap) Len() int { return len(h) }
func (h keptHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.exp != b.exp {
		return a.exp < b.exp
	}
	if a.next != b.next {
		return a.next < b.next
	}
	return a.id < b.id
}
func (h keptHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *keptHeap) Push(x any)   { *h = append(*h, x.(keptConn)) }
func (h *keptHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// keep leaves id due, kept past its deadline, for the next sweeps.
func (e *engine) keep(id int32) {
	e.slot[id] = inBacklog
	e.waiting++
	heap.Push(&e.kept, keptConn{exp: e.exp[id], next: e.next[id], id: id})
}

// isKept reports whether c is still a kept connection (not gone, and not
// a slot reused by a later sign-up).
func (e *engine) isKept(c keptConn) bool {
	return e.slot[c.id] == inBacklog && e.state[c.id] == active && e.exp[c.id] == c.exp && e.next[c.id] == c.next
}
