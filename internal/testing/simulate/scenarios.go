package simulate

import (
	"fmt"
	"time"
)

// The defaults every scenario starts from: the template's and the
// connector's (RefreshSchedule rate(15 minutes), Timeout 900 s,
// REFRESH_INTERVAL 24h, GoTo's 30-day refresh tokens, REFRESH_SAFETY_MARGIN
// 72h, GoTo's 10 calls a second, backoff 1 minute doubling to 1 hour).
func base(name, title string, n int, reserve time.Duration) Scenario {
	return Scenario{
		Name: name, Title: title, Connections: n,
		Horizon: 60 * 24 * time.Hour, Bin: time.Hour,
		Rate: 10, Period: 15 * time.Minute, Timeout: 900 * time.Second, Reserve: reserve,
		Interval: 24 * time.Hour, Lifetime: 30 * 24 * time.Hour, Margin: 72 * time.Hour,
		RetryBase: time.Minute, RetryMax: time.Hour,
		Day: 24 * time.Hour,
		// New connections are planned by the callback function, which
		// knows no load: within REFRESH_INTERVAL.
		SignUpsAtInterval: true,
		// DynamoDB updates the due index's item count about every six
		// hours.
		IndexCountEvery: 6 * time.Hour,
	}
}

// TheBurst is the scenarios' burst: 100,000 sign-ups in one hour on the
// second day.
var TheBurst = Burst{At: 24*time.Hour + 9*time.Hour, Over: time.Hour, N: 100_000}

// TheOutage is the scenarios' outage: GoTo down for 3 days from day 20.
var TheOutage = Outage{At: 20 * 24 * time.Hour, For: 72 * time.Hour}

// Scenarios are `make simulate`'s, each over 60 days; reserve is the
// sweep's (gotoauth's SweepReserve at the defaults).
func Scenarios(reserve time.Duration) []Scenario {
	var all []Scenario
	for _, n := range []int{1_000, 100_000, 1_000_000, 10_000_000} {
		all = append(all, base(fmt.Sprintf("n%s", short(n)), fmt.Sprintf("%s connections at 10/s", Comma(n)), n, reserve))
	}
	b := base("burst", "100,000 connections, then 100,000 sign-ups in one hour", 100_000, reserve)
	b.Bursts = []Burst{TheBurst}
	o := base("outage", "1 million connections, GoTo down for 3 days", 1_000_000, reserve)
	o.Outages = []Outage{TheOutage}
	c := base("churn", "1 million connections, 2% leaving and 2% arriving each day", 1_000_000, reserve)
	c.Churn = 0.02
	f := base("n10M-50rps", "10 million connections at 50/s", 10_000_000, reserve)
	f.Rate = 50
	h := base("headline", "10 million at 10/s, the burst and a 3-day GoTo outage", 10_000_000, reserve)
	h.Bursts, h.Outages = []Burst{TheBurst}, []Outage{TheOutage}
	hb := h
	hb.Name, hb.Title, hb.Baseline = "headline-baseline", h.Title+", today's fixed schedule", true
	return append(all, b, o, c, f, h, hb)
}

// Sizing is the sizing table's scenarios: 1,000 to 10 million connections
// at GoTo's default 10/s (a size that is also in Scenarios has its name).
// Past about 12 million the load does not fit even at the latest safe
// schedule (schedule.Config.Fits says so at once). 20 million is left out:
// there the sweep spends most of its calls on connections already expired
// (Decide puts the earliest expiry first, and the due index returns the
// oldest plans first), every connection expires within 60 days, and the
// run takes minutes.
func Sizing(reserve time.Duration) []Scenario {
	var all []Scenario
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000, 5_000_000, 10_000_000} {
		all = append(all, base(fmt.Sprintf("n%s", short(n)), fmt.Sprintf("%s connections at 10/s", Comma(n)), n, reserve))
	}
	return all
}

func short(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

// Comma writes n with thousands separators.
func Comma(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
