package simulate

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// Table is the scenarios' results as a Markdown table, each row linking
// its plot under imgDir (relative to the document).
func Table(results []*Result, imgDir string) string {
	var b strings.Builder
	b.WriteString("| Scenario | Connections at the start | Rate | Capacity a day | Peak hourly load | Smallest life left | Expired | Refreshes | Failed calls | Sweeps that deferred | Verdict | Took | Plot |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n")
	for _, r := range results {
		s := r.Scenario
		verdict := "fits"
		if !r.Fits() {
			verdict = fmt.Sprintf("**does not fit: %s expired**", Comma(r.Expired))
		}
		sched := "scheduler"
		if s.Baseline {
			sched = "today's fixed schedule"
		}
		fmt.Fprintf(&b, "| %s (%s) | %s | %g/s | %s | %.1f%% | %s | %s | %s | %s | %s | %s | %s | [png](%s/simulate-%s.png) |\n",
			s.Title, sched, Comma(s.Connections), s.Rate, Comma(r.DayCapacity()), 100*r.PeakLoad, Days(r.MinLife),
			Comma(r.Expired), Comma(r.Refreshes), Comma(r.Failures), Comma(r.DeferredSweeps), verdict,
			r.Took.Round(10*time.Millisecond), imgDir, s.Name)
	}
	return b.String()
}

// SizingTable is the sizing table of docs/deploy.md: per size, what the
// scheduler did at the defaults.
func SizingTable(results []*Result) string {
	var b strings.Builder
	b.WriteString("| connections | refreshes a day (60-day mean) | of the sweeps' capacity | each connection refreshed every | peak hourly load | smallest refresh-token life left | expired | what to set |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		s := r.Scenario
		days := s.Horizon.Hours() / 24
		perDay := float64(r.Refreshes) / days
		every := "–"
		if r.Refreshes > 0 {
			every = Days(time.Duration(float64(s.Horizon) * float64(r.Active) / float64(r.Refreshes)))
		}
		what := "the defaults"
		if !r.Fits() {
			what = fmt.Sprintf("**does not fit: %s expired.** Ask GoTo for a higher limit and raise `REFRESH_RATE_LIMIT`", Comma(r.Expired))
		} else if r.MinLife < s.Margin {
			what = "the defaults, but no room for an outage: ask GoTo for a higher limit"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f%% | %s | %.0f%% | %s | %s | %s |\n",
			Comma(s.Connections), Comma(int(perDay)), 100*perDay/float64(r.DayCapacity()), every, 100*r.PeakLoad,
			Days(r.MinLife), Comma(r.Expired), what)
	}
	return b.String()
}

// DayCapacity is what the sweeps of a day can do.
func (r *Result) DayCapacity() int {
	return r.Capacity * int(24*time.Hour/r.Scenario.Period)
}

// Replace puts text between the lines begin and end of the file at path.
func Replace(path, begin, end, text string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no generated section (%q ... %q)", path, begin, end)
	}
	var b bytes.Buffer
	b.Write(doc[:i+len(begin)])
	b.WriteString("\n\n")
	b.WriteString(strings.TrimSpace(text))
	b.WriteString("\n\n")
	b.Write(doc[j:])
	return os.WriteFile(path, b.Bytes(), 0o644)
}
