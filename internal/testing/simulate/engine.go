package simulate

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/schedule"
)

// A connection's state.
const (
	free   uint8 = iota // slot unused (left, or never used)
	active              // refreshed by the sweep
)

// Where a connection waits, besides a sweep of the wheel.
const (
	nowhere   int32 = -1 // beyond the horizon, or gone
	inBacklog int32 = -2 // due, left by an earlier sweep
)

// conn is one connection's state, in one place: a sweep that touches a
// connection finds all of it in one cache line.
type conn struct {
	exp   time.Duration // refresh token's expiry
	next  time.Duration // next_refresh_at
	slot  int32         // sweep it waits for, or nowhere / inBacklog
	fails uint8         // transient failures in a row
	state uint8
	// placed: refreshed since it signed up, so it has a place to keep
	placed bool
}

// engine is one run: the connections indexed by id,
// the wheel of sweeps (wheel[k]: ids due at sweep k; an entry is valid
// while slot[id] == k), the due connections earlier sweeps left, and the
// histogram of refresh-token expiries that gives the smallest life left.
type engine struct {
	s   Scenario
	p   policy
	cap int // refreshes per sweep

	c     []conn  // by id
	spare []int32 // free slots
	count int     // active connections

	wheel   [][]int32
	backlog []int32  // due, left in index order (today's sweep)
	waitq   waitHeap // due, left by a sweep (the scheduler)
	waiting int      // valid entries of waitq
	read    int      // due connections a sweep reads (DueReadLimit)
	// indexed is the due index's item count as DynamoDB reports it,
	// counted at countedAt (see Scenario.IndexCountEvery).
	indexed   int
	countedAt time.Duration
	minNext   int // the earliest sweep a new plan may join

	hw     time.Duration // histogram bin
	hist   []int32       // active connections by expiry bin
	minBin int           // bins below are past (their connections counted as expired)

	rng           *rand.Rand
	leave, arrive float64 // churn carried between sweeps
	due           []dueConn
	take          []int32
	snap          []conn // the states of take's connections
	res           *Result
}

func newEngine(s Scenario) *engine {
	n := s.Connections
	e := &engine{
		s: s, cap: s.Capacity(), read: s.Config().DueReadLimit(),
		c:     make([]conn, n),
		wheel: make([][]int32, s.Sweeps()+1),
		hw:    max(s.Period/15, time.Millisecond),
		rng:   rand.New(rand.NewPCG(16, uint64(n))),
	}
	if s.Baseline {
		e.p = newBaseline(s)
	} else {
		e.p = newScheduler(s)
	}
	e.count, e.indexed = n, n
	e.hist = make([]int32, int((s.Horizon+s.Lifetime)/e.hw)+2)
	bins := int(s.Horizon / s.Bin)
	e.res = &Result{Scenario: s, Capacity: e.cap, MinLife: math.MaxInt64, MinLifeAtRefresh: math.MaxInt64, Series: make([]Point, bins)}
	for b := range e.res.Series {
		e.res.Series[b] = Point{At: time.Duration(b) * s.Bin, MinLife: -1}
	}
	// The connections at the start: tokens issued evenly over the window,
	// or, for the scheduler by default, in its steady state: each one last
	// refreshed on its own phase within the last effective interval.
	from, to := s.issued()
	sched, steady := e.p.(*scheduler)
	steady = steady && s.IssuedFrom == 0 && s.IssuedTo == 0
	eff := s.Config().Effective(n)
	if steady {
		sched.warm(n)
	}
	for i := 0; i < n; i++ {
		issued, planned := from+time.Duration((float64(i)+0.5)*float64(to-from)/float64(n)), noPlan
		if steady {
			// Refreshed at its place, last time: the plan it answered.
			issued = since(sched.cfg.Next(sched.tmpID(int32(i)), at(-eff), time.Time{}, time.Time{}, schedule.Load{Connections: n}))
			planned = issued
		}
		e.c[i].exp = issued + s.Lifetime
		e.c[i].state, e.c[i].placed = active, steady
		e.hist[e.bin(e.c[i].exp)]++
		if steady {
			e.schedule(int32(i), e.p.plan(int32(i), planned, issued, e.c[i].exp), true)
		} else {
			e.schedule(int32(i), e.p.signUp(int32(i), issued, e.c[i].exp), true)
		}
	}
	return e
}

