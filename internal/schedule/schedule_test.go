package schedule

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// The capacity arithmetic of the template's defaults: 10 calls/s, a 900 s
// function keeping the sweep's 5 min 20 s reserve, a sweep every 15 minutes.
func TestCapacityOfTheDefaults(t *testing.T) {
	c := Config{RateLimit: 10, WorkingTime: WorkingTime(900*time.Second, 320*time.Second)}
	if got := c.PerSweep(); got != 5800 {
		t.Errorf("PerSweep = %d, want 5800", got)
	}
	if got := c.PerDay(); got != 556800 {
		t.Errorf("PerDay = %d, want 556800 (96 sweeps of 5800)", got)
	}
	// A sweep longer than its period cannot do more than the limit a day.
	long := Config{RateLimit: 10, WorkingTime: time.Hour, SweepPeriod: 15 * time.Minute}
	if got := long.PerDay(); got != 864000 {
		t.Errorf("PerDay bounded by the limit = %d, want 864000", got)
	}
	if got := (Config{}).PerSweep(); got != Unlimited {
		t.Errorf("no limit: PerSweep = %d, want Unlimited", got)
	}
	if got := WorkingTime(60*time.Second, 320*time.Second); got != 0 {
		t.Errorf("WorkingTime of a too short timeout = %v, want 0", got)
	}
}

// The interval stays REFRESH_INTERVAL while the load fits, stretches when it
// does not, and never passes lifetime − margin.
func TestEffectiveInterval(t *testing.T) {
	c := Config{RateLimit: 10, WorkingTime: 580 * time.Second}
	if got := c.Effective(100_000); got != 24*time.Hour {
		t.Errorf("100,000: %v, want 24h", got)
	}
	// 1 million at 556,800 a day, 80 % of it: 2.245 days.
	got := c.Effective(1_000_000)
	days := 1_000_000 / (0.8 * 556800)
	want := time.Duration(days * float64(24*time.Hour))
	if got != want || got < 53*time.Hour || got > 54*time.Hour {
		t.Errorf("1 million: %v, want %v", got, want)
	}
	if !c.Fits(1_000_000) {
		t.Error("1 million should fit")
	}
	// 20 million need 45 days: capped at 30 days − 72h, and reported.
	if got := c.Effective(20_000_000); got != 27*24*time.Hour {
		t.Errorf("20 million: %v, want 648h", got)
	}
	if c.Fits(20_000_000) {
		t.Error("20 million should not fit")
	}
}

func TestNextKeepsThePlace(t *testing.T) {
	c := Config{}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("c%d", i)
		now := t0.Add(time.Duration(i) * 37 * time.Second)
		next := c.Next(id, now, time.Time{}, time.Time{}, Load{})
		if !next.After(now) || next.After(now.Add(24*time.Hour)) {
			t.Fatalf("%s: next %v not in (now, now+24h]", id, next)
		}
		// Refreshed on time (or a little late), it is planned exactly one
		// interval after its plan.
		for _, late := range []time.Duration{0, 14 * time.Minute, 3 * time.Hour} {
			if again := c.NextAfter(id, next, next.Add(late), time.Time{}, time.Time{}, Load{}); again.Sub(next) != 24*time.Hour {
				t.Fatalf("%s: refreshed %v after its plan, next is %v after the plan, want 24h", id, late, again.Sub(next))
			}
		}
		// Days late (a backlog), it goes back to its place.
		if again := c.NextAfter(id, next, next.Add(50*time.Hour), time.Time{}, time.Time{}, Load{}); again.Sub(next) != 72*time.Hour {
			t.Fatalf("%s: refreshed 50 h late, next is %v after the plan, want 72h", id, again.Sub(next))
		}
		// Early (on demand), it keeps its plan.
		if again := c.NextAfter(id, next, next.Add(-time.Hour), time.Time{}, time.Time{}, Load{}); !again.Equal(next) {
			t.Fatalf("%s: refreshed an hour early, next moved by %v", id, again.Sub(next))
		}
	}
}

