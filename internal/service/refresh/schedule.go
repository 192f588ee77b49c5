package refresh

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/sweep"
)

// logSchedule writes the ERROR lines an operator must act on about the
// schedule: deferrals, named by their cause, a timeout too short to
// refresh anything, and a load no schedule fits.
func (s *Sweeper) logSchedule(mode string, sum Summary, err error) {
	if errors.Is(err, sweep.ErrTimeoutTooShort) {
		s.Logger.Error("refresh run refreshed nothing: the refresh function's Timeout is too short", "mode", mode, "error", err.Error())
	}
	if sum.DeferredRateLimit > 0 {
		s.Logger.Error("refresh run left due connections for the next run because of the rate limit: more was due than REFRESH_RATE_LIMIT allows in the sweep's working time; the most urgent went first. If this repeats, ask GoTo for a higher limit and raise REFRESH_RATE_LIMIT, or run the schedule more often",
			"mode", mode, "cause", "rate_limit", "deferred", sum.DeferredRateLimit, "due", sum.Due,
			"capacity_per_sweep", sum.CapacityPerSweep, "capacity_per_day", sum.CapacityPerDay)
	}
	if sum.DeferredDeadline > 0 {
		s.Logger.Error("refresh run left due connections for the next run because of the deadline: the function's Timeout left too little working time after the sweep's reserve (or refreshes were slower than planned); raise the refresh function's Timeout (the template's is 900 s)",
			"mode", mode, "cause", "deadline", "deferred", sum.DeferredDeadline, "due", sum.Due)
	}
	if sum.CapacityPerDay > 0 && !sum.Fits {
		s.Logger.Error("no refresh schedule fits: the active connections need more refreshes a day than REFRESH_RATE_LIMIT allows, even at the longest safe interval (REFRESH_TOKEN_LIFETIME minus REFRESH_SAFETY_MARGIN); ask GoTo for a higher limit",
			"mode", mode, "connections", sum.Connections, "load_per_day", sum.LoadPerDay, "capacity_per_day", sum.CapacityPerDay)
	}
}

// CheckTimeout fails, at cold start, a refresh function whose timeout
// (AWS_LAMBDA_FUNCTION_TIMEOUT, seconds, set by Lambda's emulators; unset
// in AWS, where each invocation checks its deadline) cannot cover even one
// refresh at the default client timeouts and store budget.
func CheckTimeout(getenv func(string) string) error {
	v := getenv("AWS_LAMBDA_FUNCTION_TIMEOUT")
	if v == "" {
		return nil
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs <= 0 {
		return nil
	}
	if min := sweep.MinimumTimeout; time.Duration(secs)*time.Second < min {
		return fmt.Errorf("the refresh function's Timeout is %d s: a refresh needs at least %d s (lease write, GoTo's call, one store attempt); raise Timeout in template.yaml to at least %d (900 recommended)",
			secs, int(min.Seconds()), int(min.Seconds()))
	}
	return nil
}
