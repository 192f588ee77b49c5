package schedule

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

// fullSortDecide is Decide as it was before it ordered only what its
// decision depends on: a stable sort of every due connection, then the same
// split. The tests hold Decide to it.
func fullSortDecide(c Config, due []Due, capacity int, now time.Time) Decision {
	c = c.WithDefaults()
	sort.SliceStable(due, func(i, j int) bool {
		a, b := due[i], due[j]
		if a.RefreshExpiry.IsZero() != b.RefreshExpiry.IsZero() {
			return b.RefreshExpiry.IsZero()
		}
		if !a.RefreshExpiry.Equal(b.RefreshExpiry) {
			return a.RefreshExpiry.Before(b.RefreshExpiry)
		}
		if !a.NextRefreshAt.Equal(b.NextRefreshAt) {
			return a.NextRefreshAt.Before(b.NextRefreshAt)
		}
		return a.ID < b.ID
	})
	if capacity < 0 || capacity > len(due) {
		capacity = len(due)
	}
	d := Decision{Refresh: due[:capacity:capacity]}
	per := max(c.PerSweep(), 1)
	for k, conn := range due[capacity:] {
		at := now.Add(time.Duration(k/per+1) * c.SweepPeriod)
		if dl := c.Deadline(conn.RefreshExpiry); !dl.IsZero() && dl.Before(at) {
			at = dl
		}
		if !at.After(now) || !at.After(conn.NextRefreshAt) {
			d.Kept = append(d.Kept, conn)
			continue
		}
		d.Replan = append(d.Replan, Replan{ID: conn.ID, At: at})
	}
	return d
}

// randomDue is n due connections like a sweep after an outage reads:
// expiries from long past their deadline to weeks away, some unknown, some
// equal (same expiry, same next_refresh_at, ties broken by id), in a
// shuffled order.
func randomDue(rng *rand.Rand, n int) []Due {
	due := make([]Due, n)
	for i := range due {
		d := Due{ID: fmt.Sprintf("c%06d", rng.IntN(10*n+1)), NextRefreshAt: t0.Add(-time.Duration(rng.IntN(96)) * time.Hour)}
		switch r := rng.IntN(10); {
		case r == 0: // unknown expiry
		case r < 3: // a handful of equal expiries
			d.RefreshExpiry = t0.Add(time.Duration(60+rng.IntN(3)) * time.Hour)
			d.NextRefreshAt = t0.Add(-time.Duration(rng.IntN(2)) * time.Hour)
		default: // from past the margin to 30 days away, to the nanosecond
			d.RefreshExpiry = t0.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		}
		due[i] = d
	}
	return due
}

// Decide picks the same connections in the same order as a full sort, and
// replans or keeps every other one the same; Urgent is the full sort.
func TestDecideAsFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 16))
	c := Config{RateLimit: 1, WorkingTime: 50 * time.Second} // 50 a sweep
	for round := 0; round < 300; round++ {
		n := rng.IntN(3000)
		if round < 20 {
			n = round
		}
		capacity := rng.IntN(n+2) - 1 // -1 (all) to n
		if round%3 == 0 {
			capacity = min(capacity, n/20) // far more due than room
		}
		due := randomDue(rng, n)
		ref := append([]Due(nil), due...)
		urgent := append([]Due(nil), due...)
		now := t0.Add(time.Duration(rng.IntN(48)) * time.Hour)
		want := fullSortDecide(c, ref, capacity, now)
		got := c.Decide(due, capacity, now)
		if !same(got.Refresh, want.Refresh) {
			t.Fatalf("round %d (%d due, capacity %d): refresh order differs from the full sort", round, n, capacity)
		}
		if !reflect.DeepEqual(replans(got), replans(want)) || !reflect.DeepEqual(kept(got), kept(want)) {
			t.Fatalf("round %d (%d due, capacity %d): replans or kept differ from the full sort", round, n, capacity)
		}
		if !reflect.DeepEqual(sortedIDs(due[len(got.Refresh):]), sortedIDs(ref[len(want.Refresh):])) {
			t.Fatalf("round %d: due[len(Refresh):] is not what is left", round)
		}
		Urgent(urgent)
		if !same(urgent, ref) {
			t.Fatalf("round %d (%d due): Urgent differs from the full sort", round, n)
		}
	}
}

// same compares in order (nil and empty alike).
func same(a, b []Due) bool { return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b) }

func replans(d Decision) map[string][]time.Time {
	m := map[string][]time.Time{}
	for _, r := range d.Replan {
		m[r.ID] = append(m[r.ID], r.At)
	}
	for _, ats := range m {
		sort.Slice(ats, func(i, j int) bool { return ats[i].Before(ats[j]) })
	}
	return m
}

func kept(d Decision) []string { return sortedIDs(d.Kept) }

func sortedIDs(due []Due) []string {
	ids := make([]string, 0, len(due))
	for _, d := range due {
		ids = append(ids, d.ID+"@"+d.RefreshExpiry.String()+"@"+d.NextRefreshAt.String())
	}
	sort.Strings(ids)
	return ids
}

// A sweep after a long outage: a million due, most past their deadline,
// 5,800 a sweep. Decide does it without sorting the million.
func BenchmarkDecideBacklog(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 16))
	c := Config{RateLimit: 10, WorkingTime: 580 * time.Second}
	due := randomDue(rng, 1_000_000)
	work := make([]Due, len(due))
	b.ResetTimer()
	for b.Loop() {
		copy(work, due)
		c.Decide(work, c.PerSweep(), t0)
	}
}
