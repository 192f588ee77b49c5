package simulate

import (
	"fmt"
	"math"
	"time"
)

// Result is what one scenario showed.
type Result struct {
	Scenario Scenario
	// Capacity is refreshes per sweep.
	Capacity int
	// PeakLoad is the largest hourly load (refreshes the schedule planned
	// for that hour after a refresh or a sign-up; not retries after
	// failures) as a share of what the sweeps of an hour can do; PeakAt is
	// that hour's start.
	PeakLoad float64
	PeakAt   time.Duration
	// MinLife is the smallest refresh-token life any active connection
	// had left, at any sweep or refresh; MinLifeAtRefresh the smallest a
	// refresh found (what a real run observes).
	MinLife, MinLifeAtRefresh time.Duration
	// PeakCalls is the largest hourly count of refresh calls (refreshed
	// and failed) as a share of capacity.
	PeakCalls float64
	// Expired counts connections whose refresh token expired unrefreshed.
	Expired int
	// Refreshes and Failures count refresh calls that succeeded and that
	// failed (GoTo down).
	Refreshes, Failures int
	// DeferredSweeps counts sweeps that left due connections behind;
	// MaxBacklog is the most they left.
	DeferredSweeps, MaxBacklog int
	// Active is how many connections were active at the end.
	Active int
	// Series has one point per Bin.
	Series []Point
	// Took is the run's wall time.
	Took time.Duration
}

// Point is one bin of the series.
type Point struct {
	At time.Duration
	// Load is the refreshes planned for the bin, Done those that
	// succeeded in it and Failed those that failed.
	Load, Done, Failed int
	// MinLife is the smallest refresh-token life left at the bin's sweeps
	// (-1: none ran).
	MinLife time.Duration
}

// Fits reports whether no connection expired and none came closer to its
// expiry than the safety margin allows for: the schedule fits.
func (r *Result) Fits() bool { return r.Expired == 0 }

// BinCapacity is what the sweeps of one bin can do.
func (r *Result) BinCapacity() int {
	return r.Capacity * int(r.Scenario.Bin/r.Scenario.Period)
}

// Run simulates s.
func Run(s Scenario) (*Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	e := newEngine(s)
	for k := 0; k < s.Sweeps(); k++ {
		t := time.Duration(k) * s.Period
		if k > 0 {
			e.minNext = k
			e.arrivals(t-s.Period, t)
		}
		life := e.passTo(t)
		r := e.res
		r.MinLife = min(r.MinLife, life)
		if pt := &r.Series[t/s.Bin]; pt.MinLife < 0 || life < pt.MinLife {
			pt.MinLife = life
		}
		e.sweep(k, t)
	}
	r := e.res
	r.MinLife = min(r.MinLife, e.passTo(s.Horizon))
	r.Active = e.count
	capBin := float64(r.BinCapacity())
	for _, pt := range r.Series {
		if l := float64(pt.Load) / capBin; l > r.PeakLoad {
			r.PeakLoad, r.PeakAt = l, pt.At
		}
		r.PeakCalls = max(r.PeakCalls, float64(pt.Done+pt.Failed)/capBin)
	}
	if r.MinLife == math.MaxInt64 {
		r.MinLife = 0
	}
	if r.MinLifeAtRefresh == math.MaxInt64 {
		r.MinLifeAtRefresh = 0
	}
	r.Took = time.Since(start)
	return r, nil
}

// Summary is the result in one line.
func (r *Result) Summary() string {
	verdict := "fits"
	if !r.Fits() {
		verdict = fmt.Sprintf("DOES NOT FIT: %d connections expired", r.Expired)
	}
	return fmt.Sprintf("%-28s peak hourly load %6.1f%% of capacity (day %.1f), smallest life left %s, expired %d, refreshes %d, failed %d, sweeps that deferred %d: %s (%s)",
		r.Scenario.Name, 100*r.PeakLoad, r.PeakAt.Hours()/24, Days(r.MinLife), r.Expired, r.Refreshes, r.Failures, r.DeferredSweeps, verdict, r.Took.Round(time.Millisecond))
}

// Days formats d in days (or hours, minutes, seconds when short).
func Days(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return d.Round(time.Second).String()
	}
}
