package refresh

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A deferral's ERROR line names its cause: the rate limit or the deadline.
func TestDeferralNamesItsCause(t *testing.T) {
	for _, c := range []struct {
		sum  Summary
		want string
		not  string
	}{
		{Summary{Due: 10, Deferred: 4, DeferredRateLimit: 4, CapacityPerSweep: 6, CapacityPerDay: 576, Fits: true}, `"cause":"rate_limit"`, `"cause":"deadline"`},
		{Summary{Due: 10, Deferred: 4, DeferredDeadline: 4}, `"cause":"deadline"`, `"cause":"rate_limit"`},
	} {
		var buf bytes.Buffer
		s := &Sweeper{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
		s.logSchedule("sweep", c.sum, nil)
		out := buf.String()
		if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, c.want) || strings.Contains(out, c.not) {
			t.Errorf("summary %+v logged %s, want one ERROR with %s", c.sum, out, c.want)
		}
	}
	if err := CheckTimeout(func(string) string { return "30" }); err == nil || !strings.Contains(err.Error(), "Timeout") || !strings.Contains(err.Error(), "40") {
		t.Errorf("a 30 s timeout: %v, want an error naming Timeout and 40 s", err)
	}
	if err := CheckTimeout(func(string) string { return "60" }); err != nil {
		t.Errorf("a 60 s timeout: %v", err)
	}
}