// When the load grows by 1% (the effective interval 1% longer), a
// connection refreshed on time or late keeps its place: it is planned a
// whole number of new intervals after its plan. On a grid anchored at a
// fixed epoch it would move to anywhere within the next interval, which
// nearly doubles the refreshes of the interval after a growth.
func TestNextAfterKeepsItsPlaceWhenTheIntervalChanges(t *testing.T) {
	c := Config{RateLimit: 10, WorkingTime: 580 * time.Second}
	before, after := Load{Connections: 10_000_000}, Load{Connections: 10_100_000}
	i1, i2 := c.Effective(before.Connections), c.Effective(after.Connections)
	if i2 <= i1 || i2 > i1+i1/50 {
		t.Fatalf("effective intervals %v then %v: want about 1%% longer", i1, i2)
	}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("conn-%07d", i)
		planned := c.Next(id, t0, time.Time{}, time.Time{}, before)
		for _, late := range []time.Duration{0, 19 * time.Minute, 3 * 24 * time.Hour} {
			if got := c.NextAfter(id, planned, planned.Add(late), time.Time{}, time.Time{}, after); !got.Equal(planned.Add(i2)) {
				t.Fatalf("%s refreshed %v late: next %v after its plan, want %v", id, late, got.Sub(planned), i2)
			}
		}
	}
}

// 10,000 connections created in the same second are spread over the
// interval: no tenth of it holds more than twice its share.
func TestBurstIsSpread(t *testing.T) {
	c := Config{}
	var tenths [10]int
	for i := 0; i < 10_000; i++ {
		next := c.Next(fmt.Sprintf("conn-%05d", i), t0, time.Time{}, time.Time{}, Load{})
		tenths[int(next.Sub(t0)*10/(24*time.Hour+1))]++
	}
	for i, n := range tenths {
		if n > 2*1000 || n < 500 {
			t.Errorf("tenth %d holds %d of 10,000 (%v)", i, n, tenths)
		}
	}
}

func TestNextBounds(t *testing.T) {
	c := Config{AccessTokenAhead: 10 * time.Minute}
	// The access token's expiry comes first.
	if got := c.Next("a", t0, t0.Add(time.Hour), time.Time{}, Load{}); got.After(t0.Add(50 * time.Minute)) {
		t.Errorf("access ahead: %v, want at most 50 min", got.Sub(t0))
	}
	// Never later than the margin before the refresh expiry.
	exp := t0.Add(80 * time.Hour)
	for i := 0; i < 100; i++ {
		got := (Config{}).Next(fmt.Sprint(i), t0, time.Time{}, exp, Load{})
		if got.After(exp.Add(-72 * time.Hour)) {
			t.Fatalf("%d: %v is past expiry − 72h", i, got)
		}
	}
	// Inside the margin: a hundredth of the life, then halfway.
	in := (Config{}).Next("x", t0, time.Time{}, t0.Add(48*time.Hour), Load{})
	if in.Sub(t0) > 7*time.Hour+12*time.Minute {
		t.Errorf("inside the margin: %v, want at most 7h12m", in.Sub(t0))
	}
	if got := (Config{}).Next("x", t0, time.Time{}, t0.Add(time.Hour), Load{}); !got.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("an hour left: %v, want 30m", got.Sub(t0))
	}
	// A short lifetime keeps a tenth of it as margin.
	if m := (Config{RefreshTokenLifetime: time.Minute}).WithDefaults().SafetyMargin; m != 6*time.Second {
		t.Errorf("margin of a 1 min lifetime = %v, want 6s", m)
	}
}

// When more is due than a sweep can do, the earliest refresh-token expiries
// go first and the rest are spread over the next sweeps, never past their
// deadline.
func TestDecideMostUrgentFirst(t *testing.T) {
	c := Config{RateLimit: 1, WorkingTime: 2 * time.Second} // 2 a sweep
	due := []Due{
		{ID: "late", NextRefreshAt: t0.Add(-time.Hour), RefreshExpiry: t0.Add(20 * 24 * time.Hour)},
		{ID: "urgent", NextRefreshAt: t0, RefreshExpiry: t0.Add(74 * time.Hour)},
		{ID: "unknown", NextRefreshAt: t0.Add(-2 * time.Hour)},
		{ID: "past", NextRefreshAt: t0, RefreshExpiry: t0.Add(10 * time.Hour)},
		{ID: "mid", NextRefreshAt: t0, RefreshExpiry: t0.Add(10 * 24 * time.Hour)},
		{ID: "mid2", NextRefreshAt: t0, RefreshExpiry: t0.Add(11 * 24 * time.Hour)},
	}
	d := c.Decide(due, 2, t0)
	if len(d.Refresh) != 2 || d.Refresh[0].ID != "past" || d.Refresh[1].ID != "urgent" {
		t.Fatalf("refresh = %+v, want past, urgent", d.Refresh)
	}
	want := map[string]time.Duration{"mid": 15 * time.Minute, "mid2": 15 * time.Minute, "late": 30 * time.Minute, "unknown": 30 * time.Minute}
	if len(d.Replan) != 4 || len(d.Kept) != 0 {
		t.Fatalf("replan %+v kept %+v", d.Replan, d.Kept)
	}
	for _, r := range d.Replan {
		if r.At.Sub(t0) != want[r.ID] {
			t.Errorf("%s replanned %v later, want %v", r.ID, r.At.Sub(t0), want[r.ID])
		}
	}
	// One already inside its margin stays due.
	d = c.Decide([]Due{{ID: "a", RefreshExpiry: t0.Add(time.Hour)}, {ID: "b", RefreshExpiry: t0.Add(2 * time.Hour)}}, 1, t0)
	if len(d.Kept) != 1 || d.Kept[0].ID != "b" {
		t.Errorf("kept = %+v, want b", d.Kept)
	}
}

