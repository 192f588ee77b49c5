package simulate

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// small is a 60-day scenario at a size that runs in milliseconds: 1,000
// connections, a burst of 1,000 sign-ups in one hour on day 1, at a rate
// scaled down with the size (0.2/s: 116 refreshes per sweep, 464 an hour).
func small(baseline bool) Scenario {
	s := base("small", "1,000 connections and a burst of 1,000", 1_000, 320*time.Second)
	s.Rate = 0.2
	s.Bursts = []Burst{{At: 33 * time.Hour, Over: time.Hour, N: 1_000}}
	s.Baseline = baseline
	return s
}

func run(t *testing.T, s Scenario) *Result {
	t.Helper()
	r, err := Run(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Summary())
	return r
}

// The baseline plans the burst's cohort into the same hours every day
// (1,000 sign-ups, more than an hour of sweeps does, so spread over the
// next hours by deferral, and planned there again each day): those hours
// run at capacity while the others see a twentieth of it.
func TestBaselineRepeatsTheBurst(t *testing.T) {
	r := run(t, small(true))
	for day := 3; day < 20; day++ {
		busiest, sum := 0, 0
		for h := 0; h < 24; h++ {
			busiest = max(busiest, r.Series[day*24+h].Load)
			sum += r.Series[day*24+h].Load
		}
		if busiest < r.BinCapacity() || busiest*24 < 4*sum {
			t.Errorf("day %d: busiest hour planned %d refreshes, the day %d: want the burst's cohort at capacity (%d), ≥ 4× the mean hour",
				day, busiest, sum, r.BinCapacity())
		}
	}
	if r.Expired != 0 {
		t.Errorf("%d expired: the baseline fits this load, only unevenly", r.Expired)
	}
}

// A load no schedule can fit is reported: connections expire, Fits is
// false and the summary says so.
func TestNoFitIsLoud(t *testing.T) {
	s := small(true)
	s.Bursts = nil
	s.Connections = 10_000 // 370 a day at the least: more than 0.002/s allows (96 a day)
	s.Rate = 0.002
	r := run(t, s)
	if r.Fits() || r.Expired == 0 || !strings.Contains(r.Summary(), "DOES NOT FIT") {
		t.Fatalf("want expired connections and a loud summary: %s", r.Summary())
	}
	if r.MinLife != 0 {
		t.Errorf("smallest life left %s, want 0 once connections expire", r.MinLife)
	}
}

// During an outage every refresh the sweeps start fails, at the rate
// limit; afterwards they catch up and nothing is lost when the margin
// covers the outage.
func TestOutage(t *testing.T) {
	s := small(true)
	s.Bursts = nil
	s.Connections = 1_000
	s.Outages = []Outage{{At: 10 * 24 * time.Hour, For: 48 * time.Hour}}
	r := run(t, s)
	if r.Failures == 0 || r.Expired != 0 {
		t.Fatalf("failures %d, expired %d: want failures and none expired", r.Failures, r.Expired)
	}
	for _, pt := range r.Series {
		inOutage := pt.At >= s.Outages[0].At && pt.At+s.Bin <= s.Outages[0].At+s.Outages[0].For
		if inOutage && pt.Done != 0 || !inOutage && pt.At+s.Bin <= s.Outages[0].At && pt.Failed != 0 {
			t.Fatalf("hour %s: %d refreshed, %d failed", pt.At, pt.Done, pt.Failed)
		}
		if pt.Done+pt.Failed > r.BinCapacity() {
			t.Fatalf("hour %s: %d calls, over the capacity of %d", pt.At, pt.Done+pt.Failed, r.BinCapacity())
		}
	}
}

// Sign-ups and departures keep the count: arrivals balance departures.
func TestChurnKeepsTheCount(t *testing.T) {
	s := small(true)
	s.Bursts = nil
	s.Churn = 0.05
	r := run(t, s)
	if r.Active < 900 || r.Active > 1_100 || r.Expired != 0 {
		t.Fatalf("%d active at the end (want about 1,000), %d expired", r.Active, r.Expired)
	}
}

func TestPlotAndReplace(t *testing.T) {
	r := run(t, small(true))
	dir := t.TempDir()
	path := filepath.Join(dir, "p.png")
	if err := Plot(r, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	doc := filepath.Join(dir, "doc.md")
	os.WriteFile(doc, []byte("before\n<!-- a -->\nold\n<!-- b -->\nafter\n"), 0o644)
	if err := Replace(doc, "<!-- a -->", "<!-- b -->", Table([]*Result{r}, "img")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(doc)
	if s := string(got); strings.Contains(s, "old") || !strings.Contains(s, "| 1,000 connections and a burst of 1,000 (today's fixed schedule) | 1,000 |") ||
		!strings.HasPrefix(s, "before\n<!-- a -->\n") || !strings.HasSuffix(s, "<!-- b -->\nafter\n") {
		t.Fatalf("replaced:\n%s", s)
	}
	if err := Replace(doc, "<!-- x -->", "<!-- b -->", ""); err == nil {
		t.Fatal("a missing marker: no error")
	}
}

// With SignUpsAtInterval, sign-ups are planned as the callback function
// plans them, knowing no load: within REFRESH_INTERVAL of the sign-up,
// even when the load stretches the refreshes' interval (here 1,000
// connections at 0.002/s: about 6 days instead of 1).
func TestSignUpsAtInterval(t *testing.T) {
	for _, atInterval := range []bool{false, true} {
		s := small(false)
		s.Rate = 0.002
		s.Bursts = []Burst{{At: 33 * time.Hour, Over: time.Hour, N: 500}}
		s.SignUpsAtInterval = atInterval
		if eff := s.Config().Effective(s.Connections); eff < 4*s.Interval {
			t.Fatalf("effective interval %s: not stretched", eff)
		}
		r := run(t, s)
		// The burst's first plans fall in [33h, 34h+Interval) at the
		// interval; the day after holds few of them otherwise.
		planned := 0
		for _, pt := range r.Series {
			if pt.At >= 34*time.Hour && pt.At < 58*time.Hour {
				planned += pt.Load
			}
		}
		t.Logf("at the interval %v: %d planned the day after the burst", atInterval, planned)
		if atInterval && planned < 450 {
			t.Errorf("at the interval: %d refreshes planned the day after the burst, want its ~500", planned)
		}
		if !atInterval && planned > 250 {
			t.Errorf("with the load: %d refreshes planned the day after the burst, want them spread over the stretched interval", planned)
		}
	}
}