func (e *engine) bin(t time.Duration) int { return int(t / e.hw) }

// schedule puts id in the sweep that finds it due at next; planned (not a
// retry after a failure) counts it in the load of next's bin.
func (e *engine) schedule(id int32, next time.Duration, planned bool) {
	e.c[id].next = next
	if planned && next >= 0 && next < e.s.Horizon {
		e.res.Series[next/e.s.Bin].Load++
	}
	k := int((next + e.s.Period - 1) / e.s.Period)
	if next < 0 {
		k = 0
	}
	k = max(k, e.minNext)
	if k >= len(e.wheel) {
		e.c[id].slot = nowhere
		return
	}
	e.wheel[k] = append(e.wheel[k], id)
	e.c[id].slot = int32(k)
}

// signUp adds a connection connected at now.
func (e *engine) signUp(now time.Duration) {
	var id int32
	if n := len(e.spare); n > 0 {
		id, e.spare = e.spare[n-1], e.spare[:n-1]
	} else {
		id = int32(len(e.c))
		e.c = append(e.c, conn{slot: nowhere})
	}
	e.c[id].exp, e.c[id].fails, e.c[id].state, e.c[id].placed = now+e.s.Lifetime, 0, active, false
	e.count++
	e.hist[e.bin(e.c[id].exp)]++
	e.schedule(id, e.p.signUp(id, now, e.c[id].exp), true)
}

// drop removes id (it left, or its refresh token expired).
func (e *engine) drop(id int32) {
	if e.c[id].slot == inBacklog && !e.p.indexOrder() {
		e.waiting--
	}
	if b := e.bin(e.c[id].exp); b >= e.minBin {
		e.hist[b]--
	}
	e.c[id].state, e.c[id].slot = free, nowhere
	e.spare = append(e.spare, id)
	e.count--
}

// passTo counts, up to t, the connections whose refresh tokens expired
// unrefreshed, and returns the smallest life left at t.
func (e *engine) passTo(t time.Duration) time.Duration {
	for e.minBin < len(e.hist) && (e.hist[e.minBin] == 0 || time.Duration(e.minBin+1)*e.hw <= t) {
		e.res.Expired += int(e.hist[e.minBin])
		e.hist[e.minBin] = 0
		e.minBin++
	}
	return max(time.Duration(e.minBin)*e.hw-t, 0)
}

// arrivals signs up the bursts' and the churn's connections of (from, to].
func (e *engine) arrivals(from, to time.Duration) {
	for _, b := range e.s.Bursts {
		step := float64(b.Over) / float64(b.N)
		for i := max(0, int(float64(from-b.At)/step-1)); i < b.N; i++ {
			t := b.At + time.Duration((float64(i)+0.5)*step)
			if t > to {
				break
			}
			if t > from {
				e.signUp(t)
			}
		}
	}
	if e.s.Churn <= 0 {
		return
	}
	share := e.s.Churn * float64(to-from) / float64(e.s.Day)
	e.leave += share * float64(e.count)
	e.arrive += share * float64(e.count)
	for ; e.leave >= 1; e.leave-- {
		for tries := 0; tries < 64; tries++ {
			id := int32(e.rng.IntN(len(e.c)))
			if e.c[id].state == active {
				e.drop(id)
				break
			}
		}
	}
	n := int(e.arrive)
	for i := 0; i < n; i++ {
		e.signUp(from + time.Duration((float64(i)+0.5)*float64(to-from)/float64(n)))
	}
	e.arrive -= float64(n)
}