func TestReport(t *testing.T) {
	c := Config{RateLimit: 10, WorkingTime: 580 * time.Second}
	due := []Due{{ID: "a", RefreshExpiry: t0.Add(100 * time.Hour)}, {ID: "b", RefreshExpiry: t0.Add(50 * time.Hour)}, {ID: "c"}}
	r := c.Report(due, t0, Load{Connections: 100_000})
	if r.CapacityPerDay != 556800 || r.CapacityPerSweep != 5800 || r.Load != 100_000 || !r.Fits || r.MinLifeLeftSeconds != 50*3600 || r.IntervalSeconds != 86400 {
		t.Errorf("report = %+v", r)
	}
	if r := c.Report(nil, t0, Load{}); r.MinLifeLeftSeconds != -1 {
		t.Errorf("no due: min life left %d, want -1", r.MinLifeLeftSeconds)
	}
}

// Phase is FNV-1a (hash/fnv's New64a) of the id and the instant's Unix
// nanoseconds (big-endian), then SplitMix64's finalizer: the same on every
// run and every machine.
func TestPhaseIsFNV1aThenSplitMix(t *testing.T) {
	for _, id := range []string{"", "a", "cust-0001", "cust-0002", "conn-10099999", "ünïcode"} {
		h := fnv.New64a()
		h.Write([]byte(id))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(t0.UnixNano())))
		x := h.Sum64()
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		if want := float64(x>>11) / float64(1<<53); Phase(id, t0) != want {
			t.Errorf("Phase(%q) = %v, want %v", id, Phase(id, t0), want)
		}
	}
	if got := Phase("cust-0001", t0); got < 0 || got >= 1 {
		t.Errorf("Phase out of [0, 1): %v", got)
	}
}

// The load a sweep plans with is the due index's count, or, when more,
// what the connections that came due within the last sweep period imply
// at Interval; a backlog (due longer) does not raise it.
func TestObserveLoad(t *testing.T) {
	c := Config{Interval: 24 * time.Hour, SweepPeriod: 15 * time.Minute}
	due := func(fresh, old int) []Due {
		var d []Due
		for i := 0; i < fresh; i++ {
			d = append(d, Due{ID: fmt.Sprint("f", i), NextRefreshAt: t0.Add(-time.Duration(i%900) * time.Second)})
		}
		for i := 0; i < old; i++ {
			d = append(d, Due{ID: fmt.Sprint("o", i), NextRefreshAt: t0.Add(-15*time.Minute - time.Duration(i)*time.Second)})
		}
		return d
	}
	for _, tc := range []struct {
		name              string
		fresh, old, index int
		want              int
	}{
		{"the count", 100, 0, 1_000_000, 1_000_000},
		{"no count: 100 newly due every 15 minutes at 24h", 100, 0, 0, 9_600},
		{"a count not yet updated (an import)", 10_000, 0, 1_000, 960_000},
		{"a backlog is not counted", 0, 50_000, 1_000, 1_000},
		{"nothing known", 0, 0, 0, 0},
	} {
		if got := c.ObserveLoad(due(tc.fresh, tc.old), t0, tc.index).Connections; got != tc.want {
			t.Errorf("%s: %d connections, want %d", tc.name, got, tc.want)
		}
	}
}
