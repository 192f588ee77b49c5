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
			if e.c[id].slot == int32(k) && e.c[id].state == active {
				e.c[id].slot = inBacklog
				e.backlog = append(e.backlog, id)
			}
		}
		e.wheel[k] = nil
		i := 0
		for ; i < len(e.backlog) && len(e.take) < e.cap; i++ {
			if id := e.backlog[i]; e.c[id].slot == inBacklog && e.c[id].state == active {
				e.take = append(e.take, id)
				e.c[id].slot = nowhere
			}
		}
		e.backlog = e.backlog[:copy(e.backlog, e.backlog[i:])]
	} else {
		// What the real sweep does (pkg/gotoauth's sweepDue): it reads at
		// most DueReadLimit of the due connections, the oldest
		// next_refresh_at first, lets Decide choose the most urgent it has
		// room for, and leaves the others due as they are. The due ones
		// earlier sweeps left wait in a heap in next_refresh_at order; a
		// sweep with none waiting and no more due than it reads takes the
		// wheel's as they are.
		e.due = e.due[:0]
		add := func(id int32) {
			e.c[id].slot = nowhere
			e.due = append(e.due, dueConn{id: id, next: e.c[id].next, exp: e.c[id].exp})
		}
		for _, id := range e.wheel[k] {
			if e.c[id].slot == int32(k) && e.c[id].state == active {
				add(id)
			}
		}
		e.wheel[k] = nil
		if e.waiting > 0 || len(e.due) > e.read {
			for _, d := range e.due {
				e.wait(d.id)
			}
			e.due = e.due[:0]
			for len(e.due) < e.read && len(e.waitq) > 0 {
				top := heap.Pop(&e.waitq).(waitingConn)
				if e.isWaiting(top) {
					e.waiting--
					add(top.id)
				}
			}
		}
		if every := e.s.IndexCountEvery; every <= 0 || t >= e.countedAt+every {
			e.indexed, e.countedAt = e.count, t
		}
		n := e.p.decide(t, e.due, e.cap, e.indexed)
		for _, d := range e.due[:n] {
			e.take = append(e.take, d.id)
		}
		for _, d := range e.due[n:] {
			e.wait(d.id)
		}
	}
	if left := len(e.backlog) + e.waiting; left > 0 {
		e.res.DeferredSweeps++
		e.res.MaxBacklog = max(e.res.MaxBacklog, left)
	}
	pt := &e.res.Series[t/e.s.Bin]
	// The chosen connections' states first, in one pass: their reads
	// overlap, where the refresh loop would wait for each in turn.
	e.snap = e.snap[:0]
	for _, id := range e.take {
		e.snap = append(e.snap, e.c[id])
	}
	for j, id := range e.take {
		tr := t + time.Duration(float64(j)/e.s.Rate*float64(time.Second))
		c := e.snap[j]
		switch exp := c.exp; {
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
			fails := c.fails
			if fails < 255 {
				fails++
			}
			e.c[id].fails = fails
			e.schedule(id, e.p.retry(id, tr, exp, int(fails)), false)
		default:
			e.res.MinLife = min(e.res.MinLife, exp-tr)
			e.res.MinLifeAtRefresh = min(e.res.MinLifeAtRefresh, exp-tr)
			planned := c.next
			if c.fails > 0 || !c.placed {
				planned = noPlan
			}
			e.hist[e.bin(exp)]--
			exp = tr + e.s.Lifetime
			e.c[id].exp, e.c[id].fails, e.c[id].placed = exp, 0, true
			e.hist[e.bin(exp)]++
			pt.Done++
			e.res.Refreshes++
			e.schedule(id, e.p.plan(id, planned, tr, exp), true)
		}
	}
}

// waitingConn is a due connection a sweep left, with the next_refresh_at
// it was left with: the heap's order is the due index's (next_refresh_at,
// then id).
type waitingConn struct {
	next time.Duration
	id   int32
}

// waitHeap is a min-heap of waiting connections, oldest plan first.
type waitHeap []waitingConn

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].next != h[j].next {
		return h[i].next < h[j].next
	}
	return h[i].id < h[j].id
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)   { *h = append(*h, x.(waitingConn)) }
func (h *waitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// wait leaves id due, as it is, for the next sweeps.
func (e *engine) wait(id int32) {
	e.c[id].slot = inBacklog
	e.waiting++
	heap.Push(&e.waitq, waitingConn{next: e.c[id].next, id: id})
}

// isWaiting reports whether w is still a waiting connection (not gone,
// and not a slot reused by a later sign-up).
func (e *engine) isWaiting(w waitingConn) bool {
	c := e.c[w.id]
	return c.slot == inBacklog && c.state == active && c.next == w.next
}
